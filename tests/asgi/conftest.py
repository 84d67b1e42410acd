"""Fixtures for the ASGI front door: the test project under uvicorn, one worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.asgi.fronts import AsgiFront, start_asgi_front
from tests.asgi.legacy import create_live_app
from tests.upstream import RunningServer, serve


@pytest.fixture(scope="session")
def live_upstream() -> Iterator[RunningServer]:
    """The live-features Flask app (SSE, long poll, WebSockets) on a threaded server."""
    server = serve(create_live_app())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_front(live_upstream: RunningServer) -> Iterator[AsgiFront]:
    """The test project under uvicorn, forwarding over HTTP to the live-features app."""
    with start_asgi_front(live_upstream.url) as front:
        yield front


@pytest.fixture(scope="session")
def live_in_process_front() -> Iterator[AsgiFront]:
    """The same, with the live-features app called in-process (``wsgi:`` upstream)."""
    with start_asgi_front("wsgi:tests.asgi.legacy:app") as front:
        yield front


@pytest.fixture(params=["live_front", "live_in_process_front"])
def any_live_front(request: pytest.FixtureRequest) -> AsgiFront:
    """Each ASGI front in turn: HTTP transport and in-process."""
    front: AsgiFront = request.getfixturevalue(request.param)
    return front
