"""Storing and listing differences (strangler/shadow/store.py, status.py)."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.shadow.models import ShadowDifference, ShadowTally
from strangler.shadow.status import shadow_status
from strangler.shadow.store import count, shadow_report
from tests.shadow.conftest import stored_difference

pytestmark = pytest.mark.django_db


def test_the_report_has_the_format_design_md_settles() -> None:
    count("/api/items", compared=3, differing=1)
    count("/api/items", dropped=2)
    count("/page", compared=1)
    difference = stored_difference()
    assert shadow_report() == {
        "compared": 4,
        "dropped": 2,
        "differences": [
            {
                "route": "/api/items",
                "method": "GET",
                "path": "/api/items?page=1",
                "status": [200, 200],
                "fields": ["body.items[0].name"],
                "at": difference.at.isoformat(),
            }
        ],
    }
    assert ShadowTally.objects.get(route="/api/items").differing == 1


def test_only_the_newest_differences_are_kept(settings: SettingsWrapper) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "SHADOW": {"KEEP": 3}}
    made = [stored_difference(target=f"/api/items?n={n}") for n in range(5)]
    kept = list(ShadowDifference.objects.order_by("pk").values_list("pk", flat=True))
    assert kept == [d.pk for d in made[-3:]]


def test_bodies_are_cut_to_the_stored_size(settings: SettingsWrapper) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "SHADOW": {"STORED_BODY": 20}}
    difference = stored_difference()
    assert difference.flask_body.startswith('{"items": [{"id": 1,')
    assert "more characters not stored" in difference.flask_body


def test_the_status_page_include_lists_recent_differences() -> None:
    count("/api/items", compared=7, differing=1, dropped=1)
    stored_difference(target="/api/items?page=<b>2</b>")
    status = shadow_status()
    assert status["compared"] == 7
    html = render_to_string("strangler/shadow/_differences.html", {"shadow": status})
    assert "7 requests compared with Flask, 1 differed, 1 dropped" in html
    assert "<code>body.items[0].name</code>" in html
    assert "<b>2</b>" not in html  # escaped, not rendered


def test_the_include_says_when_there_is_nothing() -> None:
    html = render_to_string("strangler/shadow/_differences.html", {"shadow": shadow_status()})
    assert "No differences recorded." in html
