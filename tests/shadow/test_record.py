"""Recording forwarded requests (strangler/shadow/record.py), through the front door."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.shadow.models import RecordedRequest
from tests.shadow.conftest import drain
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
    first, second = RecordedRequest.objects.order_by("pk")
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
        "SHADOW": {**settings.STRANGLER["SHADOW"], "RECORD_KEEP": 2},
    }
    for n in range(4):
        client.get(f"/api/items?n={n}")
    drain()
    assert sorted(r.target for r in RecordedRequest.objects.all()) == [
        "/api/items?n=2",
        "/api/items?n=3",
    ]
