"""Replay requests against Django's view and Flask, with live shadow's comparison.

Requests come from the recordings (``RecordedRequest``) or from a file the
team writes: JSON lines or a HAR export. Every request is read and checked
(users looked up) before the first one is sent, so a bad file changes
nothing. Django answers through its whole middleware stack as the ported
route (the front door's decision is preset to Django); Flask gets the same
request through the forwarding core, signed for the same user; Flask is
asked twice so that noise is learned per request, as in live shadow.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.test import Client, RequestFactory

from ..decided import record_decision
from ..routing import Decision
from .compare import Comparison, compare
from .fields import Answer
from .live import django_answer
from .models import RecordedRequest
from .noise import NoiseModel
from .settings import SAFE_METHODS, ShadowSettings
from .upstream import ask_flask

_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
# Headers a replay never copies: the test client and the core set their own.
_NOT_REPLAYED = frozenset({"host", "content-length", "transfer-encoding", "connection", "cookie"})


class ReplayInputError(ValueError):
    """A request to replay is malformed or names an unknown user; the message says where."""


@dataclass(frozen=True)
class ReplayRequest:
    """One request to send to both sides."""

    method: str
    target: str  # origin-form: /path?query
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    user: str = ""  # a username (files) or "pk:<id>" (recordings); "" for anonymous
    where: str = ""  # "line 3 of requests.jsonl", for messages


@dataclass(frozen=True)
class ReplayResult:
    """What one replayed request gave."""

    request: ReplayRequest
    route: str
    django: Answer
    flask: Answer | None  # None: Flask could not be reached (logged)
    comparison: Comparison | None


def _checked(method: Any, target: Any, where: str) -> tuple[str, str]:
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise ReplayInputError(f"{where}: method {method!r} is not one of {sorted(_METHODS)}")
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        raise ReplayInputError(f"{where}: path {target!r} must start with a single '/'")
    return method.upper(), target


def _header_pairs(value: Any, where: str) -> list[tuple[str, str]]:
    pairs = value.items() if isinstance(value, dict) else value
    try:
        headers = [(str(name), str(text)) for name, text in pairs]
    except (TypeError, ValueError):
        raise ReplayInputError(
            f"{where}: headers must be an object or a list of [name, value] pairs"
        ) from None
    return [(n, v) for n, v in headers if n.lower() not in _NOT_REPLAYED and not n.startswith(":")]


def read_json_lines(path: Path) -> list[ReplayRequest]:
    """Requests from a JSON-lines file (format in docs/shadow.md)."""
    requests = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"line {number} of {path.name}"
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise ReplayInputError(f"{where}: not JSON ({exc})") from None
        if not isinstance(item, dict):
            raise ReplayInputError(f"{where}: expected an object with at least a 'path'")
        method, target = _checked(item.get("method", "GET"), item.get("path"), where)
        body = item.get("body", "")
        if not isinstance(body, str):
            body = json.dumps(body)
        user = item.get("user") or ""
        if not isinstance(user, str):
            raise ReplayInputError(f"{where}: user must be a username (a string)")
        requests.append(
            ReplayRequest(
                method,
                target,
                _header_pairs(item.get("headers", {}), where),
                body.encode("utf-8"),
                user,
                where,
            )
        )
    return requests


def read_har(path: Path) -> list[ReplayRequest]:
    """Requests from a HAR 1.2 file (a browser's "Save all as HAR")."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ReplayInputError(f"{path.name}: not a HAR file with log.entries ({exc})") from None
    requests = []
    for number, entry in enumerate(entries, start=1):
        where = f"entry {number} of {path.name}"
        try:
            har_request = entry["request"]
            url = urlsplit(har_request["url"])
        except (KeyError, TypeError, ValueError):
            raise ReplayInputError(f"{where}: no request.url") from None
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        method, target = _checked(har_request.get("method"), target, where)
        headers = [
            (h.get("name", ""), h.get("value", ""))
            for h in har_request.get("headers", [])
            if isinstance(h, dict)
        ]
        text = (har_request.get("postData") or {}).get("text") or ""
        requests.append(
            ReplayRequest(
                method, target, _header_pairs(headers, where), text.encode("utf-8"), "", where
            )
        )
    return requests


def read_file(path: Path) -> list[ReplayRequest]:
    """A ``.har`` file as HAR, anything else as JSON lines."""
    if not path.is_file():
        raise ReplayInputError(f"{path} does not exist or is not a file")
    return read_har(path) if path.suffix.lower() == ".har" else read_json_lines(path)


def read_recordings(limit: int, route: str | None = None) -> list[ReplayRequest]:
    """The newest recorded requests, oldest first (the order they happened in)."""
    queryset = RecordedRequest.objects.order_by("-at", "-pk")
    if route:
        queryset = queryset.filter(route=route)
    return [
        ReplayRequest(
            r.method,
            r.target,
            [(n, v) for n, v in r.headers if n.lower() not in _NOT_REPLAYED],
            b"",
            f"pk:{r.user_id}" if r.user_id else "",
            f"recording {r.pk}",
        )
        for r in reversed(list(queryset[:limit]))
    ]


def resolve_users(requests: Iterable[ReplayRequest]) -> dict[str, Any]:
    """Every user the requests name, looked up before anything is sent."""
    model = get_user_model()
    users: dict[str, Any] = {}
    for request in requests:
        name = request.user
        if not name or name in users:
            continue
        field_name = "pk" if name.startswith("pk:") else str(model.USERNAME_FIELD)
        lookup = {field_name: name[3:] if field_name == "pk" else name}
        try:
            users[name] = model._default_manager.get(**lookup)
        except (model.DoesNotExist, ValueError):
            raise ReplayInputError(f"{request.where}: no user {name!r} in this database") from None
    return users


def default_host() -> str:
    """A host Django accepts: the first plain name in ALLOWED_HOSTS, else ``localhost``."""
    for host in settings.ALLOWED_HOSTS:
        if host and host != "*" and not host.startswith("."):
            return str(host)
    return "localhost"


class Replayer:
    """Sends requests to both sides and compares, with one noise model for the run."""

    def __init__(self, conf: ShadowSettings, *, host: str, learn_noise: bool = True) -> None:
        self.conf = conf
        self.host = host
        self.learn_noise = learn_noise
        # Every request is sent to Flask twice; nothing is carried over from live shadow.
        self.noise = NoiseModel(warmup=0, sample=1.0 if learn_noise else 0.0)
        # One logged-in client per user: one session per user for the run, not per request.
        self._clients: dict[Any, tuple[Client, SimpleCookie]] = {}

    def replay(self, request: ReplayRequest, user: Any) -> ReplayResult:
        """Send ``request`` as ``user`` (None: anonymous) to Django, then to Flask."""
        django, route = self._ask_django(request, user)
        flask_request = self._flask_request(request, user)
        first = ask_flask(flask_request, request.body, max_body=self.conf.max_body)
        if first is None:
            return ReplayResult(request, route, django, None, None)
        if self.learn_noise and request.method in SAFE_METHODS:
            second = ask_flask(flask_request, request.body, max_body=self.conf.max_body)
            if second is not None:
                self.noise.learn(route, first.answer, second.answer, self.conf.headers)
        rule = self.conf.rule_for(urlsplit(request.target).path)
        comparison = compare(
            django,
            first.answer,
            headers=self.conf.headers,
            ignore=rule.ignore,
            noise=self.noise.noisy(route),
        )
        return ReplayResult(request, route, django, first.answer, comparison)

    def _meta(self, request: ReplayRequest) -> dict[str, Any]:
        meta: dict[str, Any] = {"HTTP_HOST": self.host}
        for name, value in request.headers:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE",):
                key = f"HTTP_{key}"
            meta[key] = value
        return meta

    def _ask_django(self, request: ReplayRequest, user: Any) -> tuple[Answer, str]:
        key = None if user is None else user.pk
        client, login = self._clients.get(key, (None, SimpleCookie()))
        if client is None:
            client = Client(raise_request_exception=False)
            if user is not None:
                client.force_login(user)
            login = SimpleCookie(client.cookies.output(header="", sep=";"))
            self._clients[key] = (client, login)
        # Only the login carries over: cookies a previous answer set would change this one.
        client.cookies = SimpleCookie(login.output(header="", sep=";"))
        meta = self._meta(request)
        content_type = meta.pop("CONTENT_TYPE", "application/octet-stream")
        # The front door's decision, preset: the ported view answers, whoever owns the route now.
        record_decision(meta, Decision("django", urlsplit(request.target).path, "replay"))
        response = client.generic(
            request.method, request.target, request.body, content_type, **meta
        )
        if response.streaming:
            body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
            response.close()
            answer = Answer(response.status_code, list(response.items()), body)
        else:
            answer = django_answer(response, request.method) or Answer(
                response.status_code, [], b""
            )
        match = getattr(response, "resolver_match", None)
        route = "/" + match.route.lstrip("/") if match is not None and match.route else ""
        return answer, route or urlsplit(request.target).path

    def _flask_request(self, request: ReplayRequest, user: Any) -> HttpRequest:
        meta = self._meta(request)
        content_type = meta.pop("CONTENT_TYPE", "application/octet-stream")
        built = RequestFactory().generic(
            request.method, request.target, request.body, content_type, **meta
        )
        built.user = user if user is not None else AnonymousUser()
        return built


def replay_all(
    requests: list[ReplayRequest], replayer: Replayer, users: dict[str, Any]
) -> Iterator[ReplayResult]:
    """Replay each request in order."""
    for request in requests:
        yield replayer.replay(request, users.get(request.user))
