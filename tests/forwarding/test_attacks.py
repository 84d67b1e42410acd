"""Issue 7's findings, each tried as an attacker would, through live gunicorn fronts.

Every test here failed on the forwarding code before the fix it names. The
fronts are real gunicorn processes running the test project (middleware
path, and the WSGI fast path), in front of a raw recording upstream that
shows the bytes that reached it and answers as scripted, including the
malformed answers a broken or hostile upstream sends.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from tests.conftest import Front, running_front
from tests.upstream import Recorded, RecordingServer

pytestmark = pytest.mark.timeout(60)

APPS = {"middleware": "tests.wsgi:application", "fast": "tests.wsgi_fast:application"}


def _echo(request: Recorded) -> bytes:
    body = json.dumps(
        {
            "request_line": request.request_line.decode("latin-1"),
            "body": request.body.decode("latin-1"),
        }
    ).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)


def _scripted(request: Recorded) -> bytes:
    """Answers by path: a well-behaved echo, or one of the malformed answers under test."""
    path = request.request_line.split(b" ")[1].partition(b"?")[0]
    hostile = HOSTILE.get(path.decode("latin-1"))
    if hostile is None:
        return _echo(request)
    return hostile(request)


def _early_hints(request: Recorded) -> bytes:
    return b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + _echo(request)


HOSTILE: dict[str, Callable[[Recorded], bytes]] = {
    "/early-hints": _early_hints,
    "/switch": lambda r: b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    "/cl-and-chunked": lambda r: (
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    ),
    "/two-lengths": lambda r: (
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhello"
    ),
    "/cr-in-header": lambda r: (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\rSet-Cookie: admin=1\r\nContent-Length: 2\r\n\r\nok"
    ),
    "/nul-in-header": lambda r: b"HTTP/1.1 200 OK\r\nX-Note: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    "/cr-in-reason": lambda r: b"HTTP/1.1 200 OK\rX-Injected: 1\r\nContent-Length: 2\r\n\r\nok",
}


@pytest.fixture(scope="module")
def recorder() -> Iterator[RecordingServer]:
    server = RecordingServer(response=_scripted)
    yield server
    server.stop()


# Django owns /billing/** by rule, and /items/<int>/ by its URLconf (tests/urls.py).
# gunicorn itself believes X-Forwarded-Proto from 127.0.0.1 (its FORWARDED_ALLOW_IPS
# default), where these tests connect from: told not to, as for a public client.
FRONT_ENV = {
    "STRANGLER_TEST_EXTRA": json.dumps({"ROUTES": {"/billing/**": "django"}}),
    "FORWARDED_ALLOW_IPS": "192.0.2.1",
}


@pytest.fixture(scope="module", params=list(APPS))
def front(recorder: RecordingServer, request: pytest.FixtureRequest) -> Iterator[Front]:
    """A live front before the scripted upstream: middleware path, then fast path."""
    with running_front(recorder.url, FRONT_ENV, app=APPS[request.param]) as server:
        yield server


def exchange(front: Front, data: bytes, *, timeout: float = 10) -> bytes:
    """Send raw bytes on one connection; return everything the front sent until it closed."""
    with socket.create_connection(("127.0.0.1", front.port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return received


def get(front: Front, target: str, headers: str = "") -> bytes:
    request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}Connection: close\r\n\r\n"
    return exchange(front, request.encode("latin-1"))


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def requests_after(recorder: RecordingServer, count: int) -> list[Recorded]:
    # The recorder appends from its own threads; give the last write a moment.
    time.sleep(0.05)
    return recorder.requests[count:]


# Finding 1: request smuggling through Connection-named framing headers.

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Evil: 1\r\n\r\n"


@pytest.mark.parametrize("named", ["Content-Length", "content-length, Host", "Host"])
def test_connection_cannot_remove_framing_headers(
    front: Front, recorder: RecordingServer, named: str
) -> None:
    before = len(recorder.requests)
    request = (
        f"POST /legacy/form HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: {named}\r\n"
        f"Content-Length: {len(SMUGGLED)}\r\n\r\n"
    ).encode() + SMUGGLED
    answer = exchange(front, request)
    assert status_of(answer) == 200, answer
    # Exactly one upstream request, carrying the body as its body, with the front's framing.
    [seen] = requests_after(recorder, before)
    assert seen.request_line == b"POST /legacy/form HTTP/1.1"
    assert seen.body == SMUGGLED
    assert (b"Content-Length", str(len(SMUGGLED)).encode()) in seen.headers
    assert (b"Host", f"127.0.0.1:{recorder.port}".encode()) in seen.headers


def test_connection_cannot_remove_a_chunked_bodys_framing(
    front: Front, recorder: RecordingServer
) -> None:
    before = len(recorder.requests)
    body = b"%x\r\n%b\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
    request = (
        b"POST /legacy/form HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Transfer-Encoding\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + body
    )
    answer = exchange(front, request)
    assert status_of(answer) == 200, answer
    [seen] = requests_after(recorder, before)
    assert seen.request_line == b"POST /legacy/form HTTP/1.1"
    assert (b"Transfer-Encoding", b"chunked") in seen.headers
    assert SMUGGLED in seen.body


@pytest.fixture(
    scope="module",
    params=[(app, transport) for app in APPS for transport in ("http", "in-process")],
    ids=lambda param: "-".join(param),
)
def every_front(recorder: RecordingServer, request: pytest.FixtureRequest) -> Iterator[Front]:
    """Middleware and fast path, each with the HTTP and the in-process transport."""
    app, transport = request.param
    upstream = recorder.url if transport == "http" else "wsgi:tests.legacy_wsgi:app"
    with running_front(upstream, app=APPS[app]) as server:
        yield server


# Finding 2: one canonical path, the one Flask routes on.


@pytest.mark.parametrize(
    "target",
    [
        "//billing/1",
        "///billing/1",
        "/%2fbilling/1",
        "/%2Fbilling/1",
        "/billing%2f1",
        "//items/1/",
        "/billing/1%0a",
        "/billing/1%0d%0aX:%20y",
        "/billing/1%00",
        "/billing/1%7f",
        "/billing/./1",
        "/billing/%2e/1",
        "/x/../billing/1",
        "/x/%2e%2e/billing/1",
        "/x/%2E%2E/%2e%2e/etc/passwd",
        "/legacy/x#/../billing/1",
    ],
)
def test_a_django_owned_path_never_reaches_flask(
    front: Front, recorder: RecordingServer, target: str
) -> None:
    before = len(recorder.requests)
    answer = get(front, target)
    # Django's own answer (its 404 for a path its URLconf does not have) or a 400.
    assert status_of(answer) in (400, 404), answer
    assert requests_after(recorder, before) == []


def test_paths_merely_resembling_django_ones_still_reach_flask(
    front: Front, recorder: RecordingServer
) -> None:
    for target in ("/billingx/1", "/.well-known/x", "/a..b/c", "/legacy//x"):
        before = len(recorder.requests)
        answer = get(front, target)
        assert status_of(answer) == 200, answer
        [seen] = requests_after(recorder, before)
        assert seen.request_line == f"GET {target} HTTP/1.1".encode()


@pytest.mark.parametrize("path", ["/short-body", "/long-body"])
def test_an_in_process_body_that_breaks_its_length_never_looks_complete(
    hostile_in_process_front: Front, path: str
) -> None:
    answer = get(hostile_in_process_front, path)
    assert b"smuggled" not in answer
    if status_of(answer) == 502:
        return  # broken before its first byte: the status could still say so
    head, _, body = answer.partition(b"\r\n\r\n")
    declared = [
        int(line.partition(b":")[2])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    ]
    # Cut short and the connection aborted: never the declared length with other bytes.
    assert declared, answer
    assert len(body) < declared[0], answer


# Finding 9: a target that is not UTF-8 passes byte for byte.


@pytest.mark.parametrize("target", ["/caf%E9", "/caf%e9?q=%E9", "/x%FF%FE/%C3%A9"])
def test_non_utf8_targets_reach_the_upstream_byte_for_byte(
    front: Front, recorder: RecordingServer, target: str
) -> None:
    before = len(recorder.requests)
    answer = get(front, target)
    assert status_of(answer) == 200, answer
    [seen] = requests_after(recorder, before)
    assert seen.request_line == f"GET {target} HTTP/1.1".encode()


@pytest.fixture(scope="module", params=list(APPS))
def in_process_front(request: pytest.FixtureRequest) -> Iterator[Front]:
    with running_front("wsgi:tests.legacy_wsgi:app", app=APPS[request.param]) as server:
        yield server


def test_non_utf8_targets_reach_an_in_process_app_byte_for_byte(in_process_front: Front) -> None:
    answer = get(in_process_front, "/caf%E9")
    assert status_of(answer) == 200, answer
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["raw_uri"] == "/caf%E9"


# Finding 8: client-controlled forwarding data.

SPOOFED = {
    "X-Forwarded-For": "6.6.6.6",
    "Forwarded": "for=6.6.6.6;proto=https;host=evil.example",
    "X-Forwarded-Port": "443",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Ssl": "on",
    "X-Real-IP": "6.6.6.6",
    "True-Client-IP": "6.6.6.6",
    "X-Original-URL": "/billing/1",
    "X-Rewrite-URL": "/billing/1",
    "X-HTTP-Method-Override": "DELETE",
}


def _spoofing_headers() -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in SPOOFED.items())


def test_a_client_cannot_speak_for_a_proxy(front: Front, recorder: RecordingServer) -> None:
    before = len(recorder.requests)
    answer = get(front, "/legacy/who", _spoofing_headers())
    assert status_of(answer) == 200, answer
    [seen] = requests_after(recorder, before)
    sent = {name.decode().lower(): value.decode() for name, value in seen.headers}
    for name, value in SPOOFED.items():
        assert sent.get(name.lower()) != value, name
    assert sent["x-forwarded-for"] == "127.0.0.1"
    assert sent["x-forwarded-proto"] == "http"
    assert sent["x-forwarded-host"] == "127.0.0.1"


@pytest.fixture(scope="module", params=list(APPS))
def behind_a_proxy(recorder: RecordingServer, request: pytest.FixtureRequest) -> Iterator[Front]:
    """A front whose peer (this test, on 127.0.0.1) is a trusted proxy."""
    extra = json.dumps({"TRUSTED_PROXIES": ["127.0.0.1/32"]})
    with running_front(
        recorder.url, {**FRONT_ENV, "STRANGLER_TEST_EXTRA": extra}, app=APPS[request.param]
    ) as server:
        yield server


def test_a_trusted_proxy_speaks_for_the_client_but_never_overrides_the_url(
    behind_a_proxy: Front, recorder: RecordingServer
) -> None:
    before = len(recorder.requests)
    answer = get(behind_a_proxy, "/legacy/who", _spoofing_headers())
    assert status_of(answer) == 200, answer
    [seen] = requests_after(recorder, before)
    sent = {name.decode().lower(): value.decode() for name, value in seen.headers}
    assert sent["x-forwarded-for"] == "6.6.6.6, 127.0.0.1"
    assert sent["x-real-ip"] == "6.6.6.6"
    assert sent["forwarded"] == SPOOFED["Forwarded"]
    assert sent["x-forwarded-port"] == "443"
    # What Django itself decided about this hop (no SECURE_PROXY_SSL_HEADER here).
    assert sent["x-forwarded-proto"] == "http"
    assert sent["x-forwarded-host"] == "127.0.0.1"
    for name in ("x-original-url", "x-rewrite-url", "x-http-method-override"):
        assert name not in sent


# Finding 3: interim responses, and connections not read to their framed end.


def test_early_hints_are_interim_and_each_user_gets_their_own_answer(
    front: Front, recorder: RecordingServer
) -> None:
    for user in range(4):
        answer = get(front, f"/early-hints?user={user}")
        assert status_of(answer) == 200, answer
        body = json.loads(answer.partition(b"\r\n\r\n")[2])
        assert body["request_line"] == f"GET /early-hints?user={user} HTTP/1.1"
        # And the next user on the pooled connection is not handed a leftover answer.
        answer = get(front, f"/legacy/next?user={user}")
        body = json.loads(answer.partition(b"\r\n\r\n")[2])
        assert body["request_line"] == f"GET /legacy/next?user={user} HTTP/1.1"


def test_switching_protocols_is_a_502_and_the_connection_is_not_reused(
    front: Front, recorder: RecordingServer
) -> None:
    answer = get(front, "/switch")
    assert status_of(answer) == 502, answer
    answer = get(front, "/legacy/after-switch")
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body["request_line"] == "GET /legacy/after-switch HTTP/1.1"


# Finding 4: malformed upstream framing and header bytes.


@pytest.mark.parametrize(
    "path", ["/cl-and-chunked", "/two-lengths", "/cr-in-header", "/nul-in-header"]
)
def test_malformed_upstream_framing_is_a_502(front: Front, path: str) -> None:
    answer = get(front, path)
    head = answer.partition(b"\r\n\r\n")[0]
    assert status_of(answer) == 502, answer
    assert b"admin=1" not in head
    assert b"hel" not in answer.partition(b"\r\n\r\n")[2]


# Finding 7: never a 500 from the front.


def test_cr_in_the_upstream_reason_phrase_is_a_502_not_a_500(front: Front) -> None:
    answer = get(front, "/cr-in-reason")
    assert status_of(answer) == 502, answer
    assert b"X-Injected" not in answer


@pytest.fixture(scope="module", params=list(APPS))
def hostile_in_process_front(request: pytest.FixtureRequest) -> Iterator[Front]:
    """A live front calling, in-process, an app that answers what HTTP/1.1 cannot carry."""
    with running_front("wsgi:tests.legacy_wsgi:hostile_app", app=APPS[request.param]) as server:
        yield server


@pytest.mark.parametrize("path", ["/cr-in-reason", "/cr-in-header", "/early-hints", "/switch"])
def test_in_process_answers_http_cannot_carry_are_a_502(
    hostile_in_process_front: Front, path: str
) -> None:
    answer = get(hostile_in_process_front, path)
    assert status_of(answer) == 502, answer
    assert b"X-Injected" not in answer
    assert b"admin=1" not in answer


@pytest.mark.parametrize(
    "body",
    [
        b"5\r\nhelloXX0\r\n\r\n",  # no CRLF after the chunk data
        b"zz\r\nhello\r\n0\r\n\r\n",  # not a chunk size
        b"5\r\nhel",  # the client hangs up mid-chunk
    ],
)
def test_a_bad_chunked_body_from_the_client_is_a_400_not_a_500(
    every_front: Front, body: bytes
) -> None:
    front = every_front
    raw = (
        b"POST /legacy/form HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: text/plain\r\n\r\n" + body
    )
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer, "the front closed without answering"
    assert status_of(answer) == 400, answer


# Finding 5: slow clients.


@pytest.fixture(
    scope="module",
    params=[(app, transport) for app in APPS for transport in ("http", "in-process")],
    ids=lambda param: "-".join(param),
)
def impatient_front(recorder: RecordingServer, request: pytest.FixtureRequest) -> Iterator[Front]:
    """A front that waits at most one second for each piece of a client's body."""
    app, transport = request.param
    upstream = recorder.url if transport == "http" else "wsgi:tests.legacy_wsgi:app"
    extra = json.dumps({"CLIENT_BODY_TIMEOUT": 1.0})
    with running_front(upstream, {"STRANGLER_TEST_EXTRA": extra}, app=APPS[app]) as server:
        yield server


