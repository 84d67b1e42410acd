"""Failing fast while Flask is known down, and bounded waiting (``forwarding/health.py``).

Each test gets fronts of its own (function scope): a front remembers what it
learnt about Flask for ``UPSTREAM_COOL_OFF``, so a shared front would carry
one test's outage into the next. The fronts mark Flask down after one
failure (``UPSTREAM_DOWN_AFTER`` 1) so that one timeout shows the rule, and
let at most two requests wait on Flask (``UPSTREAM_MAX_WAITING`` 2) of the
worker's four threads.
"""

from __future__ import annotations

import http.client
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.asgi.fronts import start_asgi_front
from tests.conftest import Front
from tests.reliability.conftest import (
    IN_PROCESS,
    FlaskProcess,
    start_reliability_front,
    wait_until_answering,
)

READ_TIMEOUT = 2.0
COOL_OFF = 2.0
# Time a busy machine may add before an answer is out.
SLACK = 8.0
HEALTH = {"DOWN_AFTER": 1, "COOL_OFF": COOL_OFF, "MAX_WAITING": 2}
DOWN = "the upstream application is down"
BUSY = "too many requests are waiting on the upstream application"


@dataclass
class Answer:
    status: int
    body: str
    retry_after: str | None
    elapsed: float
    ended: float


def get(port: int, target: str) -> Answer:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        ended = time.monotonic()
        return Answer(
            response.status, body, response.getheader("Retry-After"), ended - started, ended
        )
    finally:
        conn.close()


def start(entry: str, upstream: str) -> Front:
    """A front through ``entry`` ("middleware", "fast" or "asgi") with the fail-fast settings."""
    if entry != "asgi":
        return start_reliability_front(upstream, entry, read_timeout=READ_TIMEOUT, health=HEALTH)
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.reliability.front_settings",
        "STRANGLER_TEST_READ_TIMEOUT": str(READ_TIMEOUT),
        **{f"STRANGLER_TEST_UPSTREAM_{key}": str(value) for key, value in HEALTH.items()},
    }
    front = start_asgi_front(upstream, extra_env=env)
    wait_until_answering(front.port, "/ported/")
    return front


def stop(front: Front) -> None:
    front.process.terminate()
    try:
        front.process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # uvicorn waits for a hung request to end
        front.process.kill()
        front.process.wait(timeout=10)


@pytest.fixture(params=["middleware", "fast", "asgi"])
def fail_fast_front(request: pytest.FixtureRequest, flask_process: FlaskProcess) -> Iterator[Front]:
    """A new front before the Flask process over HTTP, through each entry, for one test."""
    front = start(request.param, flask_process.url)
    yield front
    stop(front)


def assert_known_down(front: Front) -> None:
    """More requests than the worker has threads fail fast; a Django page is still served."""
    targets = [f"/r/blob?size={n}" for n in range(8)] + ["/ported/"]
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        answers = list(pool.map(lambda target: get(front.port, target), targets))
    *forwarded, django_page = answers
    assert django_page.status == 200
    for answer in forwarded:
        assert (answer.status, DOWN in answer.body) == (503, True), answer
        assert answer.retry_after is not None
        assert 1 <= int(answer.retry_after) <= COOL_OFF
    # The property itself: not sent, so no waiting on Flask (a generous bound).
    assert max(answer.elapsed for answer in answers) < READ_TIMEOUT, answers


def assert_recovers(front: Front) -> None:
    """Once Flask answers again, the front forwards again by itself after the cool-off."""
    deadline = time.monotonic() + COOL_OFF + SLACK
    seen = []
    while time.monotonic() < deadline:
        answer = get(front.port, "/r/blob?size=10")
        seen.append(answer.status)
        if answer.status == 200:
            break
        assert (answer.status, DOWN in answer.body) == (503, True), answer
        time.sleep(0.1)
    assert seen[-1] == 200, f"not forwarding again {COOL_OFF + SLACK}s on: {seen}"
    assert [get(front.port, "/r/blob?size=10").status for _ in range(5)] == [200] * 5


def test_hung_upstream_fails_fast_once_known_down(
    fail_fast_front: Front, paused_flask: FlaskProcess
) -> None:
    first = get(fail_fast_front.port, "/r/blob")
    assert first.status == 504
    assert READ_TIMEOUT <= first.elapsed < READ_TIMEOUT + SLACK
    assert_known_down(fail_fast_front)
    paused_flask.resume()
    assert_recovers(fail_fast_front)


def test_killed_upstream_fails_fast_once_known_down(
    fail_fast_front: Front, flask_process: FlaskProcess
) -> None:
    flask_process.kill()
    try:
        first = get(fail_fast_front.port, "/r/blob")
        assert first.status == 502  # refused: no timeout to wait for
        assert_known_down(fail_fast_front)
    finally:
        flask_process.start()
    assert_recovers(fail_fast_front)


@pytest.mark.parametrize(
    ("entry", "transport"),
    [("middleware", "http"), ("fast", "http"), ("asgi", "http"), ("fast", "in-process")],
)
def test_requests_waiting_on_a_hung_route_are_bounded(
    flask_process: FlaskProcess, entry: str, transport: str
) -> None:
    """Six requests to a route that hangs: two wait on Flask, four are refused at once.

    The worker has four threads, so without the bound four hung requests
    would take them all. In-process the app has no timeout: the two that
    waited get its answer; over HTTP they get the 504.
    """
    front = start(entry, flask_process.url if transport == "http" else IN_PROCESS)
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            hung = [pool.submit(get, front.port, "/r/hang?seconds=4") for _ in range(6)]
            time.sleep(0.5)
            django_page = get(front.port, "/ported/")
            answers = [future.result() for future in hung]
        waited = [a for a in answers if a.status != 503]
        refused = [a for a in answers if a.status == 503]
        assert [a.status for a in waited] == [504 if transport == "http" else 200] * 2, answers
        assert [BUSY in a.body for a in refused] == [True] * 4, answers
        assert max(a.elapsed for a in refused) < READ_TIMEOUT, answers
        # Django's own page was answered while two requests still waited on Flask.
        assert django_page.status == 200
        assert django_page.ended < min(a.ended for a in waited)
    finally:
        stop(front)
