"""The in-process transport under ASGI: the WSGI app runs in a bounded thread pool.

A WSGI app blocks (it reads its body, queries its database, sleeps between
server-sent events), so under ASGI it must never run on the event loop.
This wraps the synchronous :class:`~strangler.forwarding.wsgi.WsgiTransport`,
so the app is called with exactly the environ it gets under WSGI, and moves
every blocking step into a pool of ``ASGI_THREADS`` threads: the call, each
``next()`` of its response iterable, and its ``close()``. The client's body
travels the other way: the app's ``wsgi.input.read()`` in its thread waits
for the loop to receive the next piece from the client.

The pool is bounded so that a burst of slow in-process requests queues
instead of starting threads without limit; a request waits for a thread,
the loop keeps serving everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

from .async_http import AsyncUpstreamResponse
from .messages import UpstreamRequest
from .wsgi import WsgiTransport

_END = object()


class AsyncWsgiTransport:
    """Send :class:`UpstreamRequest` objects to an in-process WSGI app from an event loop."""

    def __init__(self, transport: WsgiTransport, *, threads: int) -> None:
        self.transport = transport
        self.name = transport.name
        self.executor = ThreadPoolExecutor(
            max_workers=max(threads, 1), thread_name_prefix="strangler-wsgi"
        )

    def close(self) -> None:
        """Let the threads finish their current work and end (settings changed)."""
        self.executor.shutdown(wait=False)

    async def send(
        self, request: UpstreamRequest, body: AsyncIterable[bytes] | None
    ) -> AsyncUpstreamResponse:
        """Call the app in a pool thread; return once it has started its response."""
        loop = asyncio.get_running_loop()
        if body is not None:
            request.body = _blocking_chunks(body.__aiter__(), loop)
        upstream = await loop.run_in_executor(self.executor, self.transport.send, request)
        chunks = iter(upstream.body)
        closed = False
        pending: asyncio.Future[object] | None = None

        async def aclose() -> None:
            nonlocal closed
            if closed:
                return
            closed = True
            if pending is not None and not pending.done():
                # The client left while the app was producing a piece (an SSE
                # stream waiting for its next event): its iterable cannot be
                # closed from another thread while it runs, so wait for it.
                with contextlib.suppress(Exception):
                    await asyncio.shield(pending)
            await loop.run_in_executor(self.executor, upstream.close)

        async def stream() -> AsyncIterator[bytes]:
            nonlocal pending
            try:
                while True:
                    pending = loop.run_in_executor(self.executor, next, chunks, _END)
                    chunk = await pending
                    if chunk is _END:
                        break
                    assert isinstance(chunk, bytes | bytearray)
                    if chunk:
                        yield bytes(chunk)
            finally:
                await aclose()

        return AsyncUpstreamResponse(
            status=upstream.status,
            reason=upstream.reason,
            headers=upstream.headers,
            body=stream(),
            aclose=aclose,
        )


def _blocking_chunks(
    body: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop
) -> Iterator[bytes]:
    """The client's body as a blocking iterator, for the app's thread.

    Each piece is received on the loop; the thread waits for it.
    """
    while True:
        future = asyncio.run_coroutine_threadsafe(_next_piece(body), loop)
        chunk = future.result()
        if chunk is None:
            return
        yield chunk


async def _next_piece(body: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await body.__anext__()
    except StopAsyncIteration:
        return None
