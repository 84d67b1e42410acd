"""The logout route for Flask's GET link (strangler/identity/views.py), and logout CSRF.

An attacker's page can make the browser GET any URL (an image, a link, a
prefetch); only the user's own navigation on this site may log them out with
GET. Everything else gets a one-click, CSRF-protected form.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from flask import Flask
from werkzeug.security import generate_password_hash

from tests.identity.conftest import Live, send
from tests.identity.legacy_users import add_user

CHEAP = "scrypt:1024:8:1"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.identity.urls"
    settings.LOGOUT_REDIRECT_URL = "/logged-out"


@pytest.fixture
def ada_client(django_user_model: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(django_user_model.objects.create_user("ada"))
    return client


def logged_in(client: Client) -> bool:
    return client.get("/django-whoami/").json()["username"] is not None


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "same-origin"},  # a click on this site's "Log out" link
        {"HTTP_SEC_FETCH_SITE": "none"},  # typed in the address bar, a bookmark
        {"HTTP_REFERER": "http://testserver/account"},  # an older browser, from this site
    ],
)
def test_the_users_own_get_link_logs_out(ada_client: Client, headers: dict[str, str]) -> None:
    response = ada_client.get("/logout", **headers)  # type: ignore[arg-type]
    assert response.status_code == 302
    assert response["Location"] == "/logged-out"
    assert not logged_in(ada_client)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "cross-site"},  # <img src="https://ours/logout"> elsewhere
        {"HTTP_SEC_FETCH_SITE": "same-site"},  # a sibling subdomain is not us
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_REFERER": "http://testserver/"},
        {"HTTP_REFERER": "http://evil.example/page"},
        {"HTTP_REFERER": "http://testserver.evil.example/"},
        {},  # no evidence either way
        {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_SEC_PURPOSE": "prefetch"},
        {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_PURPOSE": "prefetch"},
    ],
)
def test_any_other_get_asks_and_logs_nobody_out(
    ada_client: Client, headers: dict[str, str]
) -> None:
    response = ada_client.get("/logout?next=/account", **headers)  # type: ignore[arg-type]
    assert response.status_code == 200
    page = response.content.decode()
    assert 'method="post"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="next" value="/account"' in page
    assert logged_in(ada_client)


def test_the_confirmation_form_logs_out_with_its_csrf_token(ada_client: Client) -> None:
    page = ada_client.get("/logout").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = ada_client.post("/logout", {"csrfmiddlewaretoken": token, "next": "/account"})
    assert response.status_code == 302
    assert response["Location"] == "/account"
    assert not logged_in(ada_client)


def test_a_post_without_the_csrf_token_is_refused(ada_client: Client) -> None:
    assert ada_client.post("/logout").status_code == 403
    assert logged_in(ada_client)


def test_head_is_refused(ada_client: Client) -> None:
    assert ada_client.head("/logout", HTTP_SEC_FETCH_SITE="same-origin").status_code == 405
    assert logged_in(ada_client)


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "/\\\\evil"])
def test_next_never_leaves_the_site(ada_client: Client, next_url: str) -> None:
    response = ada_client.get("/logout", {"next": next_url}, HTTP_SEC_FETCH_SITE="same-origin")
    assert response["Location"] == "/logged-out"
    page = Client().get("/logout", {"next": next_url}).content.decode()
    assert "evil" not in page


# --- end to end through a live front: Flask's login redirect, Django's login, Flask's link --


@pytest.mark.django_db(transaction=True)
def test_login_and_logout_across_the_boundary(live: Live, legacy_users: Flask) -> None:
    add_user(legacy_users, "grace", generate_password_hash("legacy pass", method=CHEAP))
    front = live.front.url

    # A Flask page that needs a login sends the user to Django's login page with
    # next, and leaves no "Please log in" message waiting in Flask's session.
    response, set_cookies = send(front, "GET", "/account?tab=2", {})
    assert response.status == 302
    assert response.headers["Location"] == "/accounts/login/?next=%2Faccount%3Ftab%3D2"
    assert "session" not in set_cookies

    response, cookies = send(front, "GET", response.headers["Location"], {})
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.data)
    assert token is not None
    assert b'name="next" value="/account?tab=2"' in response.data
    response, cookies = send(
        front,
        "POST",
        "/accounts/login/",
        {"csrftoken": cookies["csrftoken"]},
        fields={
            "csrfmiddlewaretoken": token.group(1).decode(),
            "username": "grace",
            "password": "legacy pass",
            "next": "/account?tab=2",
        },
        encode_multipart=False,
        headers={"Referer": front + "/accounts/login/"},
    )
    assert response.status == 302
    assert response.headers["Location"] == "/account?tab=2"
    session = {"sessionid": cookies["sessionid"]}
    response, _ = send(front, "GET", "/whoami", session)
    assert response.json()["username"] == "grace"
    assert response.json()["messages"] == []  # no stale "Please log in"

    # Another site cannot log her out with the app's GET link ...
    response, _ = send(front, "GET", "/logout", session, headers={"Sec-Fetch-Site": "cross-site"})
    assert response.status == 200
    assert send(front, "GET", "/whoami", session)[0].json()["username"] == "grace"
    # ... her own click on it (Flask's <a href="/logout">, now Django's route) does.
    response, _ = send(front, "GET", "/logout", session, headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status == 302
    assert send(front, "GET", "/whoami", session)[0].json()["username"] is None
    assert send(front, "GET", "/account", session)[0].status == 302
