"""The status page in real headless Chromium: log in, look, flip a switch, screenshot.

Needs Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it)
and Playwright for Python, which drives that executable (no downloaded browser).
The screenshots go to ``$STRANGLER_SCREENSHOTS`` when set, else the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User

from strangler.models import RouteSwitch
from strangler.traffic import reset_traffic, traffic_recorder

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium not found: apt-get install chromium"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def front_url(settings, upstream, throwaway_redis):
    """A gunicorn front on the test database, sharing a real Redis with this process."""
    from django.db import connection

    from tests.conftest import start_front

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": throwaway_redis.url,
        }
    }
    database = connection.settings_dict
    front = start_front(
        upstream.url,
        {
            "STRANGLER_TEST_REDIS_URL": throwaway_redis.url,
            "STRANGLER_TEST_EXTRA": json.dumps({"FLASK_APP": "tests.porting_app:app"}),
            "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}",
        },
    )
    yield front.url
    front.process.terminate()
    front.process.wait(timeout=10)


@pytest.fixture
def page_data(settings, front_url):
    settings.STRANGLER = {**settings.STRANGLER, "FLASK_APP": "tests.porting_app:app"}
    user = User.objects.create_user("lead", password="a-long-test-password", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_routeswitch"))
    RouteSwitch.objects.create(
        pattern="/api/things/*", methods="GET", owner="flask", note="rollback: N+1 queries"
    )
    recorder = traffic_recorder()
    for route, method, side, count, seconds, status in [
        ("/api/users/<int:user_id>", "GET", "django", 420, 0.004, 200),
        ("/api/users/<int:user_id>", "PUT", "flask", 60, 0.012, 200),
        ("/files/<path:name>", "GET", "flask", 230, 0.030, 200),
        ("/reports/<name>", "GET", "django", 150, 0.080, 200),
        ("/samples/<int:sample_id>/edit", "POST", "flask", 40, 0.050, 502),
        ("/samples/<int:sample_id>/edit", "POST", "flask", 4, 0.900, 504),
        ("/api/things/<int:pk>", "GET", "flask", 90, 0.008, 200),
    ]:
        for _ in range(count):
            recorder.record(route, method, side, status, seconds)
    assert recorder.flush()
    yield
    reset_traffic()


def test_the_status_page_in_chromium(front_url: str, page_data, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    shots = Path(os.environ.get("STRANGLER_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{front_url}/_strangler/")
            assert "/admin/login/" in page.url  # staff only
            page.fill("#id_username", "lead")
            page.fill("#id_password", "a-long-test-password")
            page.click("input[type=submit]")
            page.wait_for_url(f"{front_url}/_strangler/")
            # 2 of 16 Flask route x methods: the switch sends GET /api/things/* back to Flask.
            assert page.text_content("[data-testid=routes-progress]") == "12.5%"
            page.screenshot(path=str(shots / "status-page.png"), full_page=True)
            assert page.locator("svg.bars rect").count() == 6  # the rows with traffic
            assert page.locator("table.routes tbody tr").count() > 10

            # Flip the rolled-back switch to Django (a CSRF-protected POST from the form).
            row = page.locator(".switches tr", has_text="/api/things/*")
            row.locator("button.to-django").click()
            page.wait_for_selector(".message")
            assert "now goes to django" in page.text_content(".message")
            assert page.text_content("[data-testid=routes-progress]") == "18.8%"
            page.screenshot(path=str(shots / "status-page-switched.png"), full_page=True)
        finally:
            browser.close()
    # Outside Playwright's event loop: Django's ORM refuses to run inside one.
    assert RouteSwitch.objects.get(pattern="/api/things/*").owner == "django"
    assert (shots / "status-page.png").stat().st_size > 10_000
