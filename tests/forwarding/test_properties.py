"""Properties of the front door, tried with generated requests through live gunicorn fronts.

Hypothesis generates request targets (any byte percent-encoded, slashes, dot
segments, unicode, control characters, query strings), header sets
(``Connection`` naming framing headers, duplicates, spellings of the identity
header, ``Forwarded`` and ``X-Forwarded-*``), bodies (Content-Length and
chunked, bodies that are themselves requests) and upstream answers (1xx,
101, odd reason phrases, bare CRs, every way of framing a body, right and
wrong). Whatever comes, through the middleware and the WSGI fast path:

* the upstream is the configured one, and receives exactly one request per
  client request, with the client's method and raw target, or the front
  answers itself (a 400 for what it refuses, Django for what it owns) and
  the upstream receives nothing;
* the front never answers 500 (nor any 5xx while the upstream answers well);
* the identity header Flask receives is the one the front signed for that
  exact request, never the client's;
* Flask never runs a route Django owns (``/billing/**`` by rule, the URLconf's
  ``/ported/`` and ``/items/<id>/``), whatever spelling of the path reached it:
  Werkzeug's own ``url_map`` says which route a received path matches;
* an upstream answer reaches the client exact, or as a 502 or a cut
  connection when it is malformed, and never spills into the next answer.

A raw recording upstream (tests/reliability/wire.py) sees the bytes; a real
Flask app (tests/reliability/legacy.py) on Werkzeug's server and in-process
says which route it ran. Examples are derandomized so CI sees the same ones;
``--hypothesis-show-statistics`` shows what happened to them. The inputs of
issue 7's findings and of the failures these properties found are pinned
below (``pinned``): strict xfails while tests/reliability/known_failing.py
lists them, plain regression cases once fixed (all of them are, now).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from strangler.identity.tokens import TokenVerifier, bound_target, load_verifying_key
from tests.conftest import Front
from tests.reliability.conftest import IN_PROCESS, start_reliability_front, stop_front
from tests.reliability.known_failing import pinned
from tests.reliability.legacy import DJANGO_OWNED_ENDPOINTS, IDENTITY_HEADER, create_app
from tests.reliability.wire import OK, Cut, RawRequest, RawResponse, RawUpstream, exchange
from tests.upstream import RunningServer, serve

pytestmark = pytest.mark.timeout(300)

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- strategies -------------------------------------------------------------------------------

# Path pieces an attacker spells a path with: every byte percent-encoded in
# either case, dot segments, empty segments, Django-owned prefixes, unicode
# sent raw (UTF-8) or encoded, and raw control characters.
_SAFE = "abcxyz019-._~!$&'()*+,;=:@"
_text = st.text(alphabet=_SAFE, min_size=1, max_size=6)
# Any byte percent-encoded, in either case; control bytes come through
# _separators, less often, since the front refuses them on sight.
_escaped = st.integers(0x20, 0xFF).map(lambda b: f"%{b:02X}") | st.integers(0x20, 0xFF).map(
    lambda b: f"%{b:02x}"
)
_tricky = st.sampled_from(
    ["", ".", "..", "%2e", "%2E%2E", "billing", "BILLING", "ported", "items", "01", "/"]
)
_separators = st.sampled_from(["%2f", "%2F", "%5c", "\\", "%20", ";x", "%00", "%0a", "%0d", "%7f"])
_unicode = st.characters(min_codepoint=0xA0, max_codepoint=0x2FFF, exclude_categories=["Cs"])
_piece = st.one_of(
    _text,
    _escaped,
    _tricky,
    _separators,
    _unicode.map(lambda c: "".join(f"%{b:02X}" for b in c.encode())),
)
# Bytes a server's request-line parser refuses (raw non-ASCII, controls, space):
# one now and then, so most requests get past it to the front's own rules.
_raw_piece = st.one_of(
    _unicode.map(lambda c: c.encode().decode("latin-1")),
    st.sampled_from(["\x00", "\x01", "\x7f", "\t", " "]),
)
_segment = st.lists(_piece, min_size=1, max_size=3).map("".join)
_query = st.lists(
    st.one_of(_piece, st.sampled_from(["&", "=", "?", "/", "+", "%26", "#"])), max_size=5
).map("".join)


@st.composite
def targets(draw: st.DrawFn) -> bytes:
    """An origin-form request target, as the bytes of the request line."""
    prefix = draw(st.sampled_from(["", "", "/billing", "//billing", "/items", "/ported"]))
    path = prefix + "/" + "/".join(draw(st.lists(_segment, min_size=1, max_size=5)))
    if draw(st.booleans()):
        path += "?" + draw(_query)
    # One target in ten (Hypothesis favours the ends of a range, so not ``== 0``).
    if draw(st.sampled_from([False] * 4 + [True] + [False] * 5)):
        at = draw(st.integers(1, len(path)))
        path = path[:at] + draw(_raw_piece) + path[at:]
    return path.encode("latin-1")


METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]

# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signing_keys() -> tuple[str, str]:
    from strangler.identity.tokens import generate_key_pair

    private, public, _ = generate_key_pair("EdDSA")
    return private, public


@pytest.fixture(scope="module")
def verifier(signing_keys: tuple[str, str]) -> TokenVerifier:
    return TokenVerifier(
        [load_verifying_key(signing_keys[1])],
        algorithms=["EdDSA"],
        issuer="django",
        audience="flask",
    )


@pytest.fixture(scope="module")
def recorder() -> Iterator[RawUpstream]:
    server = RawUpstream()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["middleware", "fast"])
def raw_front(
    request: pytest.FixtureRequest, recorder: RawUpstream, signing_keys: tuple[str, str]
) -> Iterator[Front]:
    """A front (identity on, /billing/** Django's) before the raw recording upstream."""
    front = start_reliability_front(recorder.url, request.param, signing_key=signing_keys[0])
    yield front
    stop_front(front)


@pytest.fixture(scope="module")
def werkzeug_flask() -> Iterator[RunningServer]:
    """The legacy app on Werkzeug's server, which folds a leading '//' before routing."""
    server = serve(create_app())
    yield server
    server.stop()


FLASK_FRONTS = [("middleware", "http"), ("fast", "http"), ("middleware", "wsgi"), ("fast", "wsgi")]


@pytest.fixture(scope="module", params=FLASK_FRONTS, ids=["-".join(f) for f in FLASK_FRONTS])
def flask_front(
    request: pytest.FixtureRequest, werkzeug_flask: RunningServer, signing_keys: tuple[str, str]
) -> Iterator[Front]:
    """A front before the real Flask app: over HTTP (Werkzeug's server) or in-process."""
    entry, transport = request.param
    upstream = werkzeug_flask.url if transport == "http" else IN_PROCESS
    front = start_reliability_front(upstream, entry, signing_key=signing_keys[0])
    yield front
    stop_front(front)


# --- checks -----------------------------------------------------------------------------------

ROUTES = create_app().url_map.bind("127.0.0.1")


def flask_endpoints(target: bytes, method: str) -> set[str]:
    """The routes Flask's url_map runs for ``target``, read as the servers Flask runs on read it.

    A WSGI server percent-decodes the path; Werkzeug's own server also folds
    a leading run of slashes into one first. A redirect (Werkzeug's merged
    slashes, a missing trailing slash) runs no route.
    """
    raw_path = target.partition(b"?")[0]
    endpoints = set()
    for path in (raw_path, b"/" + raw_path.lstrip(b"/")):
        decoded = unquote_to_bytes(path).decode("utf-8", "replace")
        try:
            endpoint, _ = ROUTES.match(decoded, method=method)
        except (RequestRedirect, HTTPException):
            continue
        endpoints.add(str(endpoint))
    return endpoints


PROXY_DATA = {"forwarded", "x-real-ip", "x-original-url", "x-rewrite-url", "x-forwarded-port"}


def request_bytes(method: str, target: bytes, headers: list[tuple[str, str]], body: bytes) -> bytes:
    head = f"{method} ".encode() + target + b" HTTP/1.1\r\n"
    lines = [("Host", "127.0.0.1"), *headers, ("Connection", "close")]
    head += b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in lines)
    return head + b"\r\n" + body


def outcome(label: str) -> None:
    """Count what happened to generated requests (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        event(label)


def assert_no_server_error(response: RawResponse) -> None:
    assert response.status < 500, (response.status, response.body[:300])


def assert_signed_by_the_front(
    verifier: TokenVerifier, tokens: list[bytes], method: str, target: bytes
) -> None:
    """Exactly one identity token, minted by the front for exactly this request."""
    assert len(tokens) == 1, tokens
    binding = bound_target(target.decode("latin-1"))
    verifier.verify(tokens[0].decode("latin-1"), method=method, binding=binding)


def forwarded_once(
    front: Front, recorder: RawUpstream, verifier: TokenVerifier, method: str, data: bytes
) -> tuple[RawResponse, list]:
    """Send ``data``; check the one-request, same-upstream and identity rules; return both ends."""
    recorder.settle()
    before = len(recorder.requests)
    response = exchange(front.port, data, head=method == "HEAD")
    recorder.settle()
    received = recorder.requests[before:]
    why = response.body.split(b"\n", 1)[0][:60] if response.status == 400 else b""
    outcome(f"{'forwarded' if received else 'answered by the front'}: {response.status} {why!r}")
    assert_no_server_error(response)
    if response.header(b"X-Raw-Upstream"):
        assert len(received) == 1, [r.request_line for r in received]
        upstream = received[0]
        assert upstream.header(b"Host") == [recorder.netloc]
        assert_signed_by_the_front(
            verifier, upstream.header(IDENTITY_HEADER.encode()), method, upstream.target
        )
    else:
        assert received == [], [r.request_line for r in received]
    return response, received


# --- properties -------------------------------------------------------------------------------


def check_target(
    front: Front, recorder: RawUpstream, verifier: TokenVerifier, method: str, target: bytes
) -> None:
    _, received = forwarded_once(
        front, recorder, verifier, method, request_bytes(method, target, [], b"")
    )
    if received:
        assert received[0].method == method.encode()
        assert received[0].target == target
        owned = flask_endpoints(target, method) & DJANGO_OWNED_ENDPOINTS
        assert not owned, f"{target!r} reached Flask's {owned} route, which Django owns"


@PROPERTY
@given(method=st.sampled_from(METHODS), target=targets())
@example(method="GET", target=b"/legacy/a%2fb/%2F/c+d?x=%2f&flag&y=1&y=2")
@example(method="GET", target=b"/caf%C3%A9?q=%E9")
@example(method="POST", target=b"/billing%2f1")
@example(method="GET", target=b"/./billing/1")
@example(method="GET", target=b"/x/../billing/1")
def test_a_target_reaches_the_upstream_once_and_unchanged_or_is_refused(
    raw_front: Front, recorder: RawUpstream, verifier: TokenVerifier, method: str, target: bytes
) -> None:
    check_target(raw_front, recorder, verifier, method, target)


_framing_names = st.sampled_from(
    ["Content-Length", "Transfer-Encoding", "Host", IDENTITY_HEADER, "X-Forwarded-For", "TE"]
)
_ordinary = st.sampled_from(["X-Custom", "Accept", "Cookie", "X-Dup"])
_forwarded = st.sampled_from(
    [
        ("Forwarded", "for=6.6.6.6;host=evil.example;proto=https"),
        ("X-Forwarded-For", "6.6.6.6"),
        ("X-Forwarded-Host", "evil.example"),
        ("X-Forwarded-Proto", "gopher"),
        ("X-Forwarded-Port", "6666"),
        ("X-Forwarded-Prefix", "/evil"),
        ("X-Real-IP", "6.6.6.6"),
        ("X-Original-URL", "/billing/1"),
        ("X-Rewrite-URL", "/billing/1"),
    ]
)
_identity = st.sampled_from(
    [
        (IDENTITY_HEADER, "forged.token.value"),
        (IDENTITY_HEADER.lower(), "forged.token.value"),
        (IDENTITY_HEADER.upper(), "forged.token.value"),
        (IDENTITY_HEADER.replace("-", "_"), "forged.token.value"),
        (IDENTITY_HEADER + " ", "forged.token.value"),
    ]
)


@st.composite
def header_sets(draw: st.DrawFn) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    if draw(st.booleans()):
        tokens = draw(st.lists(st.one_of(_framing_names, _ordinary), min_size=1, max_size=3))
        headers.append(("Connection", ", ".join(tokens)))
    headers += draw(st.lists(_forwarded, max_size=3))
    headers += draw(st.lists(_identity, max_size=2))
    headers += [
        (name, draw(st.text(alphabet="abc ,;=", min_size=1, max_size=8)).strip() or "v")
        for name in draw(st.lists(_ordinary, max_size=3))
    ]
    return draw(st.permutations(headers))


SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Smuggled: 1\r\n\r\n"


def check_headers(
    front: Front,
    recorder: RawUpstream,
    verifier: TokenVerifier,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    sent = [*headers, ("Content-Length", str(len(body)))]
    data = request_bytes("POST", b"/legacy/headers", sent, body)
    response, received = forwarded_once(front, recorder, verifier, "POST", data)
    if not received:
        assert response.status == 400, response.status
        return
    upstream = received[0]
    assert upstream.body == body
    assert upstream.framing == "length" or body == b""
    for name, value in headers:
        if name.lower() in PROXY_DATA or (
            name.lower().startswith("x-forwarded-") and (name.lower() != "x-forwarded-for")
        ):
            # The client's claim about the proxy hop never reaches Flask as the hop's own.
            assert value.encode() not in upstream.header(name.encode()), (name, upstream.headers)
    for chain in upstream.header(b"X-Forwarded-For"):
        assert chain.rsplit(b",", 1)[-1].strip() == b"127.0.0.1", chain
    # One hop's fields stop here; an end-to-end field passes (repeated lines may
    # arrive joined by commas), unless Connection named it for this hop only.
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    for hop in (b"Connection", b"Keep-Alive", b"TE", b"Upgrade"):
        assert upstream.header(hop) == [], (hop, upstream.headers)
    for name in ("X-Custom", "Accept", "X-Dup"):
        sent_values = [v for n, v in headers if n == name]
        received_values = upstream.header(name.encode())
        if name.lower() in named:
            assert received_values == [], (name, upstream.headers)
        else:
            joined = b",".join(received_values).replace(b" ", b"")
            assert joined == ",".join(sent_values).replace(" ", "").encode(), (name, headers)


@PROPERTY
@given(headers=header_sets(), body=st.sampled_from([b"", b"hello", SMUGGLED]))
@example(headers=[("Connection", IDENTITY_HEADER), (IDENTITY_HEADER, "forged")], body=b"")
@example(headers=[("Connection", "X-Forwarded-For, Keep-Alive")], body=SMUGGLED)
def test_headers_cannot_unframe_the_body_forge_identity_or_pose_as_the_proxy(
    raw_front: Front,
    recorder: RawUpstream,
    verifier: TokenVerifier,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    check_headers(raw_front, recorder, verifier, headers, body)


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, list[int] | None]:
    """A body and, for a chunked upload, the sizes of its chunks (None: Content-Length)."""
    body = draw(st.binary(max_size=3000) | st.sampled_from([SMUGGLED, b"0\r\n\r\n" + SMUGGLED]))
    if not draw(st.booleans()):
        return body, None
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=4)))
    sizes = [b - a for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return body, [size for size in sizes if size]


def frame(body: bytes, chunks: list[int] | None) -> tuple[list[tuple[str, str]], bytes]:
    if chunks is None:
        return [("Content-Length", str(len(body)))], body
    framed, start = b"", 0
    for size in chunks:
        framed += b"%x\r\n%b\r\n" % (size, body[start : start + size])
        start += size
    return [("Transfer-Encoding", "chunked")], framed + b"0\r\n\r\n"


@PROPERTY
@given(method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]), upload=bodies())
def test_a_body_reaches_the_upstream_whole_and_framed_by_the_front(
    raw_front: Front,
    recorder: RawUpstream,
    verifier: TokenVerifier,
    method: str,
    upload: tuple[bytes, list[int] | None],
) -> None:
    body, chunks = upload
    headers, framed = frame(body, chunks)
    data = request_bytes(method, b"/legacy/upload", headers, framed)
    response, received = forwarded_once(raw_front, recorder, verifier, method, data)
    assert received, response.status
    upstream = received[0]
    assert upstream.body == body
    lengths = upstream.header(b"Content-Length")
    chunked = upstream.header(b"Transfer-Encoding")
    # Exactly one framing, the front's own (RFC 9112 §6.1: never both).
    assert bool(lengths) != bool(chunked) or (not body and not chunked)
    if lengths:
        assert lengths == [str(len(body)).encode()]


FLASK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


# The last call count each front's Flask app reported (see legacy.echo).
ECHO_CALLS: dict[int, int] = {}


def check_flask_route(front: Front, verifier: TokenVerifier, method: str, target: bytes) -> None:
    response = exchange(front.port, request_bytes(method, target, [], b""))
    assert_no_server_error(response)
    if response.header(b"Content-Type") != [b"application/json"]:
        outcome(f"{response.status} {response.header(b'Content-Type')}")
        return  # Django's own answer, a refusal, or a redirect from Flask's router
    answer = json.loads(response.body)
    endpoint = answer.get("endpoint")
    outcome(f"{response.status} from Flask's {endpoint or 'Django'} route")
    assert endpoint not in DJANGO_OWNED_ENDPOINTS, (target, answer)
    if endpoint == "echo":
        assert answer["method"] == method
        # The raw target, as the app's server gives it (Werkzeug's folds a leading '//').
        raw = answer["raw_uri"].encode("latin-1")
        assert raw in (target, b"/" + target.lstrip(b"/")), (raw, target)
        # One call of the app per client request: its count of calls moves by one
        # (only this test's requests reach this front's Flask).
        previous = ECHO_CALLS.get(front.process.pid)
        assert previous is None or answer["sequence"] == previous + 1, (previous, answer)
        ECHO_CALLS[front.process.pid] = answer["sequence"]
        assert_signed_by_the_front(
            verifier, [token.encode("latin-1") for token in answer["identity"]], method, target
        )


@PROPERTY
@given(method=st.sampled_from(FLASK_METHODS), target=targets())
@example(method="GET", target=b"/items/01/")
@example(method="GET", target=b"/ported//")
def test_flask_never_runs_a_route_django_owns(
    flask_front: Front, verifier: TokenVerifier, method: str, target: bytes
) -> None:
    check_flask_route(flask_front, verifier, method, target)


# --- the findings' own inputs, pinned ---------------------------------------------------------


TARGET_CASES = [
    pinned(2, b"//billing/1"),
    pinned(2, b"///billing/1"),
    pinned(9, b"/caf%E9"),
    pinned(9, b"/x%FF/y?q=1"),
    pinned("fragment", b"/?#"),
    pinned("fragment", b"/legacy/x#/../billing/1"),
]


@pytest.mark.parametrize("target", TARGET_CASES)
def test_findings_targets_through_the_raw_upstream(
    raw_front: Front, recorder: RawUpstream, verifier: TokenVerifier, target: bytes
) -> None:
    check_target(raw_front, recorder, verifier, "GET", target)


@pytest.mark.parametrize(
    "target",
    [
        pinned(2, b"//billing/1"),
        pinned(2, b"///billing/1"),
        pinned(2, b"/%2fbilling/1"),
    ],
)
def test_findings_targets_through_flask(
    flask_front: Front, verifier: TokenVerifier, target: bytes
) -> None:
    check_flask_route(flask_front, verifier, "GET", target)


HEADER_CASES = [
    pinned(1, [("Connection", "Content-Length")], SMUGGLED),
    pinned(1, [("Connection", "Host, Content-Length")], SMUGGLED),
    pinned(1, [("Connection", "content-length"), ("X-Dup", "a")], b"hello"),
    pinned(8, [("Forwarded", "for=6.6.6.6;host=evil.example")], b""),
    pinned(8, [("X-Real-IP", "6.6.6.6")], b""),
    pinned(8, [("X-Forwarded-Port", "6666")], b""),
    pinned(8, [("X-Original-URL", "/billing/1")], b""),
]


@pytest.mark.parametrize(("headers", "body"), HEADER_CASES)
def test_findings_headers_through_the_raw_upstream(
    raw_front: Front,
    recorder: RawUpstream,
    verifier: TokenVerifier,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    check_headers(raw_front, recorder, verifier, headers, body)


# --- what the upstream answers ----------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamAnswer:
    """An answer the raw upstream sends, and what a client may see of it."""

    wire: bytes
    # The upstream closes the connection after it (close-delimited or cut short).
    cut: bool
    # Well-framed: the client gets this status and body; None: malformed, so a
    # 502 or a connection cut before the framed end, never a complete-looking body.
    status: int | None
    reason: bytes
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]


_REASONS = {b"OK": True, b"": True, b"Custom Reason": True, b"caf\xe9": True, b"Bad\rReason": False}
_RESPONSE_HEADERS = {
    (b"X-A", b"1"): True,
    (b"Set-Cookie", b"a=1; Path=/"): True,
    (b"Set-Cookie", b"b=2; HttpOnly"): True,
    (b"Link", b"</style.css>; rel=preload"): True,
    (b"X-Bad", b"a\rSet-Cookie: forged=1"): False,
    (b"X-Nul", b"a\x00b"): False,
}
FRAMINGS = {
    "length": True,
    "chunked": True,
    "close": True,
    "longer": True,  # more bytes than Content-Length: the rest is not the body
    "short": False,  # fewer bytes than Content-Length, then the connection closes
    "conflicting-lengths": False,
    "length-and-chunked": False,
}


@st.composite
def upstream_answers(draw: st.DrawFn) -> UpstreamAnswer:
    interim = b"".join(
        b"HTTP/1.1 %d Interim\r\n%b\r\n" % (code, b"Link: </a>; rel=preload\r\n" * (code == 103))
        for code in draw(st.lists(st.sampled_from([100, 102, 103]), max_size=2))
    )
    # 101 cannot be carried by a WSGI server: a 502 (finding 3).
    status = draw(st.sampled_from([200, 201, 204, 302, 304, 404, 418, 101]))
    reason = draw(st.sampled_from(sorted(_REASONS)))
    headers = draw(st.lists(st.sampled_from(sorted(_RESPONSE_HEADERS)), max_size=3))
    framing = draw(st.sampled_from(sorted(FRAMINGS)))
    body = draw(st.binary(max_size=2000))
    if status in (101, 204, 304):
        framing, body = "length", b""
    well_formed = _REASONS[reason] and all(_RESPONSE_HEADERS[h] for h in headers)
    well_formed = well_formed and FRAMINGS[framing] and status != 101
    head = b"HTTP/1.1 %d %b\r\n" % (status, reason) + b"".join(
        name + b": " + value + b"\r\n" for name, value in headers
    )
    wire_body, seen = body, body
    match framing:
        case "length":
            head += b"Content-Length: %d\r\n" % len(body) if status not in (101, 204, 304) else b""
        case "chunked":
            head += b"Transfer-Encoding: chunked\r\n"
            wire_body = (b"%x\r\n%b\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
        case "close":
            head += b"Connection: close\r\n"
        case "longer":
            head += b"Content-Length: %d\r\n" % len(body)
            wire_body = body + b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
        case "short":
            head += b"Content-Length: %d\r\n" % (len(body) + 10)
        case "conflicting-lengths":
            head += b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(body), len(body) + 1)
        case "length-and-chunked":
            head += b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(body)
            wire_body = (b"%x\r\n%b\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    return UpstreamAnswer(
        wire=interim + head + b"\r\n" + wire_body,
        cut=framing in ("close", "short"),
        status=status if well_formed else None,
        reason=reason,
        body=seen,
        headers=tuple(headers),
    )


class ScriptedAnswers:
    """The raw upstream's answers: the one scripted for ``/scripted``, ``ok`` for the rest."""

    def __init__(self) -> None:
        self.next: UpstreamAnswer | None = None

    def __call__(self, request: RawRequest) -> bytes | Cut | None:
        if request.target == b"/scripted" and self.next is not None:
            return Cut(self.next.wire) if self.next.cut else self.next.wire
        return OK


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[RawUpstream, ScriptedAnswers]]:
    answers = ScriptedAnswers()
    server = RawUpstream(answer=answers)
    yield server, answers
    server.stop()


@pytest.fixture(scope="module", params=["middleware", "fast"])
def scripted_front(
    request: pytest.FixtureRequest, scripted: tuple[RawUpstream, ScriptedAnswers]
) -> Iterator[Front]:
    front = start_reliability_front(scripted[0].url, request.param)
    yield front
    stop_front(front)


def check_upstream_answer(
    front: Front, scripted: tuple[RawUpstream, ScriptedAnswers], answer: UpstreamAnswer
) -> None:
    upstream, answers = scripted
    answers.next = answer
    get = b"GET /scripted HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        response = exchange(front.port, get)
    except (ConnectionError, EOFError):
        response = None  # cut before a status line: never a wrong answer
    if response is not None:
        outcome(f"{response.status} complete={response.complete}")
        assert response.status != 500, response
        forged = (b"Set-Cookie", b"forged=1")
        assert forged not in response.headers, response.headers
        if answer.status is None:
            assert response.status == 502 or not response.complete, response
        else:
            assert response.status == answer.status, response
            assert response.reason == answer.reason or not answer.reason, response
            assert response.complete, response
            if answer.status not in (204, 304):
                assert response.body == answer.body
            cookies = [v for n, v in answer.headers if n == b"Set-Cookie"]
            assert response.header(b"Set-Cookie") == cookies
    # Whatever was left on the upstream connection, the next client gets its own answer.
    follow = exchange(front.port, b"GET /next HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert (follow.status, follow.body) == (200, b"ok"), follow
    upstream.settle()


@PROPERTY
@given(answer=upstream_answers())
def test_an_upstream_answer_arrives_exact_or_as_a_502_and_never_spills_over(
    scripted_front: Front, scripted: tuple[RawUpstream, ScriptedAnswers], answer: UpstreamAnswer
) -> None:
    check_upstream_answer(scripted_front, scripted, answer)


CUT_BEFORE_BODY = UpstreamAnswer(
    wire=b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n",
    cut=True,
    status=None,
    reason=b"OK",
    body=b"",
    headers=(),
)


@pytest.mark.parametrize("answer", [pinned("cut-before-body", CUT_BEFORE_BODY)])
def test_findings_upstream_answers(
    scripted_front: Front, scripted: tuple[RawUpstream, ScriptedAnswers], answer: UpstreamAnswer
) -> None:
    check_upstream_answer(scripted_front, scripted, answer)
