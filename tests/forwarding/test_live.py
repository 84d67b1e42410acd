"""Through a live Django front (gunicorn) to the live Flask upstream, at the socket level.

Django's test client hides framing, raw targets and header bytes; these
tests speak HTTP/1.1 to a real server to check what actually goes over the
wire, including hostile request lines and clients that go away.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.asgi.fronts import AsgiFront, start_asgi_front
from tests.conftest import Front, rss_kib, start_front
from tests.upstream import Events, RecordingServer, RunningServer

pytestmark = pytest.mark.timeout(60)


def raw_exchange(front: Front, request: bytes) -> tuple[bytes, bytes]:
    """Send raw request bytes, return (head, body) of a Content-Length framed answer."""
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return head, body


def get_raw(front: Front, target: str, headers: str = "") -> tuple[bytes, bytes]:
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n"
    return raw_exchange(front, request.encode("latin-1"))


@pytest.fixture(scope="module")
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer()
    yield server
    server.stop()


@pytest.fixture(
    scope="module",
    params=[
        "tests.wsgi:application",
        "tests.wsgi_fast:application",
        "tests.asgi.application:application",
    ],
)
def recording_front(recorder: RecordingServer, request: pytest.FixtureRequest) -> Iterator[Front]:
    """A live front before the recording server: middleware, fast path, ASGI (uvicorn)."""
    start = start_asgi_front if "asgi" in request.param else start_front
    server = start(recorder.url, app=request.param)
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.mark.parametrize(
    "target",
    [
        "/legacy/a%2fb/%2F/c+d?x=%2f&flag&y=1&y=2",
        "/legacy/caf%C3%A9/%25/~user?",
        "/legacy/a|b{c}?q=<x>",
        "//evil.example/path",
        "/@evil.example/x",
        "/legacy\\evil.example/x",
    ],
)
def test_request_target_reaches_the_upstream_byte_for_byte(
    recording_front: Front, recorder: RecordingServer, target: str
) -> None:
    head, _ = get_raw(recording_front, target)
    assert head.startswith(b"HTTP/1.1 200"), head
    if isinstance(recording_front, AsgiFront) and target.endswith("?"):
        target = target[:-1]  # an ASGI scope cannot say that an empty query had its "?"
    # The configured upstream got it (no host change), with the target unchanged.
    assert recorder.requests[-1].request_line == f"GET {target} HTTP/1.1".encode("latin-1")


def test_absolute_form_target_cannot_choose_the_host(
    recording_front: Front, recorder: RecordingServer
) -> None:
    head, _ = get_raw(recording_front, "http://evil.example:1/legacy/x?q=1")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert recorder.requests[-1].request_line == b"GET /legacy/x?q=1 HTTP/1.1"
    host = dict(recorder.requests[-1].headers)[b"Host"]
    assert host == f"127.0.0.1:{recorder.port}".encode()


@pytest.mark.parametrize("name", ["front", "asgi_front"])
def test_werkzeug_upstream_sees_the_raw_target(name: str, request: pytest.FixtureRequest) -> None:
    front = request.getfixturevalue(name)
    target = "/legacy/a%2fb/%2F/c+d?x=%2f&flag"
    _, body = get_raw(front, target)
    assert json.loads(body)["raw_uri"] == target


@pytest.mark.parametrize("name", ["front", "fast_front", "asgi_front"])
def test_set_cookie_headers_reach_the_client_exactly(
    name: str, request: pytest.FixtureRequest
) -> None:
    front = request.getfixturevalue(name)
    head, _ = get_raw(front, "/cookies")
    # Values byte for byte; uvicorn sends header names lower-cased, which HTTP allows.
    cookies = [
        line.split(b":", 1)[1]
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"set-cookie:")
    ]
    assert cookies == [
        b" a=1; Path=/; HttpOnly",
        b" b=two words; Partitioned; Priority=High; SameSite=None; Secure",
        b" c=3; Path=/",
    ]


@pytest.mark.parametrize("name", ["front", "fast_front", "asgi_front"])
def test_forwarded_answer_gains_no_django_headers(
    name: str, request: pytest.FixtureRequest
) -> None:
    front = request.getfixturevalue(name)
    head, _ = get_raw(front, "/legacy/x")
    lowered = head.lower()
    for header in (b"x-frame-options", b"x-content-type-options", b"referrer-policy", b"vary:"):
        assert header not in lowered
    assert b"csrftoken" not in lowered
    head, _ = get_raw(front, "/ported/")
    assert b"x-frame-options: deny" in head.lower()


def test_latin1_header_bytes_pass_both_ways(front: Front) -> None:
    head, body = get_raw(front, "/legacy/x", headers="X-Name: caf\xe9\r\n")
    headers = dict(json.loads(body)["headers"])
    assert headers["X-Name"] == "caf\xe9"
    head, _ = get_raw(front, "/repeated")
    assert b"X-Odd-Bytes: caf\xe9" in head


@pytest.fixture(scope="module")
def in_process_front() -> Iterator[Front]:
    """The live front with the in-process transport (the Flask app inside the worker)."""
    server = start_front("wsgi:tests.legacy_wsgi:app")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def fast_front(upstream: RunningServer) -> Iterator[Front]:
    """The live front behind the WSGI fast path (strangler.wsgi), HTTP transport."""
    server = start_front(upstream.url, app="tests.wsgi_fast:application")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def fast_in_process_front() -> Iterator[Front]:
    """The live front behind the WSGI fast path, in-process transport."""
    server = start_front("wsgi:tests.legacy_wsgi:app", app="tests.wsgi_fast:application")
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


FRONTS = {
    "http": "front",
    "wsgi": "in_process_front",
    "fast-http": "fast_front",
    "fast-wsgi": "fast_in_process_front",
    "asgi-http": "asgi_front",
    "asgi-wsgi": "asgi_in_process_front",
}


@pytest.fixture(params=list(FRONTS))
def any_front(request: pytest.FixtureRequest) -> Front:
    """Each test using this runs against both transports, with and without the fast path."""
    return request.getfixturevalue(FRONTS[request.param])


def test_chunked_upload_is_streamed_through(any_front: Front) -> None:
    front = any_front
    payload = [bytes([i]) * 100_000 for i in range(50)]
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=30)
    conn.request("POST", "/legacy/upload", body=iter(payload), encode_chunked=True)
    response = conn.getresponse()
    data = json.loads(response.read())
    conn.close()
    whole = b"".join(payload)
    assert data["body_length"] == len(whole)
    assert data["body_sha256"] == hashlib.sha256(whole).hexdigest()


def test_large_download_streams_with_flat_memory(any_front: Front) -> None:
    front = any_front
    size = 256 * 1024 * 1024
    worker = front.pid_of_worker()
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=60)
    conn.request("GET", "/stream?size=0")  # warm up the worker's code paths
    conn.getresponse().read()
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset the peak (VmHWM)
    before = rss_kib(worker)
    conn.request("GET", f"/stream?size={size}")
    response = conn.getresponse()
    received = 0
    while chunk := response.read(1 << 20):
        received += len(chunk)
    conn.close()
    assert received == size
    growth_mib = (rss_kib(worker, "VmHWM") - before) / 1024
    assert growth_mib < 20, f"worker peak RSS grew {growth_mib:.1f} MiB for a {size >> 20} MiB body"


def test_large_upload_streams_with_flat_memory(any_front: Front) -> None:
    front = any_front
    size = 128 * 1024 * 1024
    block = b"u" * (1 << 20)
    worker = front.pid_of_worker()
    Path(f"/proc/{worker}/clear_refs").write_text("5")
    before = rss_kib(worker)
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=60)
    conn.request(
        "PUT",
        "/legacy/upload",
        body=(block for _ in range(size // len(block))),
        headers={"Content-Length": str(size)},
    )
    data = json.loads(conn.getresponse().read())
    conn.close()
    assert data["body_length"] == size
    growth_mib = (rss_kib(worker, "VmHWM") - before) / 1024
    assert growth_mib < 20, f"worker peak RSS grew {growth_mib:.1f} MiB for a {size >> 20} MiB body"


@pytest.mark.parametrize("name", ["front", "fast_front", "asgi_front"])
def test_client_going_away_mid_stream_releases_the_upstream(
    name: str, request: pytest.FixtureRequest, events: Events
) -> None:
    front = request.getfixturevalue(name)
    closed_before = events.streams_closed
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as sock:
        sock.sendall(b"GET /stream?size=1073741824 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = 0
        while received < 4 << 20:
            received += len(sock.recv(1 << 16))
    # Flask's generator is closed once the front drops the upstream connection.
    deadline = time.monotonic() + 20
    while events.streams_closed == closed_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert events.streams_closed > closed_before


@pytest.mark.parametrize("name", ["front", "fast_front", "asgi_front"])
def test_disallowed_host_is_answered_by_django_with_400(
    name: str, request: pytest.FixtureRequest
) -> None:
    front = request.getfixturevalue(name)
    raw = b"GET /legacy/x HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
    head, _ = raw_exchange(front, raw)
    assert head.startswith(b"HTTP/1.1 400")
