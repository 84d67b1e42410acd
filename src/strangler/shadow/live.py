"""Live shadow: Django answers; the same request is replayed to Flask off the request path.

``answer_in_shadow`` is what an entry path calls for a route whose owner is
``"shadow"``. On the request path it only decides (method allowed? sampled?),
keeps Django's answer and queues a job; the job, in a worker thread, sends
the request to Flask through the forwarding core (same target, headers and
identity), learns noise, compares and stores. A full queue drops the job and
counts it: the user never waits for Flask.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase

from ..conf import conf_cache
from ..forwarding.headers import headers_from_environ
from ..forwarding.messages import request_target
from ..identity.issuer import load_user
from .compare import compare
from .fields import Answer
from .noise import NoiseModel
from .pool import WorkerPool
from .settings import SAFE_METHODS, RouteRule, ShadowConfigError, shadow_settings
from .tally import Tallies
from .upstream import ask_flask

logger = logging.getLogger("strangler.shadow")
_random = random.Random()  # noqa: S311 (sampling, not security)

GetResponse = Callable[[HttpRequest], HttpResponseBase]


@conf_cache
def worker_pool() -> WorkerPool:
    """This process's shadow workers (rebuilt, the old ones stopped, when settings change)."""
    conf = shadow_settings()
    return WorkerPool(size=conf.queue_size, workers=conf.workers)


def _write_tally(route: str, compared: int, differing: int, dropped: int) -> None:
    from .store import count  # imported late: models need the app registry

    count(route, compared=compared, differing=differing, dropped=dropped)


@conf_cache
def tallies() -> Tallies:
    """This process's counts per route, written to ``ShadowTally`` once a second."""
    return Tallies(_write_tally)


def flush_tallies() -> None:
    """Write this process's counts now (tests, and before a report in the same process)."""
    for route, dropped in worker_pool().take_dropped().items():
        tallies().add(route, dropped=dropped)
    tallies().flush()


@conf_cache
def noise_model() -> NoiseModel:
    """This process's learned noise (forgotten when settings change)."""
    conf = shadow_settings()
    return NoiseModel(warmup=conf.noise_warmup, sample=conf.noise_sample)


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


def answer_in_shadow(request: HttpRequest, get_response: GetResponse) -> HttpResponseBase:
    """Let Django answer ``request``; queue the same request for Flask and the comparison."""
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
        django = django_answer(response, method)
        user = getattr(request, "user", None)
        if django is not None:
            # Who the request ran as, settled now: the worker signs Flask's copy for this
            # user even if the session ends meanwhile. Free when the view looked at the user.
            getattr(user, "is_authenticated", None)
            oversized = len(django.body) > conf.max_body
            if oversized:
                # Not kept while it waits in the queue: a full queue of large answers
                # would hold QUEUE_SIZE of them in memory. Status and headers are compared.
                django = Answer(django.status, django.headers, b"")
            job = _ShadowJob(request, body, django, route_of(request), rule, oversized)
            worker_pool().submit(job.run, key=job.route)
    return response


@dataclass
class _ShadowJob:
    request: HttpRequest
    body: bytes
    django: Answer
    route: str
    rule: RouteRule
    # Django's body was over MAX_BODY and was not kept.
    oversized: bool = False

    def run(self) -> None:
        try:
            self._compare()
        finally:
            close_old_connections()  # worker threads hold no connection between jobs

    def _compare(self) -> None:
        # Imported here: this module is imported by the WSGI entry before apps are ready.
        from . import store

        conf = shadow_settings()
        request = self.request
        method = request.method or "GET"
        counts = tallies()
        for route, dropped in worker_pool().take_dropped().items():
            counts.add(route, dropped=dropped)
        first = ask_flask(request, self.body, max_body=conf.max_body)
        if first is None:
            counts.flush()
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
            ignore=self.rule.ignore,
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
        counts.add(self.route, compared=1, differing=int(result.differs))
        if worker_pool().waiting == 0:
            counts.flush()  # idle: nothing would write these counts until the next request
        else:
            counts.flush_if_due()
