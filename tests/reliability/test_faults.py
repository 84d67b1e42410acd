"""Flask dies, hangs or drops connections while a front forwards to it over HTTP.

What a client may see then: a 502 (or, once an answer's headers were sent, a
connection cut before the framed end, never a body that looks complete), a
504 at ``READ_TIMEOUT``, and nothing worse: no 500, no wrong body, no request
executed twice. Afterwards the front serves again by itself.
"""

from __future__ import annotations

import collections
import http.client
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.conftest import Front
from tests.reliability.conftest import ENTRIES, FlaskProcess, start_reliability_front, stop_front
from tests.reliability.load import (
    Result,
    endless_jobs,
    expected_digests,
    mixed_jobs,
    run_load,
    summary,
    wrong_answers,
)
from tests.reliability.wire import RawRequest, RawUpstream, exchange

READ_TIMEOUT = 2.0  # the http_front fixture's
# Time a busy machine may add to a timeout before the 504 is out.
SLACK = 8.0


@dataclass
class Outage:
    killed: float
    back: float


def overlaps(result: Result, outage: Outage) -> bool:
    """Was this request under way while Flask was down (killed, not yet restarted)?"""
    return result.started <= outage.back and result.ended >= outage.killed


@pytest.mark.parametrize(
    ("between", "connections", "kills"),
    [
        pytest.param(300, 16, 1, id="300x16"),
        pytest.param(
            2_500, 64, 4, id="2500x64-4kills", marks=[pytest.mark.load, pytest.mark.timeout(1800)]
        ),
    ],
)
def test_flask_killed_under_load_fails_only_what_was_under_way(
    http_front: Front, flask_process: FlaskProcess, between: int, connections: int, kills: int
) -> None:
    """Only requests under way while Flask was down fail (502, or cut short), then it recovers.

    The load runs at full speed over ``connections`` connections; Flask is
    killed (SIGKILL) and restarted ``kills`` times, each after ``between``
    more requests have completed, and the load goes on until ``between``
    requests have completed after the last restart. Requests sent while the
    restarted Flask is not listening yet are under way during the outage too:
    they get a 502 at once.
    """
    prefix = f"kill-{http_front.port}-{between}"
    expected = expected_digests(flask_process.port, mixed_jobs(40))
    done = [0]
    results: list[Result] = []
    stop = threading.Event()

    def count_result(result: Result) -> None:
        done[0] += 1

    def wait_for(target: int) -> None:
        while done[0] < target and loader.is_alive():
            time.sleep(0.005)

    loader = threading.Thread(
        target=lambda: results.extend(
            run_load(
                http_front.port,
                endless_jobs(prefix=prefix),
                connections,
                stop=stop,
                on_result=count_result,
            )
        ),
        daemon=True,
    )
    outages: list[Outage] = []
    started = time.monotonic()
    loader.start()
    for _ in range(kills):
        wait_for(done[0] + between)
        killed = time.monotonic()
        flask_process.restart()
        outages.append(Outage(killed, time.monotonic()))
    wait_for(done[0] + between)
    stop.set()
    loader.join(timeout=600)
    assert results, "the load never finished"
    elapsed = time.monotonic() - started

    wrong = wrong_answers(results, expected)
    in_outage = [r for r in wrong if any(overlaps(r, outage) for outage in outages)]
    cut_short = [r for r in wrong if r.error is not None]
    at_kill = [r for r in wrong if any(r.started <= o.killed <= r.ended for o in outages)]
    down = sum(o.back - o.killed for o in outages)
    print(
        f"\n{len(results)} requests at {connections} connections, Flask killed {kills}x "
        f"(down {down:.1f}s of {elapsed:.1f}s): {len(wrong)} failed ({len(cut_short)} cut "
        f"short), {len(at_kill)} in flight at a kill, {len(in_outage) - len(at_kill)} sent "
        f"while Flask was down, {len(wrong) - len(in_outage)} otherwise; {summary(results)}"
    )
    # Requests were under way when Flask was killed: the test saw what it is about.
    assert all(any(r.started <= o.killed <= r.ended for r in results) for o in outages)
    # Every failure is one under way while Flask was down ...
    outside = set(wrong) - set(in_outage)
    assert not outside, [
        (r.job.target, r.status, r.error, r.detail, r.started - started, r.ended - started)
        for r in list(outside)[:5]
    ] + [(o.killed - started, o.back - started) for o in outages]
    # ... and is a 502 from the front, or an answer cut before its framed end:
    # never another status, never a complete-looking wrong body.
    assert all(r.error is not None or r.status == 502 for r in wrong), summary(wrong)
    # The front recovered by itself: the requests after the last restart all succeeded.
    after = [r for r in results if r.started > outages[-1].back]
    assert len(after) >= between - connections
    assert not wrong_answers(after, expected)

    # A POST is executed at most once, and every POST answered 200 was executed.
    counted = collections.Counter(flask_process.counted_ids())
    twice = [key for key, times in counted.items() if times > 1 and key.startswith(prefix)]
    assert not twice, f"POSTs executed more than once: {twice[:5]}"
    failed = set(wrong)
    answered = {
        r.job.target.partition("id=")[2]
        for r in results
        if r.job.kind == "count" and r not in failed
    }
    assert answered <= set(counted)


