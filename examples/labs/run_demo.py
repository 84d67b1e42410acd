"""Run the demo: the legacy Flask app on :5000 and Django, the front door, on :8000.

    make demo                      # then open http://127.0.0.1:8000/
    python examples/labs/run_demo.py --smoke   # start, check a few pages, stop

Both servers run until Ctrl-C. Flask never learns Django exists: Django
answers /samples/<id> and /health itself and forwards everything else.
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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TOUR = """
  Django (front door):  http://127.0.0.1:{django}/
    /             -> forwarded to Flask (the legacy index page)
    /samples      -> forwarded to Flask (JSON, "served_by": "flask")
    /samples/1    -> ported: answered by Django ("served_by": "django")
    /login        -> forwarded; Flask's two Set-Cookie headers arrive untouched
    /health       -> Django only
  Flask directly:       http://127.0.0.1:{flask}/
  Stop with Ctrl-C.
"""


def wait_for(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a demo server exited with status {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing is listening on 127.0.0.1:{port} after {timeout:.0f}s")


def smoke(django_port: int) -> list[str]:
    """Fetch the tour's pages through Django; return what did not look right."""
    base = f"http://127.0.0.1:{django_port}"
    problems = []

    def fetch(path: str) -> tuple[int, dict[str, str], bytes]:
        with urllib.request.urlopen(base + path, timeout=10) as response:
            return response.status, dict(response.headers), response.read()

    status, _, body = fetch("/")
    if status != 200 or b"served by <b>Flask</b>" not in body:
        problems.append("/ was not forwarded to Flask")
    if json.loads(fetch("/samples")[2]).get("served_by") != "flask":
        problems.append("/samples was not answered by Flask")
    if json.loads(fetch("/samples/1")[2]).get("served_by") != "django":
        problems.append("/samples/1 was not answered by Django")
    if json.loads(fetch("/health")[2]).get("served_by") != "django":
        problems.append("/health was not answered by Django")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--flask-port", type=int, default=5000)
    parser.add_argument("--django-port", type=int, default=8000)
    parser.add_argument("--smoke", action="store_true", help="check the tour's pages, then stop")
    args = parser.parse_args()

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        "DJANGO_SETTINGS_MODULE": "examples.labs.site.settings",
        "LABS_UPSTREAM": f"http://127.0.0.1:{args.flask_port}",
    }
    manage = [sys.executable, str(ROOT / "examples/labs/manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    flask = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "examples.labs.legacy.app:app", "run",
         "--host", "127.0.0.1", "--port", str(args.flask_port)],
        cwd=ROOT, env=env,
    )  # fmt: skip
    django = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{args.django_port}", "--noreload"], cwd=ROOT, env=env
    )
    try:
        wait_for(args.flask_port, flask)
        wait_for(args.django_port, django)
        if args.smoke:
            problems = smoke(args.django_port)
            for problem in problems:
                print(f"demo: {problem}", file=sys.stderr)
            print("demo: ok" if not problems else "demo: FAILED")
            return 1 if problems else 0
        print(TOUR.format(django=args.django_port, flask=args.flask_port))
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (django, flask):
            process.terminate()
        for process in (django, flask):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    sys.exit(main())
