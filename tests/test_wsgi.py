"""The WSGI fast path (strangler.wsgi), called as a WSGI server would call it."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from strangler.decided import ENVIRON_KEY as DECIDED
from strangler.identity.tokens import TokenVerifier, generate_key_pair, load_verifying_key
from strangler.wsgi import ForwardedBody, StranglerWSGIHandler
from tests.conftest import free_port
from tests.upstream import RunningServer


@pytest.fixture(scope="module")
def handler() -> StranglerWSGIHandler:
    return StranglerWSGIHandler(WSGIHandler())


def environ_for(path: str, method: str = "GET", **extra: Any) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
    }
    environ.update(extra)
    setup_testing_defaults(environ)
    return environ


class Called:
    def __init__(self) -> None:
        self.status = ""
        self.headers: list[tuple[str, str]] = []

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.status, self.headers = status, headers


def run(handler: StranglerWSGIHandler, environ: dict[str, Any]) -> tuple[Called, bytes]:
    called = Called()
    result = handler(environ, called)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return called, body


@pytest.fixture
def signals() -> Iterator[list[str]]:
    fired: list[str] = []

    def started(**kwargs: Any) -> None:
        fired.append("started")

    def finished(**kwargs: Any) -> None:
        fired.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    yield fired
    request_started.disconnect(started)
    request_finished.disconnect(finished)


def test_forwarded_request_skips_django_entirely(
    handler: StranglerWSGIHandler, forward_to: RunningServer, signals: list[str]
) -> None:
    called, body = run(handler, environ_for("/legacy/x", QUERY_STRING="a=1&a=2"))
    assert called.status == "200 OK"
    assert ("X-Upstream", "flask") in called.headers
    assert json.loads(body)["query_string"] == "a=1&a=2"
    assert signals == []  # no Django request cycle for a request Django only forwards


def test_repeated_headers_reach_the_server_as_separate_lines(
    handler: StranglerWSGIHandler, forward_to: RunningServer
) -> None:
    called, _ = run(handler, environ_for("/cookies"))
    assert [v for n, v in called.headers if n == "Set-Cookie"] == [
        "a=1; Path=/; HttpOnly",
        "b=two words; Partitioned; Priority=High; SameSite=None; Secure",
        "c=3; Path=/",
    ]


def test_custom_reason_phrase_is_kept(
    handler: StranglerWSGIHandler, forward_to: RunningServer
) -> None:
    called, _ = run(handler, environ_for("/status/299"))
    assert called.status == "299 Custom Reason Here"


def test_django_requests_reach_django_with_the_environ_untouched(
    handler: StranglerWSGIHandler, forward_to: RunningServer, signals: list[str]
) -> None:
    environ = environ_for("/items/5/")
    original_path = environ["PATH_INFO"]
    _, body = run(handler, environ)
    assert json.loads(body) == {"id": 5, "by": "django"}
    assert environ["PATH_INFO"] == original_path
    assert environ[DECIDED].owner == "django"
    assert signals == ["started", "finished"]  # Django's own cycle, as always


def test_non_ascii_django_path_is_decoded_once(handler: StranglerWSGIHandler) -> None:
    # WSGI carries the UTF-8 bytes of "café" as latin-1 code points.
    _, body = run(handler, environ_for("/django-echo/caf\u00c3\u00a9"))
    assert json.loads(body) == {"path": "/django-echo/caf\u00e9", "by": "django"}


def test_disallowed_host_gets_djangos_400(
    handler: StranglerWSGIHandler, forward_to: RunningServer
) -> None:
    called, _ = run(handler, environ_for("/legacy/x", HTTP_HOST="evil.example"))
    assert called.status.startswith("400")


def test_upstream_down_is_a_short_502(handler: StranglerWSGIHandler, settings) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": f"http://127.0.0.1:{free_port()}"}
    called, body = run(handler, environ_for("/legacy/x", HTTP_ACCEPT="application/json"))
    assert called.status == "502 Bad Gateway"
    assert json.loads(body)["error"] == "upstream_unavailable"


def test_body_close_releases_the_upstream_once() -> None:
    closed: list[str] = []
    body = ForwardedBody(iter([b"a", b"b"]), lambda: closed.append("x"), finished=False)
    assert next(iter(body)) == b"a"
    body.close()
    assert closed == ["x"]


@pytest.fixture(autouse=True)
def keep_test_connection() -> Iterator[None]:
    """As Django's test client does: database connections are the test's, not the request's.

    Django's real handler closes "old" connections on request signals, which
    would close the connection of a test's transaction (and touch the
    database from tests that may not).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
def test_identity_token_is_minted_on_the_fast_path_too(
    handler: StranglerWSGIHandler, settings, upstream: RunningServer, signals: list[str]
) -> None:
    private, public, kid = generate_key_pair("EdDSA")
    settings.STRANGLER = {
        **settings.STRANGLER,
        "UPSTREAM": upstream.url,
        "IDENTITY": {"SIGNING_KEY": private, "KEY_ID": kid},
    }
    user = User.objects.create_user("ada", email="ada@example.org")
    client = Client()
    client.force_login(user)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    environ = environ_for(
        "/legacy/x",
        HTTP_X_STRANGLER_IDENTITY_TOKEN="forged",
        HTTP_COOKIE=f"{django_settings.SESSION_COOKIE_NAME}={session}",
    )
    _, body = run(handler, environ)
    headers = dict(json.loads(body)["headers"])
    token = headers["X-Strangler-Identity-Token"]
    assert token != "forged"
    verifier = TokenVerifier(
        [load_verifying_key(public, kid)], algorithms=["EdDSA"], issuer="django", audience="flask"
    )
    claims = verifier.verify(token, method="GET", binding="/legacy/x")
    assert (claims["sub"], claims["username"]) == (str(user.pk), "ada")
    # Django code ran (the session lookup), so Django's request cycle was signalled.
    assert signals == ["started", "finished"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cookie", ["", "csrftoken=abc", f"{django_settings.SESSION_COOKIE_NAME}=no-such-session"]
)
def test_a_request_without_a_login_cookie_runs_no_django_code(
    handler: StranglerWSGIHandler,
    settings,
    upstream: RunningServer,
    signals: list[str],
    django_assert_num_queries: Any,
    cookie: str,
) -> None:
    private, public, kid = generate_key_pair("EdDSA")
    settings.STRANGLER = {
        **settings.STRANGLER,
        "UPSTREAM": upstream.url,
        "IDENTITY": {"SIGNING_KEY": private, "KEY_ID": kid},
    }
    environ = environ_for("/legacy/x", **({"HTTP_COOKIE": cookie} if cookie else {}))
    may_be_a_user = django_settings.SESSION_COOKIE_NAME in cookie
    with django_assert_num_queries(1 if may_be_a_user else 0):  # the session row, if anything
        _, body = run(handler, environ)
    token = dict(json.loads(body)["headers"])["X-Strangler-Identity-Token"]
    verifier = TokenVerifier(
        [load_verifying_key(public, kid)], algorithms=["EdDSA"], issuer="django", audience="flask"
    )
    claims = verifier.verify(token, method="GET", binding="/legacy/x")
    assert claims["anonymous"] is True
    assert "sub" not in claims
    # Only a request that may carry a login runs Django code, with its signals.
    assert signals == (["started", "finished"] if may_be_a_user else [])
