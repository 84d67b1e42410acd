"""``strangler.asgi`` under uvicorn: the same rules as WSGI, and answers that stream."""

from __future__ import annotations

import hashlib
import http.client
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.asgi.fronts import AsgiFront, start_asgi_front
from tests.conftest import free_port, rss_kib
from tests.upstream import RunningServer

pytestmark = pytest.mark.timeout(90)


def get(front: AsgiFront, target: str, headers: dict[str, str] | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=30)
    conn.request("GET", target, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def test_flask_route_is_forwarded_as_flask_answered(any_live_front: AsgiFront) -> None:
    response, body = get(any_live_front, "/echo?x=%2f&y", {"X-Client": "kept"})
    assert response.status == 200
    seen = json.loads(body)
    assert seen["raw_uri"] == "/echo?x=%2f&y"
    headers = dict(seen["headers"])
    assert headers["X-Client"] == "kept"
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    # Outermost: none of Django's middleware touched the forwarded answer.
    assert response.getheader("X-Frame-Options") is None
    assert response.getheader("Content-Type") == "application/json"


def test_django_route_is_answered_by_django(any_live_front: AsgiFront) -> None:
    response, body = get(any_live_front, "/ported/")
    assert body == b"answered by django"
    assert response.getheader("X-Frame-Options") == "DENY"  # Django's middleware ran


def test_clients_identity_header_never_reaches_flask(any_live_front: AsgiFront) -> None:
    _, body = get(
        any_live_front,
        "/echo",
        {"X-Strangler-Identity-Token": "forged", "X_Strangler_Identity_Token": "forged"},
    )
    names = {name.lower() for name, _ in json.loads(body)["headers"]}
    assert "x-strangler-identity-token" not in names


def test_disallowed_host_is_refused_with_400(live_front: AsgiFront) -> None:
    response, _ = get(live_front, "/echo", {"Host": "evil.example"})
    assert response.status == 400


def test_hop_by_hop_headers_are_not_forwarded(live_front: AsgiFront) -> None:
    _, body = get(live_front, "/echo", {"Connection": "X-Private", "X-Private": "secret"})
    names = {name.lower() for name, _ in json.loads(body)["headers"]}
    assert "x-private" not in names


def test_server_sent_events_reach_the_client_as_flask_yields_them(
    any_live_front: AsgiFront,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", any_live_front.port, timeout=30)
    conn.request("GET", "/events?count=3&interval=0.4")
    response = conn.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream"
    events: list[tuple[int, int]] = []  # (yielded at, read at), monotonic ns
    buffer = b""
    while len(events) < 3:
        chunk = response.read1(65536)
        assert chunk, "the stream ended early"
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            data = next(line for line in event.split(b"\n") if line.startswith(b"data: "))
            events.append((int(data[6:]), time.monotonic_ns()))
    conn.close()
    # Each event was read before Flask yielded the next one: nothing buffers them.
    for (_, read_at), (next_yielded_at, _) in itertools.pairwise(events):
        assert read_at < next_yielded_at


def test_long_poll_is_answered_when_flask_answers(any_live_front: AsgiFront) -> None:
    response, body = get(any_live_front, "/poll?wait=0.3")
    assert response.status == 200
    assert "answered_at" in json.loads(body)


def test_slow_flask_requests_do_not_block_the_event_loop(any_live_front: AsgiFront) -> None:
    """Long polls in flight (in-process: in the thread pool) while a small page is served."""
    finished: list[float] = []

    def poll() -> None:
        get(any_live_front, "/poll?wait=2")
        finished.append(time.monotonic())

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    _, body = get(any_live_front, "/hello")
    answered = time.monotonic()
    for thread in threads:
        thread.join()
    assert body == b"hello from flask"
    assert len(finished) == 4
    assert answered < min(finished)


def test_in_process_request_stays_on_one_thread(live_in_process_front: AsgiFront) -> None:
    """Thread-locals and stream_with_context hold across the pieces of one answer."""
    _, body = get(live_in_process_front, "/threads?count=50")
    assert len(set(body.split())) == 1


def test_client_leaving_an_event_stream_closes_flasks_generator(
    any_live_front: AsgiFront,
) -> None:
    _, body = get(any_live_front, "/events/closed")
    closed_before = json.loads(body)["closed"]
    with socket.create_connection(("127.0.0.1", any_live_front.port), timeout=10) as sock:
        sock.sendall(b"GET /events?count=10000&interval=0.02 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        while received.count(b"data: ") < 3:
            received += sock.recv(65536)
    deadline = time.monotonic() + 10
    closed = closed_before
    while closed == closed_before and time.monotonic() < deadline:
        time.sleep(0.1)
        closed = json.loads(get(any_live_front, "/events/closed")[1])["closed"]
    assert closed > closed_before


def test_failure_mid_answer_truncates_the_response(any_live_front: AsgiFront) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", any_live_front.port, timeout=30)
    conn.request("GET", "/broken")
    response = conn.getresponse()
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    conn.close()


def test_chunked_upload_streams_to_flask(any_live_front: AsgiFront) -> None:
    pieces = [bytes([i]) * 100_000 for i in range(30)]
    conn = http.client.HTTPConnection("127.0.0.1", any_live_front.port, timeout=30)
    conn.request("POST", "/upload", body=iter(pieces), encode_chunked=True)
    data = json.loads(conn.getresponse().read())
    conn.close()
    whole = b"".join(pieces)
    assert data == {"received": len(whole), "sha256": hashlib.sha256(whole).hexdigest()}


def test_head_request_gets_no_body(any_live_front: AsgiFront) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", any_live_front.port, timeout=30)
    conn.request("HEAD", "/echo")
    response = conn.getresponse()
    assert response.status == 200
    assert response.read() == b""
    conn.request("GET", "/hello")  # the connection is still in step
    assert conn.getresponse().read() == b"hello from flask"
    conn.close()


@pytest.fixture(scope="module")
def dead_upstream_front() -> Iterator[AsgiFront]:
    """A front whose upstream port has nothing listening."""
    with start_asgi_front(f"http://127.0.0.1:{free_port()}") as front:
        yield front


def test_unreachable_upstream_is_a_short_502(dead_upstream_front: AsgiFront) -> None:
    response, body = get(dead_upstream_front, "/anything")
    assert response.status == 502
    assert body == b"the upstream application refused the connection\n"
    response, body = get(dead_upstream_front, "/anything", {"Accept": "application/json"})
    assert json.loads(body)["error"] == "upstream_unavailable"
    # Django's routes do not depend on the upstream.
    assert get(dead_upstream_front, "/ported/")[1] == b"answered by django"


@pytest.fixture(scope="module")
def impatient_front(live_upstream: RunningServer) -> Iterator[AsgiFront]:
    """A front that waits half a second for each piece of a client's body."""
    with start_asgi_front(
        live_upstream.url, extra_env={"STRANGLER_TEST_CLIENT_BODY_TIMEOUT": "0.5"}
    ) as front:
        yield front


def test_client_that_stops_sending_its_body_gets_408(impatient_front: AsgiFront) -> None:
    with socket.create_connection(("127.0.0.1", impatient_front.port), timeout=10) as sock:
        sock.sendall(
            b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
        )
        answer = b""
        while not answer.endswith(b"seconds\n"):  # the end of the short body
            piece = sock.recv(65536)
            if not piece:
                break
            answer += piece
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"content-length: 45\r\n" in answer.lower()
    assert b"the client sent no body data for 0.5 seconds" in answer


def download(front: AsgiFront, size: int) -> float:
    """Download ``size`` bytes through the front; return the worker's peak RSS growth in MiB."""
    worker = front.pid_of_worker()
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=120)
    conn.request("GET", "/stream?size=65536")  # warm up
    conn.getresponse().read()
    Path(f"/proc/{worker}/clear_refs").write_text("5")
    before = rss_kib(worker)
    conn.request("GET", f"/stream?size={size}")
    response = conn.getresponse()
    received = 0
    while chunk := response.read(1 << 20):
        received += len(chunk)
    conn.close()
    assert received == size
    return (rss_kib(worker, "VmHWM") - before) / 1024


def upload(front: AsgiFront, size: int) -> float:
    """Upload ``size`` bytes through the front; return the worker's peak RSS growth in MiB."""
    block = b"u" * (1 << 20)
    worker = front.pid_of_worker()
    Path(f"/proc/{worker}/clear_refs").write_text("5")
    before = rss_kib(worker)
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=120)
    conn.request(
        "PUT",
        "/upload",
        body=(block for _ in range(size // len(block))),
        headers={"Content-Length": str(size)},
    )
    data = json.loads(conn.getresponse().read())
    conn.close()
    assert data["received"] == size
    return (rss_kib(worker, "VmHWM") - before) / 1024


# The default-size streaming tests (256 MiB down, 128 MiB up, flat memory) are
# tests/forwarding/test_live.py's, which run over both ASGI fronts too.


@pytest.mark.load
@pytest.mark.timeout(600)
def test_one_gib_both_ways_with_flat_memory(any_live_front: AsgiFront) -> None:
    down = download(any_live_front, 1 << 30)
    up = upload(any_live_front, 1 << 30)
    # The bound: under 5 MiB of growth for 1 GiB either way.
    assert down < 5, f"the front grew {down:.1f} MiB passing a 1 GiB download"
    assert up < 5, f"the front grew {up:.1f} MiB passing a 1 GiB upload"


def raw_head(front: AsgiFront, request: bytes) -> tuple[bytes, bytes]:
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_non_ascii_header_bytes_pass_both_ways(asgi_front: AsgiFront) -> None:
    """Request header bytes (UTF-8 or not) reach Flask unchanged; so do Flask's to the client."""
    for raw in (b"caf\xc3\xa9", b"caf\xe9"):
        _, body = raw_head(
            asgi_front,
            b"GET /legacy/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Name: " + raw + b"\r\n"
            b"Connection: close\r\n\r\n",
        )
        assert dict(json.loads(body)["headers"])["X-Name"].encode("latin-1") == raw
    head, _ = raw_head(
        asgi_front, b"GET /repeated HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    assert b"x-odd-bytes: caf\xe9" in head.lower()
