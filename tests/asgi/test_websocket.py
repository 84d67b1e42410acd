"""WebSockets through ``strangler.asgi``: to Flask (Flask-Sock) and to Django's ASGI app."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin, Subprotocol

from strangler.forwarding.websocket import origin_allowed
from tests.asgi.fronts import AsgiFront, start_asgi_front
from tests.asgi.legacy import create_live_app
from tests.tls import TlsUpstream, serve_tls
from tests.upstream import RunningServer

pytestmark = pytest.mark.timeout(60)


def ws_url(front: AsgiFront, path: str) -> str:
    return f"ws://127.0.0.1:{front.port}{path}"


def test_messages_pass_both_ways_text_and_binary(live_front: AsgiFront) -> None:
    with connect(ws_url(live_front, "/ws/echo?room=1"), max_size=None) as ws:
        handshake = json.loads(ws.recv())
        ws.send("hello")
        assert ws.recv() == "flask:hello"
        ws.send(b"\x00\xffbytes")
        assert ws.recv() == b"flask:\x00\xffbytes"
        big = "x" * (3 << 20)  # larger than one frame's buffer on every hop
        ws.send(big)
        assert ws.recv() == "flask:" + big
    assert handshake["path"] == "/ws/echo"
    assert handshake["query"] == "room=1"


def test_handshake_headers_follow_the_http_rules(live_front: AsgiFront) -> None:
    with connect(
        ws_url(live_front, "/ws/echo"),
        additional_headers={
            "X-Client": "kept",
            "X-Strangler-Identity-Token": "forged",
            "Connection": "Upgrade, X-Private",
            "X-Private": "secret",
        },
    ) as ws:
        headers = {name.lower(): value for name, value in json.loads(ws.recv())["headers"]}
    assert headers["x-client"] == "kept"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert "x-strangler-identity-token" not in headers
    assert "x-private" not in headers
    # The upstream hop negotiates its own key, not the client's.
    assert headers["upgrade"].lower() == "websocket"


def test_subprotocol_is_negotiated_with_flask(live_front: AsgiFront) -> None:
    offered = [Subprotocol("chat.v1"), Subprotocol("chat.v2")]
    with connect(ws_url(live_front, "/ws/echo"), subprotocols=offered) as ws:
        headers = {name.lower(): value for name, value in json.loads(ws.recv())["headers"]}
        assert ws.subprotocol == "chat.v2"
    assert [p.strip() for p in headers["sec-websocket-protocol"].split(",")] == offered


def test_flask_closing_passes_its_close_code_to_the_client(live_front: AsgiFront) -> None:
    with connect(ws_url(live_front, "/ws/echo")) as ws:
        ws.recv()
        ws.send("close-me")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4001
    assert closed.value.rcvd.reason == "flask closes"


def closes_seen(front: AsgiFront) -> list[int | None]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    conn.request("GET", "/ws/closes")
    codes: list[int | None] = json.loads(conn.getresponse().read())["codes"]
    conn.close()
    return codes


def test_client_closing_passes_its_close_code_to_flask(live_front: AsgiFront) -> None:
    before = len(closes_seen(live_front))
    with connect(ws_url(live_front, "/ws/echo")) as ws:
        ws.recv()
        ws.close(code=4002, reason="client leaves")
    deadline = time.monotonic() + 10
    codes = closes_seen(live_front)
    while len(codes) == before and time.monotonic() < deadline:
        time.sleep(0.05)
        codes = closes_seen(live_front)
    assert codes[before:] == [4002]


def test_django_websocket_goes_to_the_projects_asgi_app(live_front: AsgiFront) -> None:
    with connect(ws_url(live_front, "/django-ws/chat")) as ws:
        ws.send("hi")
        assert ws.recv() == "django:hi"


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "https://127.0.0.1.evil.example"]
)
def test_cross_site_handshake_is_refused(live_front: AsgiFront, origin: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live_front, "/ws/echo"), origin=Origin(origin))
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("origin", ["http://front.example", "http://localhost:8000"])
def test_same_site_handshake_is_accepted(live_front: AsgiFront, origin: str) -> None:
    with connect(ws_url(live_front, "/ws/echo"), origin=Origin(origin)) as ws:
        headers = {name.lower(): value for name, value in json.loads(ws.recv())["headers"]}
    assert headers["origin"] == origin


def test_disallowed_host_is_refused(live_front: AsgiFront) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live_front, "/ws/echo"), additional_headers={"Host": "evil.example"})
    assert refused.value.response.status_code == 400


def test_unknown_flask_websocket_gets_flasks_status(live_front: AsgiFront) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live_front, "/ws/no-such-route"))
    assert refused.value.response.status_code == 404


def test_in_process_upstream_refuses_websockets_with_502(
    live_in_process_front: AsgiFront,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live_in_process_front, "/ws/echo"))
    assert refused.value.response.status_code == 502


@pytest.fixture(scope="module")
def front_without_django_websockets(live_upstream: RunningServer) -> Iterator[AsgiFront]:
    with start_asgi_front(
        live_upstream.url, app="tests.asgi.application:without_websockets"
    ) as front:
        yield front


def test_django_websocket_without_an_asgi_app_is_refused(
    front_without_django_websockets: AsgiFront,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(front_without_django_websockets, "/django-ws/chat"))
    assert refused.value.response.status_code == 403


def test_origin_rule(settings) -> None:
    settings.ALLOWED_HOSTS = [".example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://trusted.example.org"]
    assert origin_allowed(None, "front")  # not a browser
    assert origin_allowed("http://front:8000", "front:8000")  # the host it was sent to
    assert origin_allowed("https://app.example.com", "front")
    assert origin_allowed("https://trusted.example.org", "front")
    assert not origin_allowed("https://trusted.example.org.evil", "front")
    assert not origin_allowed("https://example.com.evil.net", "front")
    assert not origin_allowed("null", "front")
    assert not origin_allowed("file://", "front")
    assert not origin_allowed("javascript:alert(1)", "front")


@pytest.fixture(scope="module")
def tls_live_upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsUpstream]:
    """The live-features app (Flask-Sock) over TLS, its certificate signed by a test CA."""
    running = serve_tls(create_live_app(), tmp_path_factory.mktemp("wss"))
    yield running
    running.server.stop()


def test_a_wss_upstream_is_reached_with_the_ca_bundle(tls_live_upstream: TlsUpstream) -> None:
    bundle = {"STRANGLER_TEST_CA_BUNDLE": str(tls_live_upstream.trusted)}
    with (
        start_asgi_front(tls_live_upstream.url, extra_env=bundle) as front,
        connect(ws_url(front, "/ws/echo")) as ws,
    ):
        ws.recv()  # the handshake Flask saw
        ws.send("over tls")
        assert ws.recv() == "flask:over tls"


def test_a_wss_upstream_with_an_untrusted_certificate_is_refused(
    tls_live_upstream: TlsUpstream,
) -> None:
    # Signed by a CA the front was not told to trust: the handshake never reaches Flask.
    bundle = {"STRANGLER_TEST_CA_BUNDLE": str(tls_live_upstream.untrusted)}
    with (
        start_asgi_front(tls_live_upstream.url, extra_env=bundle) as front,
        pytest.raises(InvalidStatus) as refused,
        connect(ws_url(front, "/ws/echo")),
    ):
        pass
    assert refused.value.response.status_code == 502
