"""One upstream connection's bytes on the event loop: a receive buffer the loop reads into.

Why not asyncio's ``StreamReader``: every byte it receives is copied three
times in the front's process (the loop's read buffer into a new ``bytes``,
that into the reader's ``bytearray``, a slice of it out to the caller), and
at 1 GB/s those copies were most of the front's user CPU on a download
(measured with ``benchmarks/forwarding.py``; the commit adding this module
has the figures). As a ``BufferedProtocol`` the loop receives straight into
:attr:`UpstreamStream.buffer` (``recv_into``), and a body piece is copied
once, when the transport hands it to the ASGI server.

The buffer has a fixed size; reading from the socket pauses while less than
:data:`MIN_FREE` of it is free and resumes when the reader waits for more,
so a slow client holds the upstream back instead of growing memory.
"""

from __future__ import annotations

import asyncio
from typing import cast

#: Reading pauses while less than this is free in the buffer.
MIN_FREE = 64 * 1024


class UpstreamStream(asyncio.BufferedProtocol):
    """The protocol of one upstream connection: received bytes in one buffer, write flow control.

    Unread bytes are ``buffer[start:end]``; the reader advances ``start``
    itself (no copy) and calls :meth:`wait_for_data` when it needs more.
    """

    def __init__(self, size: int) -> None:
        self.buffer = bytearray(size)
        self.start = 0
        self.end = 0
        self.transport: asyncio.Transport | None = None
        self._eof = False
        self._lost: BaseException | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    # --- the loop's side ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A socket transport (uvloop's are not asyncio.Transport subclasses).
        self.transport = cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.start == self.end:
            self.start = self.end = 0
        elif len(self.buffer) - self.end < MIN_FREE:
            # Move the unread tail (a part of a line or of a chunk) to the front.
            unread = self.end - self.start
            self.buffer[:unread] = self.buffer[self.start : self.end]
            self.start, self.end = 0, unread
        return memoryview(self.buffer)[self.end :]

    def buffer_updated(self, nbytes: int) -> None:
        self.end += nbytes
        if len(self.buffer) - (self.end - self.start) < MIN_FREE and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake_reader()
        return False  # close the transport: a response never needs a half-open one

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc or ConnectionResetError("the upstream closed the connection")
        self._wake_reader()
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_exception(self._lost)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._drain_waiter is not None and not self._drain_waiter.done():
            self._drain_waiter.set_result(None)

    def _wake_reader(self) -> None:
        if self._data_waiter is not None and not self._data_waiter.done():
            self._data_waiter.set_result(None)

    # --- the reader's side -------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Bytes received and not read yet."""
        return self.end - self.start

    @property
    def at_eof(self) -> bool:
        """The upstream closed its side (what it sent before may still be unread)."""
        return self._eof

    def take(self, size: int) -> bytes:
        """Up to ``size`` unread bytes, copied out of the buffer."""
        size = min(size, self.end - self.start)
        data = bytes(memoryview(self.buffer)[self.start : self.start + size])
        self.start += size
        return data

    def find(self, separator: bytes, within: int) -> int:
        """Where ``separator`` ends among the first ``within`` unread bytes, or -1."""
        found = self.buffer.find(separator, self.start, min(self.end, self.start + within))
        return -1 if found < 0 else found + len(separator) - self.start

    async def wait_for_data(self, timeout: float | None) -> bool:
        """Wait until more bytes arrive (True) or the upstream closes (False).

        Raises ``TimeoutError`` after ``timeout`` seconds of silence.
        """
        if self._eof:
            return False
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        waiter = self._data_waiter = asyncio.get_running_loop().create_future()
        before = self.end - self.start
        try:
            async with asyncio.timeout(timeout):
                await waiter
        finally:
            self._data_waiter = None
        return self.end - self.start > before or not self._eof

    async def drain(self, timeout: float | None) -> None:
        """Wait until the transport has taken the written bytes down to its low-water mark."""
        if self._lost is not None:
            raise self._lost
        if not self._writing_paused:
            return
        waiter = self._drain_waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await waiter
        finally:
            self._drain_waiter = None