def timed_get(port: int, target: str) -> tuple[int, float]:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


def test_hung_route_gets_504_at_the_timeout_and_other_routes_are_served(
    http_front: Front,
) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        hung = [pool.submit(timed_get, http_front.port, "/r/hang?seconds=15") for _ in range(2)]
        time.sleep(0.3)
        # Two of the worker's four threads wait on Flask; the others still serve.
        others = [timed_get(http_front.port, target) for target in ["/r/blob", "/ported/"] * 3]
        statuses = [future.result() for future in hung]
    assert [status for status, _ in others] == [200] * 6
    for status, elapsed in statuses:
        assert status == 504
        assert READ_TIMEOUT <= elapsed < READ_TIMEOUT + SLACK


def test_front_recovers_after_flask_hung(http_front: Front, flask_process: FlaskProcess) -> None:
    flask_process.pause()
    try:
        status, elapsed = timed_get(http_front.port, "/r/blob")
    finally:
        flask_process.resume()
    assert status == 504
    assert READ_TIMEOUT <= elapsed < READ_TIMEOUT + SLACK
    assert [timed_get(http_front.port, "/r/blob")[0] for _ in range(5)] == [200] * 5


class DropPolicy:
    """Which requests the raw upstream reads and then drops without an answer."""

    def __init__(self) -> None:
        self.mode = "answer"
        self.answered: set[int] = set()

    def __call__(self, request: RawRequest) -> bytes | None:
        if self.mode == "drop" and request.method != b"GET":
            return None  # read it all, then close: its bytes reached the upstream
        if self.mode == "drop-reused" and request.connection in self.answered:
            return None  # a kept-alive connection the upstream closes as it is reused
        self.answered.add(request.connection)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Raw-Upstream: 1\r\n\r\nok"


@pytest.fixture(scope="module")
def dropping_upstream() -> Iterator[tuple[RawUpstream, DropPolicy]]:
    policy = DropPolicy()
    upstream = RawUpstream(answer=policy)
    yield upstream, policy
    upstream.stop()


@pytest.fixture(scope="module", params=list(ENTRIES))
def dropping_front(
    request: pytest.FixtureRequest, dropping_upstream: tuple[RawUpstream, DropPolicy]
) -> Iterator[Front]:
    front = start_reliability_front(dropping_upstream[0].url, request.param)
    yield front
    stop_front(front)


BODIES = {
    "POST-length": b"POST /r/count HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello",
    "POST-chunked": (
        b"POST /r/count HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
    ),
    "POST-empty": b"POST /r/count HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
    "PATCH": b"PATCH /r/count HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello",
    "PUT": b"PUT /r/count HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello",
}


@pytest.mark.parametrize("mode", ["drop", "drop-reused"])
@pytest.mark.parametrize("request_name", list(BODIES))
def test_a_request_with_a_body_is_never_sent_twice(
    dropping_front: Front,
    dropping_upstream: tuple[RawUpstream, DropPolicy],
    mode: str,
    request_name: str,
) -> None:
    upstream, policy = dropping_upstream
    # Leave answered connections in the front's pool for the request to reuse.
    policy.mode = "answer"
    warm = b"GET /warm HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert [exchange(dropping_front.port, warm).status for _ in range(4)] == [200] * 4
    # The front pools a connection after its client has the answer: let it.
    time.sleep(0.2)
    policy.mode = mode
    upstream.settle()
    before = len(upstream.requests)
    method = BODIES[request_name].split(b" ")[0]
    response = exchange(dropping_front.port, BODIES[request_name])
    upstream.settle()
    sent = [r for r in upstream.requests[before:] if r.method == method]
    assert response.status == 502, response
    assert len(sent) == 1, f"the upstream received the {request_name} {len(sent)} times"
