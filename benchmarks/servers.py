"""Start and stop the servers a benchmark runs: gunicorn (Flask or Django) and nginx.

Every server listens on 127.0.0.1 only, runs in its own process group, logs to a
file in the run's scratch directory, and is stopped by :class:`Servers` on exit,
errors included (SIGTERM, then SIGKILL to its group after a grace period).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent

# The same for every gunicorn in a run, Flask's and Django's: one process (so
# "the Django worker" is one PID to measure), threads for concurrency.
WORKER_CLASS = "gthread"
WORKERS = 1
THREADS = 4
KEEP_ALIVE = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One running server: its master process, port and log file."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    # uvicorn without --workers serves in its own process: no separate worker.
    single_process: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pid(self) -> int:
        """PID of the (only) worker process: the one that handles requests."""
        pid = self.process.pid
        if self.single_process:
            return pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if not children:
            raise RuntimeError(f"{self.name}: master {pid} has no worker process")
        return int(children[0])

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 10.0) -> None:
        if self.process.poll() is not None:
            return
        try:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
        # Whatever is left of this server's own process group (stray workers).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


@dataclass
class Servers:
    """The servers of one run; all of them are stopped when the ``with`` block ends."""

    workdir: Path
    started: list[Server] = field(default_factory=list)

    def __enter__(self) -> Servers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def stop_all(self) -> None:
        while self.started:
            self.started.pop().stop()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], port: int) -> Server:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(name, port, process, log)
        self.started.append(server)
        return server

    def gunicorn(self, name: str, app: str, env: dict[str, str] | None = None) -> Server:
        """Serve the WSGI ``app`` ("module:attribute") with the run's worker settings."""
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--worker-class",
            WORKER_CLASS,
            "--threads",
            str(THREADS),
            "--keep-alive",
            str(KEEP_ALIVE),
            "--timeout",
            "300",
            "--graceful-timeout",
            "5",
            "--no-control-socket",
            "--log-level",
            "warning",
            app,
        ]
        full_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
            **(env or {}),
        }
        server = self._spawn(name, argv, full_env, port)
        wait_until_serving(server)
        return server

    def uvicorn(self, name: str, app: str, env: dict[str, str] | None = None) -> Server:
        """Serve the ASGI ``app`` with uvicorn: one process, uvloop and httptools."""
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--timeout-keep-alive",
            str(KEEP_ALIVE),
            "--no-access-log",
            "--no-server-header",
            "--no-date-header",
            "--log-level",
            "warning",
            app,
        ]
        full_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
            **(env or {}),
        }
        server = self._spawn(name, argv, full_env, port)
        server.single_process = True
        wait_until_serving(server)
        return server

    def nginx(self, name: str, upstream: Server) -> Server | None:
        """nginx ``proxy_pass`` to ``upstream``, or None when nginx is not installed."""
        binary = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)),
            None,
        )
        if binary is None:
            return None
        port = free_port()
        prefix = self.workdir / name
        prefix.mkdir(parents=True, exist_ok=True)
        user = f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.getuid() == 0 else ""
        config = prefix / "nginx.conf"
        config.write_text(
            NGINX_CONF.format(
                user=user,
                prefix=prefix,
                port=port,
                upstream_port=upstream.port,
            )
        )
        argv = [binary, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")]
        server = self._spawn(name, argv, dict(os.environ), port)
        wait_until_serving(server)
        return server


# One worker like the Python fronts; streaming both ways (no buffering of
# bodies, 64 KiB reads like the Python fronts' chunk size), HTTP/1.1
# keep-alive to the upstream: nginx at its proxying best.
NGINX_CONF = """\
{user}
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream flask {{
        server 127.0.0.1:{upstream_port};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://flask;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_buffer_size 64k;
            proxy_buffers 8 64k;
            client_body_buffer_size 64k;
            proxy_request_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"""


def wait_until_serving(server: Server, timeout: float = 30.0, path: str = "/hello") -> None:
    """Wait until ``server`` answers ``path`` with 200; raise with its log if it does not."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url + path, timeout=2) as response:
                if response.status == 200:
                    response.read()
                    return
        except OSError as error:
            last_error = error
        time.sleep(0.1)
    raise RuntimeError(
        f"{server.name} not serving {path} after {timeout}s ({last_error}):\n{server.log_tail()}"
    )
