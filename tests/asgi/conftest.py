"""Fixtures for the ASGI front door: the test project under uvicorn, one worker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.asgi.legacy import create_live_app
from tests.conftest import ROOT, Front, free_port, wait_for_port
from tests.upstream import RunningServer, serve


class AsgiFront(Front):
    """The test project under uvicorn: one process, which is also the worker."""

    def pid_of_worker(self) -> int:
        return self.process.pid


def start_asgi_front(
    upstream_url: str,
    extra_env: dict[str, str] | None = None,
    app: str = "tests.asgi.application:application",
) -> AsgiFront:
    """uvicorn serving ``app`` on a free port of 127.0.0.1, forwarding to ``upstream_url``."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.asgi.settings",
        "STRANGLER_TEST_UPSTREAM": upstream_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--lifespan",
            "on",
            # Flask's own Server and Date headers are forwarded; uvicorn's would double them.
            "--no-server-header",
            "--no-date-header",
            app,
        ],
        cwd=ROOT,
        env=env,
    )
    wait_for_port(port, process)
    return AsgiFront(port, process)


def stop(front: Front) -> None:
    front.process.terminate()
    front.process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_upstream() -> Iterator[RunningServer]:
    """The live-features Flask app (SSE, long poll, WebSockets) on a threaded server."""
    server = serve(create_live_app())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def asgi_front(live_upstream: RunningServer) -> Iterator[AsgiFront]:
    """The test project under uvicorn, forwarding over HTTP to the live-features app."""
    front = start_asgi_front(live_upstream.url)
    yield front
    stop(front)


@pytest.fixture(scope="session")
def asgi_in_process_front() -> Iterator[AsgiFront]:
    """The same, with the live-features app called in-process (``wsgi:`` upstream)."""
    front = start_asgi_front("wsgi:tests.asgi.legacy:app")
    yield front
    stop(front)


@pytest.fixture(params=["asgi_front", "asgi_in_process_front"])
def any_asgi_front(request: pytest.FixtureRequest) -> AsgiFront:
    """Each ASGI front in turn: HTTP transport and in-process."""
    front: AsgiFront = request.getfixturevalue(request.param)
    return front
