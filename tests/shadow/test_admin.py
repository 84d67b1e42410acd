"""The admin pages for shadow's tables (strangler/shadow/admin.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.shadow.compare import compare
from strangler.shadow.fields import Answer
from tests.shadow.conftest import stored_difference

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client, django_user_model: Any, settings: SettingsWrapper) -> Client:
    settings.ROOT_URLCONF = "tests.shadow.urls"
    admin = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw")
    client.force_login(admin)
    return client


def test_differences_are_listed_and_shown_with_both_answers(staff: Client) -> None:
    difference = stored_difference()
    listing = staff.get("/admin/strangler/shadowdifference/")
    assert listing.status_code == 200
    assert b"/api/items?page=1" in listing.content
    assert b"body.items[0].name" in listing.content
    page = staff.get(f"/admin/strangler/shadowdifference/{difference.pk}/change/")
    assert page.status_code == 200
    assert b"pipette" in page.content  # Flask's value and body
    assert b"(missing)" in page.content  # Django lacks the field


def test_a_value_with_braces_and_markup_is_shown_escaped(staff: Client) -> None:
    json_type = [("Content-Type", "application/json")]
    django = Answer(200, json_type, b'{"name": "{0} <script>x</script>"}')
    flask = Answer(200, json_type, b'{"name": "ok"}')
    difference = stored_difference(
        django=django, flask=flask, comparison=compare(django, flask, headers=[])
    )
    page = staff.get(f"/admin/strangler/shadowdifference/{difference.pk}/change/")
    assert page.status_code == 200
    assert b"<script>x</script>" not in page.content
    assert b"{0}" in page.content


def test_nothing_can_be_added_or_edited(staff: Client) -> None:
    difference = stored_difference()
    assert staff.get("/admin/strangler/shadowdifference/add/").status_code == 403
    url = f"/admin/strangler/shadowdifference/{difference.pk}/change/"
    staff.post(url, {"path": "/changed"})
    difference.refresh_from_db()
    assert difference.path == "/api/items?page=1"


def test_tallies_and_recorded_requests_are_listed(staff: Client) -> None:
    assert staff.get("/admin/strangler/shadowtally/").status_code == 200
    assert staff.get("/admin/strangler/recordedrequest/").status_code == 200
