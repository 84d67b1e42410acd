"""CPU per forwarded request inside the front's process, load-independent.

The end-to-end benchmark (``forwarding.py``) measures a gunicorn front under
wrk; on a shared machine its figures move by tens of percent between runs.
This one calls the front's WSGI application directly, one request at a time
in one thread, and divides the process's CPU time (``time.process_time``,
which other processes' load does not inflate) by the number of requests.
It compares code, not machines: run it on two checkouts back to back::

    PYTHONPATH=src python benchmarks/forwarding_cpu.py [--requests 3000]

Rows: the WSGI fast path and the middleware path, each with the HTTP
transport (to Flask under gunicorn on 127.0.0.1; Flask's CPU is not
counted) and in-process (Flask's CPU counted: it runs in this process).
The request is a small page with a browser's usual headers.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.servers import Servers

BROWSER_HEADERS = {
    "HTTP_HOST": "127.0.0.1",
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.5",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
    "HTTP_CONNECTION": "keep-alive",
    "HTTP_COOKIE": "theme=dark; tracking=abc123",
    "HTTP_UPGRADE_INSECURE_REQUESTS": "1",
}


def environ(path: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "RAW_URI": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
        **BROWSER_HEADERS,
    }


def cpu_per_request(app: Callable[..., Iterable[bytes]], requests: int) -> float:
    """Median over 5 batches of CPU microseconds per request."""

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        assert status.startswith("200"), status

    def one() -> None:
        result = app(environ("/hello"), start_response)
        try:
            for _ in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    for _ in range(200):  # warm-up: pools, caches, imports
        one()
    batches = []
    for _ in range(5):
        started = time.process_time()
        for _ in range(requests // 5):
            one()
        batches.append((time.process_time() - started) / (requests // 5) * 1e6)
    return sorted(batches)[2]


def measure(upstream: str, requests: int) -> dict[str, float]:
    os.environ["BENCH_UPSTREAM"] = upstream
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.django_project.settings")
    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    django.setup(set_prefix=False)
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": upstream}
    from strangler.wsgi import get_wsgi_application

    return {
        "fast path": cpu_per_request(get_wsgi_application(), requests),
        "middleware": cpu_per_request(WSGIHandler(), requests),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per row (3000)")
    parser.add_argument("--transport", choices=["http", "wsgi"], default=None)
    args = parser.parse_args()
    if args.transport is None:
        # One process per transport: settings are read once per process.
        import subprocess

        for transport in ("http", "wsgi"):
            argv = [sys.executable, __file__, "--requests", str(args.requests)]
            subprocess.run([*argv, "--transport", transport], check=True)
        return 0
    if args.transport == "wsgi":
        rows = measure("wsgi:benchmarks.flask_app:app", args.requests)
        label = "in-process (Flask's CPU included)"
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp, Servers(Path(tmp)) as servers:
            flask = servers.gunicorn("flask", "benchmarks.flask_app:app")
            rows = measure(flask.url, args.requests)
        label = "HTTP (Flask's CPU not counted)"
    for name, value in rows.items():
        print(f"{name}, {label}: {value:.0f} µs CPU per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
