"""Recording forwarded requests (strangler/shadow/record.py), through the front door."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.shadow.models import RecordedRequest
from tests.shadow.conftest import drain, through_the_asgi_entry
from tests.shadow.legacy import Seen

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("shadow_on")]


@pytest.fixture(autouse=True)
def recording(settings: SettingsWrapper, shadow_on: Any) -> None:
    """Before the port ships: Flask owns the routes, and a share of them is recorded."""
    settings.STRANGLER = {
        **settings.STRANGLER,
        "ROUTES": {"/api/**": "flask"},
        "SHADOW": {**settings.STRANGLER["SHADOW"], "RECORD": 1.0},
    }


def test_safe_forwarded_requests_are_recorded_with_their_identity(
    client: Client, django_user_model: Any, seen: Seen
) -> None:
    ada = django_user_model.objects.create_user("ada")
    client.force_login(ada)
    response = client.get("/api/whoami?x=1", HTTP_ACCEPT="application/json")
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert json.loads(body) == {"user": "ada"}  # Flask answered
    client.logout()
    client.get("/api/items")
    drain()
    # The pool's workers save concurrently: find each recording by its target, not by pk.
    second, first = RecordedRequest.objects.order_by("target")
    assert (first.method, first.target, first.user_id, first.username) == (
        "GET",
        "/api/whoami?x=1",
        str(ada.pk),
        "ada",
    )
    assert ["Accept", "application/json"] in first.headers
    assert (second.target, second.user_id) == ("/api/items", "")


def test_unsafe_methods_are_never_recorded(client: Client) -> None:
    client.post("/api/notes", data={"a": 1}, content_type="application/json")
    drain()
    assert not RecordedRequest.objects.exists()


def test_recording_is_off_by_default_and_narrowed_by_route(
    client: Client, settings: SettingsWrapper
) -> None:
    shadow = dict(settings.STRANGLER["SHADOW"])
    shadow.pop("RECORD")
    settings.STRANGLER = {**settings.STRANGLER, "SHADOW": shadow}
    client.get("/api/items")
    drain()
    assert not RecordedRequest.objects.exists()
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {**shadow, "RECORD": 1.0, "RECORD_ROUTES": ["/api/whoami"]},
    }
    client.get("/api/items")
    client.get("/api/whoami")
    drain()
    assert [r.target for r in RecordedRequest.objects.all()] == ["/api/whoami"]


def test_nothing_secret_is_recorded(client: Client, django_user_model: Any) -> None:
    client.force_login(django_user_model.objects.create_user("ada"))
    session = client.cookies["sessionid"].value
    client.get(
        "/api/items?access_token=query-secret-value",
        HTTP_AUTHORIZATION="Bearer bearer-secret-value",
        HTTP_X_STRANGLER_IDENTITY_TOKEN="forged-identity-value",
    )
    drain()
    [recorded] = RecordedRequest.objects.all()
    stored = json.dumps([recorded.target, recorded.headers])
    for secret in (session, "query-secret-value", "bearer-secret-value", "forged-identity-value"):
        assert secret not in stored


def test_only_the_newest_recordings_are_kept(client: Client, settings: SettingsWrapper) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        # One worker writes in arrival order; with more, "newest" is the newest written.
        "SHADOW": {**settings.STRANGLER["SHADOW"], "RECORD_KEEP": 2, "WORKERS": 1},
    }
    for n in range(4):
        client.get(f"/api/items?n={n}")
    drain()
    assert sorted(r.target for r in RecordedRequest.objects.all()) == [
        "/api/items?n=2",
        "/api/items?n=3",
    ]


@contextmanager
def request_signals() -> Iterator[list[str]]:
    """The request signals Django sent meanwhile, in order ("started", "finished")."""
    from django.core.signals import request_finished, request_started

    signals: list[str] = []

    def started(**kwargs: Any) -> None:
        signals.append("started")

    def finished(**kwargs: Any) -> None:
        signals.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        yield signals
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)


def test_the_wsgi_fast_path_records_with_the_request_signals(
    client: Client, django_user_model: Any
) -> None:
    import io
    from wsgiref.util import setup_testing_defaults

    from django.core.handlers.wsgi import WSGIHandler

    from strangler.wsgi import StranglerWSGIHandler

    client.force_login(django_user_model.objects.create_user("ada"))
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/whoami",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": f"sessionid={client.cookies['sessionid'].value}",
        "wsgi.input": io.BytesIO(b""),
    }
    setup_testing_defaults(environ)
    with request_signals() as signals:
        result = StranglerWSGIHandler(WSGIHandler())(environ, lambda *args: None)
        body = b"".join(result)
        result.close()  # type: ignore[attr-defined]
    assert json.loads(body) == {"user": "ada"}
    # The session was read inside Django's request cycle, so its connection is cleaned up.
    assert signals == ["started", "finished"]
    drain()
    [recorded] = RecordedRequest.objects.all()
    assert recorded.username == "ada"


def test_the_asgi_entry_records_with_the_request_signals(
    client: Client, django_user_model: Any
) -> None:
    client.force_login(django_user_model.objects.create_user("ada"))
    with request_signals() as signals:
        status, body = through_the_asgi_entry(
            "/api/whoami?x=1", cookie=f"sessionid={client.cookies['sessionid'].value}"
        )
    # Forwarded by the ASGI entry itself (Flask answered as ada), not by Django's handler.
    assert (status, json.loads(body)) == (200, {"user": "ada"})
    assert signals == ["started", "finished"]
    drain()
    [recorded] = RecordedRequest.objects.all()
    assert (recorded.username, recorded.target) == ("ada", "/api/whoami?x=1")
