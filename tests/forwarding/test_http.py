"""The HTTP transport: pooling, retries, timeouts and failures, against real servers."""

from __future__ import annotations

import io
import json
import logging
import socket
import ssl
from collections.abc import Iterator

import pytest
from django.test import Client

from strangler.forwarding.errors import UpstreamStreamError, UpstreamTimeout, UpstreamUnavailable
from strangler.forwarding.http import HttpTransport
from strangler.forwarding.messages import UpstreamRequest
from strangler.forwarding.upstream import parse_upstream
from tests.conftest import free_port
from tests.tls import TlsUpstream
from tests.upstream import RecordingServer, RunningServer

pytestmark = pytest.mark.timeout(30)


def transport_for(url: str, **options: object) -> HttpTransport:
    upstream = parse_upstream(url)
    assert not isinstance(upstream.__class__, str)
    return HttpTransport(upstream, **options)  # type: ignore[arg-type]


def get(target: str = "/x", method: str = "GET", body: bytes | None = None) -> UpstreamRequest:
    return UpstreamRequest(
        method=method,
        target=target,
        headers=[],
        body=iter([body]) if body is not None else None,
        content_length=len(body) if body is not None else None,
    )


def read(transport: HttpTransport, request: UpstreamRequest) -> tuple[int, bytes]:
    response = transport.send(request)
    try:
        return response.status, b"".join(response.body)
    finally:
        response.close()


@pytest.fixture
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.stop()


def test_keep_alive_connections_are_reused(recorder: RecordingServer) -> None:
    transport = transport_for(recorder.url)
    for _ in range(5):
        assert read(transport, get("/x")) == (200, b"ok")
    assert transport.pool.opened == 1
    assert transport.pool.idle == 1
    assert recorder.connections == 1
    transport.close()


def test_a_response_not_read_to_the_end_does_not_go_back_to_the_pool() -> None:
    body = b"z" * 4_000_000
    big = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
    server = RecordingServer(response=big)
    try:
        transport = transport_for(server.url, chunk_size=1024)
        response = transport.send(get())
        next(response.body)
        response.close()
        assert transport.pool.idle == 0
        status, received = read(transport, get())
        assert (status, len(received)) == (200, len(body))
        assert transport.pool.opened == 2
        assert transport.pool.idle == 1
        transport.close()
    finally:
        server.stop()


def test_base_path_of_the_upstream_is_prefixed(
    upstream: RunningServer, settings, client: Client
) -> None:
    # The core puts the transport's base path before the target (what is signed is what is sent).
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": upstream.url + "/base/"}
    response = client.get("/x?y=1")
    assert json.loads(response.getvalue())["raw_uri"] == "/base/x?y=1"


def test_idempotent_request_is_retried_on_a_dropped_kept_alive_connection() -> None:
    server = RecordingServer(drop_after=1)
    try:
        transport = transport_for(server.url)
        assert read(transport, get("/first")) == (200, b"ok")
        # The pooled connection looks alive; the upstream closes it on the next request.
        assert read(transport, get("/second")) == (200, b"ok")
        lines = [r.request_line for r in server.requests]
        assert lines == [b"GET /first HTTP/1.1", b"GET /second HTTP/1.1", b"GET /second HTTP/1.1"]
        assert server.connections == 2
        transport.close()
    finally:
        server.stop()


def test_non_idempotent_request_is_never_retried() -> None:
    server = RecordingServer(drop_after=1)
    try:
        transport = transport_for(server.url)
        assert read(transport, get("/first")) == (200, b"ok")
        with pytest.raises(UpstreamUnavailable):
            transport.send(get("/submit", method="POST", body=b"pay once"))
        posts = [r for r in server.requests if r.request_line.startswith(b"POST")]
        assert len(posts) == 1
        transport.close()
    finally:
        server.stop()


