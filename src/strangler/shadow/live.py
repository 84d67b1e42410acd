"""Live shadow: Django answers; the same request is replayed to Flask off the request path.

``answer_in_shadow`` is what an entry path calls for a route whose owner is
``"shadow"``. On the request path it only decides (method allowed? sampled?),
and, once the server closed Django's answer (its last byte sent), hands a
``ShadowJob`` (plain data: the environ's strings, Django's answer, who the
request ran as) to the shadow workers, which never wait (``workers.py``: a
child process, or threads). The job, run there,
rebuilds the request, sends it to Flask through the forwarding core (same
target, headers and identity), learns noise, compares and stores. A full
queue drops the job and counts it: the user never waits for Flask.
"""

from __future__ import annotations

import io
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase

from ..conf import conf_cache, get_conf
from ..forwarding.headers import headers_from_environ
from ..forwarding.messages import request_target
from ..identity.issuer import load_user
from .compare import compare
from .fields import Answer
from .noise import NoiseModel
from .ran_as import RanAs, settle
from .settings import (
    SAFE_METHODS,
    ShadowConfigError,
    ShadowSettings,
    shadow_settings,
)
from .shared_noise import CachedNoise
from .upstream import ask_flask
from .workers import shadow_workers, tallies

logger = logging.getLogger("strangler.shadow")
_random = random.Random()  # noqa: S311 (sampling, not security)

GetResponse = Callable[[HttpRequest], HttpResponseBase]


@conf_cache
def noise_model() -> NoiseModel:
    """The learned noise, shared by every process through ``STRANGLER["CACHE"]``."""
    conf = shadow_settings()
    shared = CachedNoise(str(get_conf()["CACHE"]))
    return NoiseModel(warmup=conf.noise_warmup, sample=conf.noise_sample, shared=shared)


def route_of(request: HttpRequest) -> str:
    """The route a request belongs to: Django's URL pattern when it resolved, else the path.

    Differences and noise are kept per route, so ``/items/1`` and
    ``/items/2`` share what was learned about ``/items/<int:item_id>``.
    """
    match = getattr(request, "resolver_match", None)
    route: str = getattr(match, "route", "") or ""
    if route:
        return "/" + route.lstrip("^").lstrip("/")
    return request.path_info


def describe_identity(request: HttpRequest) -> str:
    """Who a request ran as, for people reading differences: ``user 3 (alice)``."""
    try:
        user = load_user(request)
    except Exception:  # the description must not cost the comparison
        return "unknown"
    if not getattr(user, "is_authenticated", False):
        return "anonymous"
    return f"user {user.pk} ({user.get_username()})"


def django_answer(response: HttpResponseBase, method: str) -> Answer | None:
    """Django's answer as compared; None for a streamed one (reading it would consume it)."""
    if response.streaming:
        return None
    headers = list(response.items())
    headers += [
        ("Set-Cookie", morsel.output(header="").strip()) for morsel in response.cookies.values()
    ]
    body = b"" if method == "HEAD" else bytes(response.content)  # type: ignore[attr-defined]
    return Answer(response.status_code, headers, body)


def plain_environ(request: HttpRequest) -> dict[str, str]:
    """The request's environ as plain data: its str values (no streams, sockets or objects).

    The scheme is written in, because an ASGI request keeps it outside ``META``.
    """
    environ = {name: value for name, value in request.META.items() if type(value) is str}
    environ["wsgi.url_scheme"] = request.scheme or "http"
    return environ


def answer_in_shadow(request: HttpRequest, get_response: GetResponse) -> HttpResponseBase:
    """Let Django answer ``request``; hand the same request to the shadow workers."""
    try:
        conf = shadow_settings()
    except ShadowConfigError:
        return get_response(request)  # manage.py check reports it (strangler.E070)
    method = request.method or "GET"
    rule = conf.rule_for(request.path_info)
    wanted = rule.allows(method) and (rule.sample >= 1.0 or _random.random() < rule.sample)
    body = b""
    if wanted and method not in SAFE_METHODS:
        # Read before the view does, so the same bytes can go to Flask.
        declared = request.META.get("CONTENT_LENGTH") or "0"
        wanted = declared.isdigit() and int(declared) <= conf.max_request_body
        body = request.body if wanted else b""
    response = get_response(request)
    if wanted:
        hand_over = partial(_hand_over, request, response, body=body, conf=conf)
        closers = getattr(response, "_resource_closers", None)
        if isinstance(closers, list):
            # Run when the server closes the response, after its last byte was sent:
            # the user does not wait for the copy, the pickle and the send either.
            closers.append(hand_over)
        else:
            hand_over()
    return response


