"""The in-process transport: call the Flask WSGI app directly, no socket.

The app sees the request it would have seen over HTTP: the same headers
(hop-by-hop dropped, ``X-Forwarded-*`` added, the identity token), the full
path in ``PATH_INFO`` with an empty ``SCRIPT_NAME`` (the app is not "mounted"
under a prefix, unlike Werkzeug's ``DispatcherMiddleware``), the raw target in
``RAW_URI``/``REQUEST_URI``, and a body that streams. Its response streams
back, and the iterable's ``close()`` is always called, as PEP 3333 requires.
"""

from __future__ import annotations

import io
import itertools
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from .errors import ForwardingError, UpstreamStreamError, UpstreamUnavailable
from .headers import environ_key
from .http11 import InvalidResponse, check_final_response, response_framing
from .messages import UpstreamRequest, UpstreamResponse
from .upstream import HttpUpstream

logger = logging.getLogger("strangler.forwarding")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]

# Server-level keys carried over from the front's environ.
_SERVER_KEYS = (
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "wsgi.errors",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "wsgi.run_once",
    "wsgi.url_scheme",
)


class ChunkReader(io.RawIOBase):
    """A readable file over an iterable of byte chunks (the forwarded body).

    Chunks are handed out through a memoryview, so a large chunk read in
    small pieces is not copied again for every piece.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        # The client's body failed (cut, malformed, too slow): whatever the app
        # made of that, the client's answer is this error.
        self.failure: ForwardingError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
            except ForwardingError as exc:
                self.failure = exc
                raise
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class WsgiTransport:
    """Send :class:`UpstreamRequest` objects to a WSGI app in this process."""

    def __init__(self, app: WSGIApp, *, name: str = "wsgi") -> None:
        self.app = app
        self.name = name
        # The app is not mounted under a prefix, and has no address to rewrite.
        self.base_path = ""
        self.address: HttpUpstream | None = None

    def close(self) -> None:
        """Nothing is held between requests."""

    def build_environ(self, request: UpstreamRequest) -> dict[str, Any]:
        """The environ the app is called with."""
        front = request.environ
        environ: dict[str, Any] = {key: front[key] for key in _SERVER_KEYS if key in front}
        path, _, query = request.target.partition("?")
        environ.update(
            {
                "REQUEST_METHOD": request.method,
                "SCRIPT_NAME": "",
                "PATH_INFO": unquote(path, encoding="latin-1") if "%" in path else path,
                "QUERY_STRING": query,
                "RAW_URI": request.target,
                "REQUEST_URI": request.target,
                "wsgi.version": (1, 0),
                "wsgi.input_terminated": True,
            }
        )
        environ.setdefault("wsgi.url_scheme", "http")
        environ.setdefault("wsgi.errors", sys.stderr)
        environ.setdefault("SERVER_PROTOCOL", "HTTP/1.1")
        for name, value in request.headers:
            key = environ_key(name)
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        # The client's Host: there is no upstream host to name instead.
        if request.host:
            environ["HTTP_HOST"] = request.host
        # The framing the front computed, as a WSGI server would give it.
        if request.content_length is not None:
            environ["CONTENT_LENGTH"] = str(request.content_length)
        if request.body is None:
            environ["wsgi.input"] = io.BytesIO(b"")
        else:
            environ["wsgi.input"] = io.BufferedReader(ChunkReader(request.body), 64 * 1024)
        return environ

    def send(self, request: UpstreamRequest) -> UpstreamResponse:
        """Call the app and return once it has started its response."""
        environ = self.build_environ(request)
        reader = getattr(environ["wsgi.input"], "raw", None)
        started: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: _ExcInfo | None = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and started.get("sent"):
                raise exc_info[1].with_traceback(exc_info[2])
            started["status"] = status
            started["headers"] = headers
            return written.append

        try:
            result = self.app(environ, start_response)
        except Exception as exc:
            _raise_body_failure(reader)
            logger.exception(
                "in-process upstream %s raised for %s %s", self.name, request.method, request.path
            )
            raise UpstreamUnavailable("the upstream application failed") from exc

        iterator = iter(result)
        first: list[bytes] = []
        # An app may call start_response lazily, from inside its iterable.
        try:
            while "status" not in started:
                try:
                    first.append(next(iterator))
                except StopIteration:
                    break
        except Exception as exc:
            _close(result)
            _raise_body_failure(reader)
            logger.exception(
                "in-process upstream %s raised for %s %s", self.name, request.method, request.path
            )
            raise UpstreamUnavailable("the upstream application failed") from exc
        if isinstance(reader, ChunkReader) and reader.failure is not None:
            # The app answered a body it could not read (Flask: its own 400 or
            # 500); the client gets the front's answer for what went wrong.
            _close(result)
            raise reader.failure
        if "status" not in started:
            _close(result)
            raise UpstreamUnavailable("the upstream application did not start a response")
        started["sent"] = True

        status_code, _, reason = started["status"].partition(" ")
        headers = list(started["headers"])
        try:
            status = int(status_code)
            check_final_response(status, reason, headers)
            # A declared length is a promise the body must keep, as over HTTP.
            framing, length = response_framing(status, headers, request.method)
        except (ValueError, TypeError) as exc:  # InvalidResponse is a ValueError
            _close(result)
            logger.error(
                "in-process upstream %s answered %s %s unusably: %s",
                self.name,
                request.method,
                request.path,
                exc,
            )
            raise UpstreamUnavailable("the upstream application sent an invalid response") from None

        closed = {"done": False}

        def close() -> None:
            if not closed["done"]:
                closed["done"] = True
                _close(result)

        def body() -> Iterator[bytes]:
            try:
                if framing == "length":
                    yield from _exactly(length or 0, itertools.chain(written, first, iterator))
                elif framing != "none":
                    yield from written
                    yield from first
                    yield from iterator
            except Exception as exc:
                logger.exception(
                    "in-process upstream %s failed mid-response for %s %s",
                    self.name,
                    request.method,
                    request.path,
                )
                close()
                raise UpstreamStreamError(str(exc)) from exc
            close()

        return UpstreamResponse(
            status=status,
            reason=reason,
            headers=headers,
            body=body(),
            close=close,
        )


def _exactly(length: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The app's body, which must be ``length`` bytes (its ``Content-Length``)."""
    remaining = length
    for piece in pieces:
        if len(piece) > remaining:
            raise InvalidResponse(f"body longer than its Content-Length ({length})")
        remaining -= len(piece)
        yield piece
    if remaining:
        raise InvalidResponse(f"body {remaining} bytes shorter than its Content-Length")


def _raise_body_failure(reader: object) -> None:
    if isinstance(reader, ChunkReader) and reader.failure is not None:
        raise reader.failure


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()
