"""``forwarding/async_http.py``: the async transport against a server that answers raw bytes."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Iterator

import pytest

from strangler.forwarding.async_http import AsyncHttpTransport, AsyncUpstreamResponse
from strangler.forwarding.errors import UpstreamStreamError, UpstreamTimeout, UpstreamUnavailable
from strangler.forwarding.messages import UpstreamRequest
from strangler.forwarding.upstream import parse_upstream
from tests.conftest import free_port
from tests.tls import TlsUpstream
from tests.upstream import RecordingServer

pytestmark = pytest.mark.timeout(30)

OK = RecordingServer.OK


def transport_for(url: str, **options: float | str | None) -> AsyncHttpTransport:
    upstream = parse_upstream(url)
    assert not isinstance(upstream, str)
    return AsyncHttpTransport(upstream, **options)  # type: ignore[arg-type]


def request(
    target: str = "/x",
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    content_length: int | None = None,
) -> UpstreamRequest:
    return UpstreamRequest(
        method=method, target=target, headers=headers or [], content_length=content_length
    )


async def read_all(response: AsyncUpstreamResponse) -> bytes:
    return b"".join([chunk async for chunk in response.body])


@pytest.fixture
def recorder_factory() -> Iterator[list[RecordingServer]]:
    servers: list[RecordingServer] = []
    yield servers
    for server in servers:
        server.stop()


def serve(
    servers: list[RecordingServer], response: bytes = OK, **options: object
) -> RecordingServer:
    server = RecordingServer(response=response, **options)  # type: ignore[arg-type]
    servers.append(server)
    return server


def run(transport: AsyncHttpTransport, scenario) -> object:
    async def main() -> object:
        try:
            return await scenario()
        finally:
            await transport.aclose()

    return asyncio.run(main())


def test_target_and_headers_go_out_as_given(recorder_factory: list[RecordingServer]) -> None:
    server = serve(recorder_factory)
    transport = transport_for(server.url + "/base")
    # The core's target already carries the base path; the transport adds nothing.
    target = "/base/a%2fb/c+d?x=%2f&flag&y=1&y=2"

    async def scenario() -> bytes:
        sent = request(target, headers=[("X-One", "1"), ("X-Rep", "a"), ("X-Rep", "b")])
        return await read_all(await transport.send(sent, None))

    assert run(transport, scenario) == b"ok"
    recorded = server.requests[0]
    assert recorded.request_line == f"GET {target} HTTP/1.1".encode()
    # Nothing invented: no User-Agent, Accept or Accept-Encoding of a client library's own.
    names = [name.lower() for name, _ in recorded.headers]
    assert names == [b"host", b"x-one", b"x-rep", b"x-rep"]


BIG = 8 << 20


def test_keep_alive_connection_is_reused_only_after_a_full_read(
    recorder_factory: list[RecordingServer],
) -> None:
    # Large enough that closing early leaves most of it unread on the wire.
    server = serve(
        recorder_factory, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BIG + b"b" * BIG
    )
    transport = transport_for(server.url)

    async def scenario() -> None:
        for _ in range(3):
            await read_all(await transport.send(request(), None))
        assert server.connections == 1
        # Closed before its body was read: that connection must not be reused.
        response = await transport.send(request(), None)
        await response.aclose()
        await read_all(await transport.send(request(), None))

    run(transport, scenario)
    assert server.connections == 2


def test_body_shorter_than_its_content_length_is_an_error(
    recorder_factory: list[RecordingServer],
) -> None:
    server = serve(
        recorder_factory, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", close_after=True
    )
    transport = transport_for(server.url)

    async def scenario() -> None:
        response = await transport.send(request(), None)
        with pytest.raises(UpstreamStreamError):
            await read_all(response)

    run(transport, scenario)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    ],
    ids=["cl-and-te", "two-lengths", "negative-length", "bad-header", "garbage", "unasked-101"],
)
def test_ambiguous_or_broken_answers_are_502(
    recorder_factory: list[RecordingServer], answer: bytes
) -> None:
    server = serve(recorder_factory, answer, close_after=True)
    transport = transport_for(server.url)

    async def scenario() -> None:
        with pytest.raises(UpstreamUnavailable):
            await transport.send(request(), None)

    run(transport, scenario)


def test_interim_answers_are_skipped(recorder_factory: list[RecordingServer]) -> None:
    server = serve(
        recorder_factory,
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 100 Continue\r\n\r\n" + OK,
    )
    transport = transport_for(server.url)

    async def scenario() -> tuple[int, bytes]:
        response = await transport.send(request(), None)
        return response.status, await read_all(response)

    assert run(transport, scenario) == (200, b"ok")


def test_a_dropped_request_is_not_sent_again(recorder_factory: list[RecordingServer]) -> None:
    """The upstream read the request and closed: it may have processed it; say 502, once."""
    server = serve(recorder_factory, drop_after=0)
    transport = transport_for(server.url)

    async def scenario() -> None:
        with pytest.raises(UpstreamUnavailable):
            await transport.send(request(method="GET"), None)

    run(transport, scenario)
    assert len(server.requests) == 1


def test_refused_connection_is_502() -> None:
    transport = transport_for(f"http://127.0.0.1:{free_port()}")

    async def scenario() -> None:
        with pytest.raises(UpstreamUnavailable, match="refused"):
            await transport.send(request(), None)

    run(transport, scenario)


def test_silent_upstream_is_504(recorder_factory: list[RecordingServer]) -> None:
    server = serve(recorder_factory, b"")
    transport = transport_for(server.url, read_timeout=0.5)

    async def scenario() -> None:
        with pytest.raises(UpstreamTimeout):
            await transport.send(request(), None)

    run(transport, scenario)


@pytest.mark.parametrize("length", [None, 300_000])
def test_body_streams_with_the_clients_framing(
    recorder_factory: list[RecordingServer], length: int | None
) -> None:
    server = serve(recorder_factory)
    transport = transport_for(server.url)
    pieces = [bytes([i]) * 100_000 for i in range(3)]

    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    async def scenario() -> bytes:
        sent = request(method="POST", content_length=length)
        return await read_all(await transport.send(sent, body()))

    assert run(transport, scenario) == b"ok"
    recorded = server.requests[0]
    headers = {name.lower(): value for name, value in recorded.headers}
    if length is None:
        assert headers[b"transfer-encoding"] == b"chunked"
        assert b"content-length" not in headers
        # Re-framed in chunks of at most CHUNK_SIZE (64 KiB), like the blocking transport's.
        sizes: list[int] = []
        data, rest = b"", recorded.body
        while True:
            line, _, rest = rest.partition(b"\r\n")
            sizes.append(int(line, 16))
            data, rest = data + rest[: sizes[-1]], rest[sizes[-1] + 2 :]
            if not sizes[-1]:
                break
        assert data == b"".join(pieces)
        assert max(sizes) == 64 * 1024
    else:
        assert headers[b"content-length"] == str(length).encode()
        assert recorded.body == b"".join(pieces)


def test_a_chunked_answer_is_read_to_its_end_across_reads() -> None:
    """The last chunk arriving after the data, on a kept-alive connection, ends the body."""
    pieces = [b"a" * 70_000, b"b" * 10, b"c" * 300_000]

    handlers: list[asyncio.Task[None]] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in pieces:
                writer.write(b"%x\r\n%b\r\n" % (len(piece), piece))
                await writer.drain()
                await asyncio.sleep(0.01)
            writer.write(b"0\r\n")
            await asyncio.sleep(0.01)
            writer.write(b"\r\n")  # no trailers; the connection stays open

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await answer(reader, writer)
        except asyncio.IncompleteReadError:
            pass  # the transport closed its idle connection
        finally:
            writer.close()

    async def scenario() -> tuple[list[bytes], list[int], int]:
        server = await asyncio.start_server(upstream, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        transport = transport_for(f"http://127.0.0.1:{port}")
        try:
            bodies: list[bytes] = []
            sizes: list[int] = []
            for _ in range(2):
                response = await transport.send(request(), None)
                received = [piece async for piece in response.body]
                sizes.extend(len(piece) for piece in received)
                bodies.append(b"".join(received))
            return bodies, sizes, len(transport._idle[asyncio.get_running_loop()])
        finally:
            await transport.aclose()
            server.close()
            await asyncio.gather(*handlers)

    bodies, sizes, idle = asyncio.run(scenario())
    assert bodies == [b"".join(pieces)] * 2
    assert idle == 1, "read to its end, the connection went back to the pool"
    assert max(sizes) <= 256 * 1024, "pieces are bounded by the receive buffer"


def test_https_upstream_is_verified_and_streams(tls_upstream: TlsUpstream) -> None:
    transport = transport_for(tls_upstream.url, ca_bundle=str(tls_upstream.trusted))
    upload = [b"u" * 100_000] * 3

    async def body() -> AsyncIterator[bytes]:
        for piece in upload:
            yield piece

    async def scenario() -> tuple[int, bytes, bytes]:
        try:
            download = await transport.send(request("/stream?size=300000"), None)
            downloaded = await read_all(download)
            echo = await transport.send(request("/echo", method="POST"), body())
            return download.status, downloaded, await read_all(echo)
        finally:
            await transport.aclose()

    status, downloaded, echoed = asyncio.run(scenario())
    assert (status, len(downloaded)) == (200, 300_000)
    assert json.loads(echoed)["body_length"] == 300_000


@pytest.mark.parametrize("trust", ["system", "other-ca"])
def test_https_upstream_with_an_untrusted_certificate_is_502(
    tls_upstream: TlsUpstream, trust: str
) -> None:
    """Verification fails closed: no answer is read, nothing is sent in plain text."""
    bundle = None if trust == "system" else str(tls_upstream.untrusted)
    transport = transport_for(tls_upstream.url, ca_bundle=bundle)

    async def scenario() -> UpstreamUnavailable:
        with pytest.raises(UpstreamUnavailable) as failure:
            await transport.send(request("/echo"), None)
        return failure.value

    failure = run(transport, scenario)
    assert isinstance(failure, UpstreamUnavailable)
    assert failure.status == 502
    assert isinstance(failure.__cause__, ssl.SSLCertVerificationError)