def test_slow_clients_get_a_408_and_never_hold_an_upstream_thread(
    impatient_front: Front, recorder: RecordingServer
) -> None:
    before = len(recorder.requests)
    clients = []
    for number in range(5):
        sock = socket.create_connection(("127.0.0.1", impatient_front.port), timeout=8)
        sock.sendall(
            f"POST /legacy/slow/{number} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Length: 1000\r\n\r\nabc".encode()
        )
        clients.append(sock)
    try:
        for sock in clients:
            answer = b""
            while chunk := sock.recv(65536):  # the front closes the connection after it
                answer += chunk
            assert status_of(answer) == 408, answer
    finally:
        for sock in clients:
            sock.close()
    # Not one of them reached the upstream: no Flask thread waited on a slow client.
    assert requests_after(recorder, before) == []
    answer = get(impatient_front, "/legacy/after")
    assert status_of(answer) == 200, answer


def test_a_client_stalling_in_a_large_body_gets_a_408(impatient_front: Front) -> None:
    # Larger than the piece read ahead: the upstream request has begun when it stalls.
    with socket.create_connection(("127.0.0.1", impatient_front.port), timeout=8) as sock:
        sock.sendall(
            b"PUT /legacy/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n"
            + b"x" * 200_000
        )
        started = time.monotonic()
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert status_of(answer) == 408, answer
    assert time.monotonic() - started < 6
