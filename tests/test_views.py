"""forward_to_flask, and methods split between Django and Flask end to end."""

from __future__ import annotations

import json
import urllib.request

import pytest
from django.test import Client

from strangler.traffic import read_traffic, reset_traffic, traffic_recorder


def flask_echo(response) -> dict:
    assert response["X-Upstream"] == "flask", response
    return json.loads(response.getvalue())


@pytest.mark.usefixtures("forward_to")
def test_one_method_ported_the_others_still_flasks(client: Client) -> None:
    # The bug: porting GET took PUT along, which then met Django's CSRF 403.
    assert client.get("/api/users/7").json() == {"id": 7, "by": "django"}
    put = client.put("/api/users/7", data=b'{"name": "x"}', content_type="application/json")
    assert put.status_code == 200
    assert flask_echo(put)["method"] == "PUT"
    assert flask_echo(client.delete("/api/users/7"))["method"] == "DELETE"
    assert flask_echo(client.post("/api/things/3", {"a": "1"}))["method"] == "POST"
    assert client.get("/api/things/3").json() == {"thing": 3, "by": "django"}


@pytest.mark.usefixtures("forward_to")
def test_csrf_still_protects_the_ported_methods() -> None:
    client = Client(enforce_csrf_checks=True)
    # PUT is Flask's (no Django CSRF); a POST to a ported Django view is still checked.
    assert flask_echo(client.put("/api/users/7"))["method"] == "PUT"
    assert client.post("/reports/annual").status_code == 403


@pytest.mark.usefixtures("forward_to")
def test_forward_to_flask_as_a_view_and_inside_one(client: Client) -> None:
    handed = flask_echo(client.post("/handed-back/a/b?x=1", {"k": "v"}))
    assert handed["method"] == "POST"  # csrf_exempt: Flask checks its own
    assert handed["path"] == "/handed-back/a/b"
    assert handed["query_string"] == "x=1"
    assert client.get("/reports/annual").json() == {"report": "annual", "by": "django"}
    csv = flask_echo(client.get("/reports/annual?format=csv"))
    assert csv["path"] == "/reports/annual"


@pytest.mark.usefixtures("forward_to")
def test_handed_back_requests_count_on_flasks_side(client: Client, db) -> None:
    reset_traffic()
    client.get("/reports/annual")
    client.get("/reports/annual?format=csv")
    client.get("/api/users/7")
    client.get("/api/users/8")
    client.put("/api/users/9")
    assert traffic_recorder().flush()
    traffic = read_traffic()
    assert traffic[("/reports/<slug:name>", "GET", "django")].hits == 1
    assert traffic[("/reports/<slug:name>", "GET", "flask")].hits == 1
    # Counted by route, not raw path: two ids, one row.
    assert traffic[("/api/users/<int:user_id>", "GET", "django")].hits == 2
    assert traffic[("/api/users/<int:user_id>", "PUT", "flask")].hits == 1
    assert not any("/api/users/7" in route for route, _, _ in traffic)
    reset_traffic()


def test_methods_split_through_a_live_front(front) -> None:
    with urllib.request.urlopen(front.url + "/api/users/7", timeout=10) as response:
        assert json.load(response) == {"id": 7, "by": "django"}
    request = urllib.request.Request(front.url + "/api/users/7", data=b"{}", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["X-Upstream"] == "flask"
        assert json.load(response)["method"] == "PUT"


@pytest.mark.usefixtures("forward_to")
def test_the_decision_is_kept_on_the_request_for_inner_code(client: Client, settings) -> None:
    from strangler.decided import recorded_decision

    settings.STRANGLER = {**settings.STRANGLER, "ROUTES": {"GET /django-echo/**": "shadow"}}
    response = client.get("/django-echo/x")
    assert response.json()["by"] == "django"  # shadow: Django answers
    decision = recorded_decision(response.wsgi_request.META)
    assert decision is not None
    assert (decision.owner, decision.route, decision.source) == (
        "shadow",
        "/django-echo/<path:rest>",
        "rule",
    )
