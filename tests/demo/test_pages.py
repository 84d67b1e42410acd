"""The demo in a real browser: headless Chromium (Debian's package) driven by Playwright.

Screenshots go to $DEMO_SCREENSHOTS when set (look at them), else to the test's
temporary directory.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.demo.conftest import Demo

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture
def page(demo: Demo) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    target = Path(os.environ.get("DEMO_SCREENSHOTS") or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    return target


def test_a_scientist_walks_through_both_apps(demo: Demo, page, shots: Path) -> None:
    from playwright.sync_api import expect

    page.goto(f"{demo.url}/samples")  # Flask's page; anonymous, so Django's login
    expect(page).to_have_url(f"{demo.url}/login?next=%2Fsamples")
    expect(page.locator(".served")).to_have_text("served by Django")
    page.screenshot(path=shots / "1-login-django.png")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "sam-labs-demo")
    page.click("button[type=submit]")

    # Forwarded: Flask renders the samples for the user Django logged in.
    expect(page).to_have_url(f"{demo.url}/samples")
    expect(page.locator(".served")).to_have_text("served by Flask")
    expect(page.locator("header .who")).to_contain_text("sam")
    expect(page.locator("header .who")).to_contain_text("scientist")
    expect(page.locator("tbody tr")).to_have_count(20)
    page.screenshot(path=shots / "2-samples-flask.png", full_page=True)

    # The legacy dashboard, with the activity both apps log.
    page.click("header .logo")
    expect(page.locator("h1")).to_have_text("Lab dashboard")
    expect(page.locator(".served")).to_have_text("served by Flask")
    page.screenshot(path=shots / "2b-dashboard-flask.png", full_page=True)
    page.goto(f"{demo.url}/samples")

    # Flask's form, posted through the front.
    page.click("text=New sample")
    page.fill("#name", "Browser core 1")
    page.fill("#collected_on", "2026-07-01")
    page.fill("#tags", "field, pilot")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Browser core 1")
    expect(page.locator(".flash.success")).to_contain_text("created")
    page.screenshot(path=shots / "3-sample-flask.png", full_page=True)

    # Ported: the event log is Django's, and shows what Flask just wrote.
    page.click("text=Event log")
    expect(page.locator(".served")).to_have_text("served by Django")
    expect(page.locator(".timeline")).to_contain_text("sample.created")
    page.screenshot(path=shots / "4-events-django.png", full_page=True)

    # Greenfield: only Django has it.
    page.click("text=Instruments")
    page.select_option("#id_instrument", label="Spectrometer")
    page.fill("#id_starts_at", "2031-03-04T09:00")
    page.fill("#id_ends_at", "2031-03-04T11:00")
    page.fill("#id_purpose", "Absorbance of Browser core 1")
    page.click("button[type=submit]")
    expect(page.locator(".flash.success")).to_contain_text("Booked Spectrometer")
    expect(page.locator("tbody")).to_contain_text("Absorbance of Browser core 1")
    page.screenshot(path=shots / "5-instruments-django.png", full_page=True)


def test_the_status_page_shows_the_migration(demo: Demo, page, shots: Path) -> None:
    from playwright.sync_api import expect

    page.goto(f"{demo.url}/login?next=/_strangler/")
    page.fill("#id_username", "ada")  # a legacy admin: Django staff
    page.fill("#id_password", "ada-labs-demo")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{demo.url}/_strangler/")
    body = page.locator("body")
    # Routes from both sides: ported, forwarded and Django-only.
    for route in ["/api/samples", "/samples/new", "/instruments/", "/events"]:
        expect(body).to_contain_text(route)
    page.screenshot(path=shots / "6-status-page.png", full_page=True)
