"""The status page: who may see it, who may switch, and what it shows."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import caches
from django.test import Client

from strangler.models import RouteSwitch
from strangler.traffic import reset_traffic, traffic_recorder


@pytest.fixture
def porting(settings):
    settings.STRANGLER = {**settings.STRANGLER, "FLASK_APP": "tests.porting_app:app"}
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user("viewer", password="pw", is_staff=True)


@pytest.fixture
def lead(db) -> User:
    user = User.objects.create_user("lead", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_routeswitch"))
    return user


def test_anonymous_and_non_staff_are_sent_to_login(client, db, porting) -> None:
    response = client.get("/_strangler/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    client.force_login(User.objects.create_user("plain", password="pw"))
    assert client.get("/_strangler/").status_code == 302
    assert client.get("/_strangler/metrics").status_code == 302


def test_the_page_shows_routes_owners_and_progress(client, staff, porting) -> None:
    recorder = traffic_recorder()
    for _ in range(3):
        recorder.record("/api/users/<int:user_id>", "GET", "django", 200, 0.004)
    recorder.record("/files/<path:name>", "GET", "flask", 502, 0.020)
    assert recorder.flush()
    client.force_login(staff)
    response = client.get("/_strangler/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/api/users/&lt;int:user_id&gt;" in page
    assert 'class="pill ported"' in page
    assert 'class="pill forwarded"' in page
    assert "75.0%" in page  # traffic ported: 3 of 4 requests
    assert "4.4 ms" in page  # p50 (and p95) of /api/users/: the 4 ms bucket's upper edge
    assert "Set switch" not in page  # no permission: no controls
    reset_traffic()


def test_switching_needs_the_permission_and_csrf(staff, lead, porting) -> None:
    form = {"pattern": "/api/users/*", "owner": "flask"}
    without_csrf = Client()
    without_csrf.force_login(staff)
    assert without_csrf.post("/_strangler/switches", form).status_code == 403  # no permission
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    client.get("/_strangler/")
    token = client.cookies["csrftoken"].value
    assert (
        client.post("/_strangler/switches", {**form, "csrfmiddlewaretoken": "x" * 32}).status_code
        == 403
    )  # a bad token
    assert not RouteSwitch.objects.exists()
    response = client.post("/_strangler/switches", {**form, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert RouteSwitch.objects.get().owner == "flask"
    page = client.get("/_strangler/").content.decode()
    assert "now goes to flask" in page
    assert "Set switch" in page


def test_a_bad_switch_is_refused_and_nothing_saved(client, lead, porting) -> None:
    client.force_login(lead)
    response = client.post(
        "/_strangler/switches", {"pattern": "api/*", "owner": "flask"}, follow=True
    )
    assert (
        "Switch not saved: pattern: route pattern &#x27;api/*&#x27; must be a path"
        in response.content.decode()
    )
    response = client.post(
        "/_strangler/switches",
        {"pattern": "/api/*", "owner": "flask", "percent": "lots"},
        follow=True,
    )
    assert "percent must be a whole number" in response.content.decode()
    assert not RouteSwitch.objects.exists()


def test_metrics_for_a_scraper_with_the_token(client, db, settings, porting) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "METRICS_TOKEN": "s3cret-token-of-some-length"}
    ok = client.get("/_strangler/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-of-some-length")
    assert ok.status_code == 200
    assert b"# TYPE strangler_requests_total counter" in ok.content
    for header in (
        "Bearer wrong-token-of-some-length",
        "Basic s3cret-token-of-some-length",
        "Bearer s3cret-token-of-some-lengt",
        "",
    ):
        denied = client.get("/_strangler/metrics", HTTP_AUTHORIZATION=header)
        assert denied.status_code == 302, header  # to the login page
    settings.STRANGLER = {**settings.STRANGLER, "METRICS_TOKEN": None}
    assert client.get("/_strangler/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 302


def test_metrics_in_prometheus_text_format(client, staff, porting) -> None:
    recorder = traffic_recorder()
    recorder.record("/api/users/<int:user_id>", "GET", "django", 200, 0.004)
    recorder.record("/api/users/<int:user_id>", "GET", "django", 503, 0.3)
    assert recorder.flush()
    client.force_login(staff)
    response = client.get("/_strangler/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    from prometheus_client.parser import text_string_to_metric_families

    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }
    labels = (("method", "GET"), ("route", "/api/users/<int:user_id>"), ("side", "django"))
    assert samples[("strangler_requests_total", (*labels, ("status", "2xx")))] == 1
    assert samples[("strangler_requests_total", (*labels, ("status", "5xx")))] == 1
    assert samples[("strangler_request_duration_seconds_count", labels)] == 2
    assert samples[("strangler_request_duration_seconds_sum", labels)] == pytest.approx(0.304)
    reset_traffic()
