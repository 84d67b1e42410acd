"""The in-process transport under ASGI: the WSGI app runs in a bounded thread pool.

A WSGI app blocks (it reads its body, queries its database, sleeps between
server-sent events), so under ASGI it must never run on the event loop.
This wraps the synchronous :class:`~strangler.forwarding.wsgi.WsgiTransport`,
so the app is called with exactly the environ it gets under WSGI.

Each request runs start to end in ONE thread of a pool of ``ASGI_THREADS``:
the call, every ``next()`` of its response iterable and its ``close()``, as
a WSGI server would run it. That matters: Flask's ``stream_with_context``
keeps the request context in context variables, and legacy code keeps
thread-locals (a ``scoped_session``); moving one request between threads
would lose both mid-stream. The thread hands each piece to the loop through
a small queue (so a slow client slows the app down instead of filling
memory), and the client's body travels the other way: the app's
``wsgi.input.read()`` waits for the loop to receive the next piece.

The pool is bounded so that a burst of slow in-process requests queues
instead of starting threads without limit; a request waits for a thread,
the loop keeps serving everything else.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .async_http import AsyncUpstreamResponse
from .messages import UpstreamRequest, UpstreamResponse
from .wsgi import WsgiTransport

_END = object()
# Pieces waiting for the client, per request: enough to keep both sides busy.
_QUEUED = 4


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
        """Start the app in a pool thread; return once it has started its response."""
        loop = asyncio.get_running_loop()
        if body is not None:
            request.body = _blocking_chunks(body.__aiter__(), loop)
        head: asyncio.Future[UpstreamResponse] = loop.create_future()
        pieces: asyncio.Queue[Any] = asyncio.Queue()
        # At most _QUEUED pieces wait for the client: the thread takes a slot
        # per piece and the loop gives it back once the piece is sent on, so
        # the thread hands pieces over without waiting for the loop each time.
        slots = threading.Semaphore(_QUEUED)
        stop = threading.Event()

        def offer(item: object) -> bool:
            # From the app's thread: False once nobody reads any more.
            slots.acquire()
            if stop.is_set():
                return False
            try:
                loop.call_soon_threadsafe(pieces.put_nowait, item)
            except RuntimeError:  # the loop is gone (server shutting down)
                return False
            return True

        def run() -> None:
            # In the pool thread: the whole life of the request.
            try:
                upstream = self.transport.send(request)
            except BaseException as exc:  # handed to the loop, raised there
                loop.call_soon_threadsafe(_settle, head, None, exc)
                return
            loop.call_soon_threadsafe(_settle, head, upstream, None)
            try:
                for chunk in upstream.body:
                    if chunk and not offer(bytes(chunk)):
                        return
                offer(_END)
            except BaseException as exc:
                offer(exc)
            finally:
                upstream.close()

        self.executor.submit(run)
        upstream = await head

        async def stream() -> AsyncIterator[bytes]:
            while True:
                item = await pieces.get()
                slots.release()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item

        async def aclose() -> None:
            # The client is done (or gone): the thread stops after the piece
            # the app is producing now, and closes the app's iterable itself.
            stop.set()
            slots.release()  # a thread waiting for a slot wakes, sees stop, and ends

        return AsyncUpstreamResponse(
            status=upstream.status,
            reason=upstream.reason,
            headers=upstream.headers,
            body=stream(),
            aclose=aclose,
        )


def _settle(
    future: asyncio.Future[UpstreamResponse],
    result: UpstreamResponse | None,
    error: BaseException | None,
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)


def _blocking_chunks(
    body: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop
) -> Iterator[bytes]:
    """The client's body as a blocking iterator, for the app's thread.

    Each piece is received on the loop; the thread waits for it.
    """
    while True:
        chunk = asyncio.run_coroutine_threadsafe(_next_piece(body), loop).result()
        if chunk is None:
            return
        yield chunk


async def _next_piece(body: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await body.__anext__()
    except StopAsyncIteration:
        return None
