"""The legacy Flask app as a module-level WSGI object, for the in-process transport.

``STRANGLER["UPSTREAM"] = "wsgi:tests.legacy_wsgi:app"`` in the tests. The
wrapper records each response iterable's ``close()`` and the environ the app
was called with, which an HTTP client could not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tests.upstream import Events, create_app

events = Events()
flask_app = create_app(events)
closed: list[str] = []
environs: list[dict[str, Any]] = []


class _Recorded:
    def __init__(self, result: Iterable[bytes], path: str) -> None:
        self._result = result
        self._path = path

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._result)

    def close(self) -> None:
        closed.append(self._path)
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environs.append(dict(environ))
    return _Recorded(flask_app(environ, start_response), environ["PATH_INFO"])


def lazy_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
    """Calls start_response only from inside its iterable, as PEP 3333 allows."""
    start_response(
        "203 Lazy Start", [("X-Lazy", "1"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    )
    yield b"first "
    yield b"second"


def failing_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise RuntimeError("legacy app crashed")


not_callable = 42


def hostile_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers no HTTP/1.1 server may send as they are; by path."""
    answers = {
        "/cr-in-reason": ("200 OK\rX-Injected: 1", []),
        "/cr-in-header": ("200 OK", [("Set-Cookie", "a=1\r\nSet-Cookie: admin=1")]),
        "/early-hints": ("103 Early Hints", []),
        "/switch": ("101 Switching Protocols", [("Upgrade", "websocket")]),
    }
    bodies = {
        "/short-body": ("200 OK", [("Content-Length", "10")], [b"ok"]),
        "/long-body": ("200 OK", [("Content-Length", "2")], [b"ok, and a tail smuggled after"]),
    }
    if environ["PATH_INFO"] in bodies:
        status, headers, body = bodies[environ["PATH_INFO"]]
        start_response(status, headers)
        return body
    status, headers = answers.get(environ["PATH_INFO"], ("200 OK", []))
    start_response(status, headers)
    return [b"ok"]
