"""Shared fixtures: a real Flask upstream on 127.0.0.1, and a real Django front."""

from __future__ import annotations

import contextlib
import inspect
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

import hypothesis
import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.tls import TlsUpstream, serve_tls
from tests.upstream import Events, RunningServer, create_app, serve

# CI runs every property test on the same examples (a red CI is then a real, repeatable
# failure of the change); a developer's run draws new examples and may find new bugs.
hypothesis.settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis.settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def client() -> Iterator[Client]:
    """Django's test client, closing every response at the end as a WSGI server would.

    A streamed forwarded response holds its upstream connection until it is
    read or closed; tests that only look at the status line leave it open.
    """
    client = Client()
    responses: list[Any] = []
    request = client.request

    def tracked(**kwargs: Any) -> Any:
        response = request(**kwargs)
        responses.append(response)
        return response

    client.request = tracked  # type: ignore[method-assign]
    yield client
    close_responses(*responses)


def close_responses(*responses: Any) -> None:
    """Close responses, also half-read streamed ones, as the test client would.

    The test client wraps a streamed body in a generator that, when closed,
    closes the response with ``close_old_connections`` disconnected (closing
    sends request_finished, which must not touch the test's database
    connection); closing the response directly would reconnect it midway.
    """
    for response in responses:
        wrapper = getattr(response, "_iterator", None) if response.streaming else None
        if inspect.isgenerator(wrapper) and inspect.getgeneratorstate(wrapper) != "GEN_CREATED":
            wrapper.close()  # runs the wrapper's own careful close
            continue
        request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_switches_or_traffic_between_tests() -> Iterator[None]:
    """Each test starts without the switch table or traffic counts of another.

    Both live in process memory and in the cache, which outlive a test's
    database transaction. The cache holds an empty switch table, as a running
    site's would: a test's first request reads no database.
    """
    _forget_switches_and_traffic()
    yield
    _forget_switches_and_traffic()


def _forget_switches_and_traffic() -> None:
    from django.core.cache import caches

    from strangler import switches, traffic

    switches.switch_table.cache_clear()
    traffic.traffic_recorder().discard()
    with contextlib.suppress(Exception):  # a test may have stopped or replaced the cache
        caches["default"].set(switches.CACHE_KEY, [], timeout=None)
        caches["default"].delete(traffic.CACHE_KEY)


@pytest.fixture(scope="session")
def events() -> Events:
    return Events()


@pytest.fixture(scope="session")
def upstream(events: Events) -> Iterator[RunningServer]:
    """The legacy Flask app behind a real HTTP/1.1 server."""
    server = serve(create_app(events))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_upstream(events: Events, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsUpstream]:
    """The test Flask app over TLS, with a certificate of a test CA (``tests/tls.py``)."""
    running = serve_tls(create_app(events), tmp_path_factory.mktemp("tls"))
    yield running
    running.server.stop()


@pytest.fixture
def forward_to(settings: SettingsWrapper, upstream: RunningServer) -> RunningServer:
    """Point the strangler at the running Flask upstream for one test."""
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": upstream.url}
    return upstream


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory (or another /proc status field) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@dataclass
class Front:
    """Django (the test project) served by gunicorn, forwarding to ``upstream``.

    Also a context manager: the server stops at the end of the ``with`` block.
    """

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pid_of_worker(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return int(children.split()[0])

    def stop(self) -> None:
        """Stop the server and wait until it has exited."""
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


FrontT = TypeVar("FrontT", bound=Front)


def launch_front(
    kind: type[FrontT],
    server: Callable[[int], list[str]],
    settings_module: str,
    upstream_url: str,
    extra_env: dict[str, str] | None = None,
) -> FrontT:
    """``python -m SERVER...`` serving the test project on a free port of 127.0.0.1.

    ``server(port)`` is the server's command line (gunicorn, uvicorn); the
    project forwards to ``upstream_url``. Returns once the port answers.
    """
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": settings_module,
        "STRANGLER_TEST_UPSTREAM": upstream_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        **(extra_env or {}),
    }
    process = subprocess.Popen([sys.executable, "-m", *server(port)], cwd=ROOT, env=env)
    wait_for_port(port, process)
    return kind(port, process)


def start_front(
    upstream_url: str,
    extra_env: dict[str, str] | None = None,
    app: str = "tests.wsgi:application",
    workers: int = 1,
) -> Front:
    """gunicorn (gthread workers) serving ``app`` of the test project, forwarding upstream."""

    def gunicorn(port: int) -> list[str]:
        return [
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--log-level",
            "warning",
            app,
        ]

    return launch_front(Front, gunicorn, "tests.settings", upstream_url, extra_env)


@contextlib.contextmanager
def running_front(
    upstream_url: str,
    extra_env: dict[str, str] | None = None,
    app: str = "tests.wsgi:application",
) -> Iterator[Front]:
    """``start_front`` for the length of a ``with`` block (a fixture's body)."""
    with start_front(upstream_url, extra_env, app=app) as server:
        yield server


@pytest.fixture(scope="session")
def front(upstream: RunningServer) -> Iterator[Front]:
    """A live Django front door (gunicorn, one gthread worker) before the Flask upstream."""
    with start_front(upstream.url) as server:
        yield server


@pytest.fixture(scope="session")
def asgi_front(upstream: RunningServer) -> Iterator[Front]:
    """A live Django front under uvicorn (``strangler.asgi``, one worker) before the upstream."""
    from tests.asgi.fronts import start_asgi_front

    with start_asgi_front(upstream.url) as server:
        yield server


@pytest.fixture(scope="session")
def asgi_in_process_front() -> Iterator[Front]:
    """The same under uvicorn with the in-process transport (the app in a thread pool)."""
    from tests.asgi.fronts import start_asgi_front

    with start_asgi_front("wsgi:tests.legacy_wsgi:app") as server:
        yield server


@dataclass
class ThrowawayRedis:
    """A redis-server of the test's own, on a free port, that a test may stop."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    """Our own Redis (never the shared one on 6379), stopped at the end of the test."""
    import shutil

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port, process)
    server = ThrowawayRedis(port, process)
    yield server
    server.stop()
