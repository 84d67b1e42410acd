"""The inventory of tests.porting_app (tricky Flask rules) against tests.urls."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from strangler.inventory import build_inventory, flask_sample_path, load_flask_app


@pytest.fixture
def porting(settings):
    settings.STRANGLER = {**settings.STRANGLER, "FLASK_APP": "tests.porting_app:app"}


def by_route(inventory) -> dict[tuple[str, str], list[str]]:
    return {(e.route, e.owner): e.methods for e in inventory.routes}


@pytest.mark.parametrize(
    ("rule", "sample"),
    [
        ("/api/users/<int:user_id>", "/api/users/1"),
        ("/files/<path:name>", "/files/1"),
        ("/kind/<any(cats, dogs):kind>/", "/kind/cats/"),
        ("/by-uuid/<uuid:ident>", "/by-uuid/00000000-0000-0000-0000-000000000001"),
        ("/codes/<string(length=3):code>", "/codes/abc"),
        ("/prices/<float:amount>", "/prices/1.5"),
    ],
)
def test_samples_are_paths_the_rule_accepts(rule: str, sample: str) -> None:
    app = load_flask_app("tests.porting_app:app")
    [werkzeug_rule] = [r for r in app.url_map.iter_rules() if r.rule == rule]
    assert flask_sample_path(werkzeug_rule) == sample
    adapter = app.url_map.bind("localhost")
    assert adapter.match(sample, method="GET", return_rule=True)[0].rule == rule


def test_methods_are_classified_one_by_one(porting) -> None:
    routes = by_route(build_inventory())
    assert routes[("/api/users/<int:user_id>", "ported")] == ["GET"]
    assert routes[("/api/users/<int:user_id>", "forwarded")] == ["DELETE", "PUT"]
    assert routes[("/api/things/<int:pk>", "ported")] == ["GET"]
    assert routes[("/api/things/<int:pk>", "forwarded")] == ["POST"]
    # A Flask <name> (any segment) and Django's <slug:name> accept the same sample.
    assert routes[("/reports/<name>", "ported")] == ["GET"]
    for forwarded in (
        "/files/<path:name>",
        "/kind/<any(cats, dogs):kind>/",
        "/by-uuid/<uuid:ident>",
        "/codes/<string(length=3):code>",
        "/prices/<float:amount>",
        "/samples/<int:sample_id>/edit",
    ):
        assert (forwarded, "forwarded") in routes, forwarded


def test_trailing_slashes_that_differ_are_two_routes(porting) -> None:
    inventory = build_inventory()
    routes = by_route(inventory)
    assert routes[("/ported", "forwarded")] == ["GET"]  # Flask's /ported: Django has /ported/
    [django_side] = [e for e in inventory.routes if e.route == "/ported/"]
    assert django_side.owner == "django_only"
    assert "Flask has /ported" in django_side.note


def test_routes_that_overlap_only_in_part_are_noted(porting) -> None:
    # Flask's sample /docs/1 is not a Django path; Django's /docs/x/x is a Flask path.
    inventory = build_inventory()
    [flask_side] = [e for e in inventory.routes if e.route == "/docs/<path:page>"]
    assert flask_side.owner == "forwarded"
    [django_side] = [e for e in inventory.routes if e.route == "/docs/<str:section>/<str:page>"]
    assert django_side.owner == "django_only"
    assert "overlaps Flask's /docs/<path:page>" in django_side.note


def test_django_only_routes_and_skipped_namespaces(porting) -> None:
    routes = by_route(build_inventory())
    assert ("/items/<int:item_id>/", "django_only") in routes
    assert not any(route.startswith(("/admin/", "/_strangler/")) for route, _ in routes)


def test_conflicts(porting, settings) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "ROUTES": {"POST /samples/*/edit": "django", "DELETE /api/users/*": "django"},
    }
    inventory = build_inventory()
    conflicts = {e.route: e for e in inventory.routes if e.owner == "conflict"}
    assert conflicts["/samples/<int:sample_id>/edit"].methods == ["POST"]
    assert "does not resolve" in conflicts["/samples/<int:sample_id>/edit"].note
    assert conflicts["/api/users/<int:user_id>"].methods == ["DELETE"]
    assert "does not allow DELETE" in conflicts["/api/users/<int:user_id>"].note


def test_static_url_over_flasks_static_files_is_a_conflict(porting, settings) -> None:
    settings.STATIC_URL = "/static/"
    conflicts = {e.route: e for e in build_inventory().routes if e.owner == "conflict"}
    assert "STATIC_URL" in conflicts["/static/<path:filename>"].note


def test_progress_by_routes_and_traffic(porting) -> None:
    traffic = {
        ("/api/users/<int:user_id>", "GET"): {"django": 30},
        ("/api/users/<int:user_id>", "PUT"): {"flask": 10},
    }
    inventory = build_inventory(traffic)
    # 3 ported (users GET, things GET, reports GET) of 16 Flask route x methods.
    assert inventory.progress_routes == pytest.approx(3 / 16, abs=1e-4)
    assert inventory.progress_traffic == 0.75
    [users] = [
        e for e in inventory.routes if e.route.startswith("/api/users") and e.owner == "ported"
    ]
    assert users.hits == 30


def test_json_format_and_fail_under(porting, capsys, db) -> None:
    call_command("strangler_routes", "--json")
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"routes", "progress"}
    assert set(data["progress"]) == {"routes", "traffic"}
    row = next(r for r in data["routes"] if r["route"] == "/api/users/<int:user_id>")
    assert {"route", "owner", "methods"} <= set(row)
    assert row["owner"] in ("ported", "forwarded", "django_only", "conflict")
    call_command("strangler_routes", "--fail-under", "10")
    with pytest.raises(SystemExit) as exited:
        call_command("strangler_routes", "--fail-under", "50")
    assert exited.value.code == 1
    assert "18.8% of the Flask routes are ported, under the required 50%" in capsys.readouterr().err


def test_bad_input_is_a_clear_error(settings) -> None:
    with pytest.raises(CommandError, match="Set STRANGLER\\['FLASK_APP'\\]"):
        call_command("strangler_routes")
    settings.STRANGLER = {**settings.STRANGLER, "FLASK_APP": "tests.porting_app:nope"}
    with pytest.raises(CommandError, match="has no attribute 'nope'"):
        call_command("strangler_routes")
    with pytest.raises(CommandError, match="from 0 to 100"):
        call_command("strangler_routes", "--fail-under", "150")
