"""``manage.py strangler_shadow``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from strangler.shadow.store import count
from tests.shadow.conftest import stored_difference

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("strangler_shadow", *args, stdout=out)
    return out.getvalue()


def test_json_output() -> None:
    count("/api/items", compared=2, dropped=1)
    stored_difference()
    stored_difference(route="/page", target="/page")
    report = json.loads(run("--json"))
    assert report["compared"] == 2
    assert report["dropped"] == 1
    assert [d["path"] for d in report["differences"]] == ["/page", "/api/items?page=1"]
    only = json.loads(run("--json", "--route", "/page", "--limit", "5"))
    assert [d["route"] for d in only["differences"]] == ["/page"]


def test_text_output_names_the_request_and_fields() -> None:
    stored_difference()
    out = run()
    assert "0 requests compared, 0 dropped" in out
    assert "GET /api/items?page=1  [/api/items]  status 200/200  fields: body.items[0].name" in out


def test_a_negative_limit_is_refused() -> None:
    with pytest.raises(CommandError, match="--limit must be 0 or more"):
        run("--limit", "-1")