def test_refused_connection_is_unavailable() -> None:
    transport = transport_for(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(UpstreamUnavailable, match="refused"):
        transport.send(get())


def test_slow_answer_is_a_timeout(upstream: RunningServer) -> None:
    transport = transport_for(upstream.url, read_timeout=0.2)
    with pytest.raises(UpstreamTimeout, match="did not answer in time"):
        transport.send(get("/slow?delay=1"))
    transport.close()


def test_connection_not_accepted_in_time_is_a_timeout() -> None:
    # A listener whose accept queue is full: the kernel drops further SYNs,
    # so connecting hangs until the connect timeout, as with a stuck upstream.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        transport = transport_for(f"http://127.0.0.1:{port}", connect_timeout=0.3, retries=0)
        with pytest.raises(UpstreamTimeout, match="did not accept the connection"):
            transport.send(get())
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_upstream_failing_mid_body_aborts_the_stream() -> None:
    truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b"
    server = RecordingServer(response=truncated, close_after=True)
    try:
        transport = transport_for(server.url)
        response = transport.send(get())
        with pytest.raises(UpstreamStreamError):
            b"".join(response.body)
        assert transport.pool.idle == 0
    finally:
        server.stop()


def test_garbage_answer_is_unavailable() -> None:
    server = RecordingServer(response=b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    try:
        transport = transport_for(server.url)
        with pytest.raises(UpstreamUnavailable):
            transport.send(get())
    finally:
        server.stop()


def test_no_default_headers_are_invented(recorder: RecordingServer) -> None:
    transport = transport_for(recorder.url)
    read(transport, get())
    names = {name.lower() for name, _ in recorder.requests[-1].headers}
    assert names == {b"host"}
    transport.close()


def test_chunked_body_is_sent_chunked(recorder: RecordingServer) -> None:
    transport = transport_for(recorder.url)
    request = UpstreamRequest(method="POST", target="/", headers=[], body=iter([b"abc"]))
    transport.send(request).close()
    headers = dict(recorder.requests[-1].headers)
    assert headers[b"Transfer-Encoding"] == b"chunked"
    transport.close()


# Through the middleware: what the client gets when forwarding fails.


@pytest.fixture
def down(settings) -> str:
    url = f"http://127.0.0.1:{free_port()}"
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": url}
    return url


def test_unreachable_upstream_answers_502_with_a_short_body(
    client: Client, down: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="strangler.forwarding"):
        response = client.get("/legacy/page", HTTP_ACCEPT="text/html")
    assert response.status_code == 502
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"the upstream application refused the connection\n"
    assert down not in response.content.decode()  # internal address stays internal
    [record] = caplog.records
    assert "/legacy/page" in record.getMessage()
    assert down in record.getMessage()


def test_failure_is_json_for_json_clients(client: Client, down: str) -> None:
    response = client.get("/api/things", HTTP_ACCEPT="application/json")
    assert response.status_code == 502
    assert response.json() == {
        "error": "upstream_unavailable",
        "detail": "the upstream application refused the connection",
    }


def test_timeout_answers_504(client: Client, settings, upstream: RunningServer) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "UPSTREAM": upstream.url, "READ_TIMEOUT": 0.2}
    response = client.get("/slow?delay=1")
    assert response.status_code == 504
    assert b"did not answer in time" in response.content


def test_bad_content_length_is_a_400(client: Client, forward_to: RunningServer) -> None:
    response = client.generic(
        "POST", "/legacy/x", data=b"abc", CONTENT_LENGTH="-5", content_type="text/plain"
    )
    assert response.status_code == 400
    assert b"invalid Content-Length" in response.content


def test_truncated_client_body_is_a_400(client: Client, forward_to: RunningServer) -> None:
    # The client promised 100 bytes and hung up after 3.
    environ: dict = {"CONTENT_LENGTH": "100", "wsgi.input": io.BytesIO(b"abc")}
    response = client.generic(
        "POST", "/legacy/x", data=b"abc", content_type="text/plain", **environ
    )
    assert response.status_code == 400
    assert b"before sending its body" in response.content


def test_https_upstream_is_verified_and_streams(tls_upstream: TlsUpstream) -> None:
    transport = transport_for(tls_upstream.url, ca_bundle=str(tls_upstream.trusted))
    status, body = read(transport, get("/stream?size=300000"))
    assert (status, len(body)) == (200, 300_000)
    upload = b"u" * 200_000
    status, body = read(transport, get("/echo", method="POST", body=upload))
    echoed = json.loads(body)
    assert (status, echoed["body_length"]) == (200, len(upload))


@pytest.mark.parametrize("trust", ["system", "other-ca"])
def test_https_upstream_with_an_untrusted_certificate_is_502(
    tls_upstream: TlsUpstream, trust: str
) -> None:
    """Verification fails closed: no answer is read, nothing is sent in plain text."""
    bundle = None if trust == "system" else str(tls_upstream.untrusted)
    transport = transport_for(tls_upstream.url, ca_bundle=bundle)
    with pytest.raises(UpstreamUnavailable) as failure:
        read(transport, get("/echo"))
    assert failure.value.status == 502
    assert isinstance(failure.value.__cause__, ssl.SSLCertVerificationError)


@pytest.mark.parametrize(("bundle", "status"), [("trusted", 200), ("untrusted", 502)])
def test_front_door_to_an_https_upstream(
    client: Client, settings, tls_upstream: TlsUpstream, bundle: str, status: int
) -> None:
    """UPSTREAM_CA_BUNDLE picks the CA; an upstream it did not sign gets no request: a 502."""
    ca = tls_upstream.trusted if bundle == "trusted" else tls_upstream.untrusted
    settings.STRANGLER = {
        **settings.STRANGLER,
        "UPSTREAM": tls_upstream.url,
        "UPSTREAM_CA_BUNDLE": str(ca),
    }
    response = client.get("/legacy/page", HTTP_ACCEPT="text/html")
    assert response.status_code == status
    if status == 200:
        assert json.loads(b"".join(response.streaming_content))["path"] == "/legacy/page"  # type: ignore[attr-defined]
    else:
        assert response.content == b"the upstream application could not be reached\n"