def _hand_over(
    request: HttpRequest,
    response: HttpResponseBase,
    *,
    body: bytes,
    conf: ShadowSettings,
) -> None:
    """Build the job from the request and Django's answer; hand it to the shadow workers."""
    try:
        django = django_answer(response, request.method or "GET")
        if django is None:
            return
        oversized = len(django.body) > conf.max_body
        if oversized:
            # Not kept while it waits in the queue: a full queue of large answers
            # would hold QUEUE_SIZE of them in memory. Status and headers are compared.
            django = Answer(django.status, django.headers, b"")
        job = ShadowJob(
            environ=plain_environ(request),
            body=body,
            django=django,
            route=route_of(request),
            # Free when the view looked at the user already.
            ran_as=settle(request),
            oversized=oversized,
        )
        shadow_workers().submit(job)
    except Exception:
        # Django's response closing swallows a closer's errors: say what failed here.
        logger.exception(
            "shadow: %s %s not handed to the shadow workers", request.method, request.path
        )


@dataclass(slots=True)
class ShadowJob:
    """One shadowed request as plain data, run in a shadow worker (thread or child process)."""

    environ: dict[str, str]
    # The request body replayed to Flask (opted-in unsafe methods; empty otherwise).
    body: bytes
    django: Answer
    route: str
    # Who the request ran as, or None when nothing set ``request.user``: then the
    # session in the environ decides, as for a forwarded request.
    ran_as: RanAs | None
    # Django's body was over MAX_BODY (or too large to send) and was not kept.
    oversized: bool = False

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled on the request path: builtins only (a third of the time of the
        # dataclasses' own pickling in benchmarks/shadow.py's setup).
        django, ran_as = self.django, self.ran_as
        who = None if ran_as is None else (ran_as.pk, ran_as.other)
        answer = (django.status, django.headers, django.body)
        return _unpickle_job, (self.environ, self.body, answer, self.route, who, self.oversized)

    @property
    def drop_key(self) -> str:
        """Drops are counted per route."""
        return self.route

    def without_bodies(self) -> ShadowJob | None:
        """Status and headers only; None for a write, whose body Flask must get."""
        if self.body:
            return None
        django = Answer(self.django.status, self.django.headers, b"")
        return replace(self, django=django, oversized=True)

    def request(self) -> HttpRequest:
        """The request rebuilt from the environ, as the same user."""
        request = WSGIRequest({**self.environ, "wsgi.input": io.BytesIO(self.body)})
        if self.ran_as is not None:
            # The identity signer signs Flask's copy for this user.
            request.user = self.ran_as.user()
        return request

    def run(self) -> None:
        """Replay, learn noise, compare, store; count."""
        try:
            self._compare()
        finally:
            close_old_connections()  # worker threads hold no connection between jobs

    def _compare(self) -> None:
        # Imported here: this module is imported by the WSGI entry before apps are ready.
        from . import store

        conf = shadow_settings()
        request = self.request()
        rule = conf.rule_for(request.path_info)  # as on the request path: the same settings
        method = request.method or "GET"
        counts = tallies()
        first = ask_flask(request, self.body, max_body=conf.max_body)
        if first is None:
            return
        noise = noise_model()
        if method in SAFE_METHODS and noise.wants_sample(self.route):
            # Never for an opted-in write: Flask would run it a third time.
            second = ask_flask(request, b"", max_body=conf.max_body)
            if second is not None and not (first.truncated or second.truncated):
                new = noise.learn(self.route, first.answer, second.answer, conf.headers)
                if new:
                    logger.info("shadow: %s: noisy fields %s", self.route, sorted(new))
        django, flask = self.django, first.answer
        if first.truncated or self.oversized:
            # Too large to compare field by field: status and headers only.
            django = Answer(django.status, django.headers, b"")
            flask = Answer(flask.status, flask.headers, b"")
        result = compare(
            django,
            flask,
            headers=conf.headers,
            ignore=rule.ignore,
            noise=noise.noisy(self.route),
        )
        if result.differs:
            store.save_difference(
                route=self.route,
                method=method,
                target=request_target(request.META),
                request_headers=headers_from_environ(request.META),
                django=self.django,
                flask=first.answer,
                comparison=result,
                identity=describe_identity(request),
                conf=conf,
            )
        # Counted after the difference is stored: a count never runs ahead of its evidence.
        # Written in batches by the workers (workers.py), never once per job.
        counts.add(self.route, compared=1, differing=int(result.differs))


def _unpickle_job(
    environ: dict[str, str],
    body: bytes,
    answer: tuple[int, list[tuple[str, str]], bytes],
    route: str,
    who: tuple[Any, Any] | None,
    oversized: bool,
) -> ShadowJob:
    ran_as = None if who is None else RanAs(pk=who[0], other=who[1])
    return ShadowJob(environ, body, Answer(*answer), route, ran_as, oversized)
