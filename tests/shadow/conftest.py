"""A legacy Flask app trusting Django's identity, and Django's ports of it in shadow mode."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.identity.tokens import generate_key_pair
from strangler.shadow.workers import shadow_workers
from tests.shadow.legacy import Seen, create_shadow_legacy_app
from tests.upstream import RunningServer, serve

SHADOW_ROUTES = {"/api/**": "shadow", "/page": "shadow"}


@dataclass(frozen=True)
class Keys:
    private: str
    public: str


@pytest.fixture(scope="session")
def shadow_keys() -> Keys:
    private, public, _ = generate_key_pair("EdDSA")
    return Keys(private, public)


@pytest.fixture(scope="session")
def seen() -> Seen:
    return Seen()


@pytest.fixture(scope="session")
def legacy_app(shadow_keys: Keys, seen: Seen) -> Flask:
    return create_shadow_legacy_app(shadow_keys.public, seen)


@pytest.fixture(scope="session")
def legacy(legacy_app: Flask) -> Iterator[RunningServer]:
    server = serve(legacy_app)
    yield server
    server.stop()


def shadow_settings_for(upstream: str, private_key: str, **shadow: Any) -> dict[str, Any]:
    """``STRANGLER`` with the legacy upstream, identity on and the shadow routes."""
    return {
        "UPSTREAM": upstream,
        "READ_TIMEOUT": 10.0,
        "ROUTES": SHADOW_ROUTES,
        "IDENTITY": {"SIGNING_KEY": private_key},
        "SHADOW": shadow,
    }


@pytest.fixture(params=["process", "threads"])
def shadow_mode(request: pytest.FixtureRequest) -> str:
    """Where shadow work runs: the front's child process, or its threads (SHADOW["PROCESS"])."""
    return str(request.param)


@pytest.fixture
def shadow_on(
    settings: SettingsWrapper,
    legacy: RunningServer,
    shadow_keys: Keys,
    seen: Seen,
    shadow_mode: str,
) -> Iterator[dict[str, Any]]:
    """Shadow mode on for the ports, noise warm-up off (tests that learn noise set it)."""
    settings.ROOT_URLCONF = "tests.shadow.urls"
    settings.STRANGLER = shadow_settings_for(
        legacy.url,
        shadow_keys.private,
        NOISE_WARMUP=0,
        NOISE_SAMPLE=0.0,
        PROCESS=shadow_mode == "process",
    )
    seen.clear()
    forget_shared_noise()
    yield settings.STRANGLER
    drain()
    forget_shared_noise()


def forget_shared_noise() -> None:
    """Every test learns its routes' noise afresh: none is left in the shared cache."""
    from django.core.cache import caches
    from django.urls import URLPattern

    from strangler.shadow.shared_noise import cache_key
    from tests.shadow.urls import urlpatterns

    for pattern in urlpatterns:
        if isinstance(pattern, URLPattern):
            caches["default"].delete(cache_key("/" + str(pattern.pattern)))


def drain() -> None:
    """Wait until the shadow workers (child process or threads) ran and counted everything."""
    shadow_workers().join()


def stored_difference(**overrides: Any) -> Any:
    """A difference saved the way shadow saves one (redaction and all)."""
    from strangler.shadow.compare import compare
    from strangler.shadow.fields import Answer
    from strangler.shadow.settings import shadow_settings
    from strangler.shadow.store import save_difference

    json_type = [("Content-Type", "application/json")]
    django = Answer(200, json_type, b'{"items": [{"id": 1}], "total": 1}')
    flask = Answer(200, json_type, b'{"items": [{"id": 1, "name": "pipette"}], "total": 1}')
    arguments: dict[str, Any] = {
        "route": "/api/items",
        "method": "GET",
        "target": "/api/items?page=1",
        "request_headers": [("Accept", "application/json")],
        "django": django,
        "flask": flask,
        "comparison": compare(django, flask, headers=["Content-Type"]),
        "identity": "anonymous",
        "conf": shadow_settings(),
        **overrides,
    }
    return save_difference(**arguments)


def through_the_asgi_entry(target: str, *, cookie: str = "") -> tuple[int, bytes]:
    """GET ``target`` through ``strangler.asgi``'s handler, in this process: (status, body)."""
    from asgiref.sync import async_to_sync
    from asgiref.testing import ApplicationCommunicator
    from django.core.handlers.asgi import ASGIHandler

    from strangler.asgi import StranglerASGIHandler

    path, _, query = target.partition("?")
    headers = [(b"host", b"127.0.0.1")] + ([(b"cookie", cookie.encode())] if cookie else [])
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }

    async def get() -> tuple[int, bytes]:
        app = ApplicationCommunicator(StranglerASGIHandler(ASGIHandler()), scope)
        await app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await app.receive_output(timeout=10)
        body = b""
        while True:
            message = await app.receive_output(timeout=10)
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await app.send_input({"type": "http.disconnect"})
        await app.wait(timeout=10)
        return start["status"], body

    return async_to_sync(get)()
