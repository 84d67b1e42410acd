"""Run the demo: the legacy Flask app and Django, its front door, both under gunicorn.

    make demo                          # http://127.0.0.1:8000/
    make demo PORT=8080 FLASK_PORT=5050
    python examples/labs/run_demo.py --smoke   # start, check the front door, stop

It prepares what is missing and reuses what exists (examples/labs/var/, or
LABS_VAR): the identity key pair, the legacy schema (Alembic), Django's tables
and the adoption of the legacy ones, the demo users and data. Then it serves
until Ctrl-C, and stops both servers. A port in use, or a server that exits,
stops the demo with a message saying which.

SQLite unless DATABASE_URL points at PostgreSQL (postgresql://user@host/db).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[2]
LABS = ROOT / "examples" / "labs"
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from examples.labs.legacy.config import var_dir  # noqa: E402  (after sys.path)
from examples.labs.legacy.seed import DEMO_USERS  # noqa: E402


class DemoError(Exception):
    """Why the demo cannot go on, in words for the person who ran it."""


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]


def environment(django_port: int, flask_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "DJANGO_SETTINGS_MODULE": "examples.labs.site.settings",
        "LABS_VAR": str(var_dir()),
        "LABS_UPSTREAM": f"http://127.0.0.1:{flask_port}",
    }


def make_keys() -> None:
    """The identity key pair, made once (Django signs, Flask verifies)."""
    path = var_dir() / "keys.json"
    if path.exists():
        return
    from strangler.identity.tokens import generate_key_pair

    private, public, kid = generate_key_pair()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"kid": kid, "private_key": private, "public_key": public}))
    path.chmod(0o600)


def check_port_free(name: str, port: int, variable: str) -> None:
    with socket.socket() as sock:
        # As gunicorn binds: a port left in TIME_WAIT by the last run is free to reuse.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise DemoError(
                f"port {port} ({name}) is in use by another program. Stop it, or pick "
                f"another port: make demo {variable}={port + 1}"
            ) from None


def step(title: str, command: list[str], env: dict[str, str]) -> str:
    """Run one preparation step; its output is shown only when it fails."""
    print(f"demo: {title}", flush=True)
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DemoError(f"{title} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def prepare(env: dict[str, str]) -> None:
    python = sys.executable
    manage = [python, str(LABS / "manage.py")]
    alembic = [python, "-m", "alembic", "-c", str(LABS / "legacy" / "alembic.ini")]
    step("the legacy schema (alembic upgrade head)", [*alembic, "upgrade", "head"], env)
    # safemigrate fakes the migrations whose tables Alembic built (after checking they
    # match, on PostgreSQL and on the SQLite files alike) and runs Django's own. The
    # legacy naive `timestamp` columns match as they are: the models use NaiveDateTimeField.
    adopt = [*manage, "safemigrate"]
    step("Django adopts the legacy tables and makes its own (safemigrate)", adopt, env)
    step("static files (collectstatic)", [*manage, "collectstatic", "--noinput", "-v", "0"], env)
    output = step("demo users and data", [python, "-m", "examples.labs.legacy.seed"], env)
    print(f"demo: {output.strip()}", flush=True)


def start(name: str, port: int, app: str, env: dict[str, str]) -> Server:
    command = [
        sys.executable, "-m", "gunicorn", app,
        "--bind", f"127.0.0.1:{port}",
        "--workers", "2",
        "--timeout", "30",
        "--graceful-timeout", "5",
        "--log-level", "warning",
        "--access-logfile", "-",
        "--access-logformat", f"{name:6} %(r)s %(s)s %(L)ss",
    ]  # fmt: skip
    # A session of its own: Ctrl-C reaches this script, which stops the servers in order.
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    return Server(name, port, process)


def wait_until_serving(server: Server, health_path: str, app: str, timeout: float = 60) -> None:
    """Wait for the server's health page; fail if it exits or something else answers."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{server.port}{health_path}"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise DemoError(f"{server.name} exited with status {server.process.returncode} "
                            f"while starting; its output is above")  # fmt: skip
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                health = json.load(response)
                if health.get("status") == "ok":
                    if health.get("app") != app:
                        raise DemoError(f"port {server.port} answers for {health.get('app')!r}, "
                                        f"not {server.name}")  # fmt: skip
                    return
        except (OSError, ValueError):
            time.sleep(0.2)
    raise DemoError(f"{server.name} did not answer {url} within {timeout:.0f}s")


def stop(servers: list[Server]) -> None:
    """SIGTERM (gunicorn's graceful stop), then SIGKILL after 10 s; front door first."""
    for server in servers:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGTERM)
    for server in servers:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def smoke(port: int) -> list[str]:
    """What a first visit checks; returns the problems found."""
    base = f"http://127.0.0.1:{port}"
    problems = []
    for path, needle in [("/", b"served by Flask"), ("/login", b"served by Django"),
                         ("/healthz", b'"legacy"'), ("/health", b'"django"')]:  # fmt: skip
        try:
            with urllib.request.urlopen(base + path, timeout=10) as response:
                if needle not in response.read():
                    problems.append(f"{path} did not contain {needle!r}")
        except urllib.error.URLError as exc:
            problems.append(f"{path}: {exc}")
    return problems


BANNER = """
  Labs is running. Open the front door: http://127.0.0.1:{port}/

  Log in as (legacy passwords; Django verifies and upgrades them on first login):
{logins}

  Django answers  /login /logout /events /api/samples (GET) /instruments/ /django-admin/ /health
                  /_strangler/  the migration's status page (log in as ada)
  Flask answers   everything else, through Django  (directly: http://127.0.0.1:{flask_port}/)
  Stop with Ctrl-C.
"""


def catch_stop_signals() -> list[int]:
    """Ctrl-C and SIGTERM from now on only note that the demo should stop."""
    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    return stopping


def serve(servers: list[Server], stopping: list[int]) -> int:
    """Until Ctrl-C (0) or until a server exits (1)."""
    while not stopping:
        for server in servers:
            if server.process.poll() is not None:
                status = server.process.returncode
                print(f"demo: {server.name} (port {server.port}) exited with status {status}; "
                      "stopping the demo", file=sys.stderr)  # fmt: skip
                return 1
        time.sleep(0.2)
    print("demo: stopping", flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000),
                        help="the front door (Django); default $PORT or 8000")  # fmt: skip
    parser.add_argument("--flask-port", type=int, default=int(os.environ.get("FLASK_PORT") or 5000),
                        help="the legacy Flask app; default $FLASK_PORT or 5000")  # fmt: skip
    parser.add_argument("--smoke", action="store_true", help="check the front door, then stop")
    args = parser.parse_args()

    servers: list[Server] = []
    try:
        check_port_free("Django, the front door", args.port, "PORT")
        check_port_free("the legacy Flask app", args.flask_port, "FLASK_PORT")
        make_keys()
        env = environment(args.port, args.flask_port)
        prepare(env)
        servers.append(start("flask", args.flask_port, "examples.labs.legacy.app:app", env))
        servers.insert(0, start("django", args.port, "examples.labs.site.wsgi:application", env))
        for server, health, app in zip(
            servers, ["/health", "/healthz"], ["django", "legacy"], strict=True
        ):
            wait_until_serving(server, health, app)
        if args.smoke:
            problems = smoke(args.port)
            for problem in problems:
                print(f"demo: {problem}", file=sys.stderr)
            print("demo: ok" if not problems else "demo: FAILED", flush=True)
            return 1 if problems else 0
        logins = "\n".join(f"    {u:5} {p:15} ({role})" for u, role, p in DEMO_USERS)
        stopping = catch_stop_signals()
        print(BANNER.format(port=args.port, flask_port=args.flask_port, logins=logins), flush=True)
        print(f"demo: ready at http://127.0.0.1:{args.port}/", flush=True)
        return serve(servers, stopping)
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop(servers)


if __name__ == "__main__":
    sys.exit(main())
