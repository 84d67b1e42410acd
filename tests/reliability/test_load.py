"""Many requests through every way in: every answer exact, nothing leaked.

Small, large (Content-Length) and streamed (chunked) downloads, uploads with
Content-Length and chunked, and counted POSTs, over many keep-alive
connections at once, through the middleware and the WSGI fast path, over
HTTP and in-process. Every body must be byte-identical to what Flask answers
directly, and the front's worker must end with the file descriptors
(sockets included) it started with and a flat resident memory.

The default run is small enough for CI; ``pytest -m load`` runs 20,000
requests at 64 connections.
"""

from __future__ import annotations

import time

import pytest

from tests.conftest import Front
from tests.reliability.conftest import FlaskProcess, open_fds, rss_kib
from tests.reliability.load import (
    expected_digests,
    mixed_jobs,
    run_load,
    summary,
    wrong_answers,
)

# Growth allowed in the worker's resident memory over a whole run: a leak of
# one KiB per request would be 20 MiB over the long run.
RSS_GROWTH_KIB = 16 * 1024


def settled_fds(pid: int, timeout: float = 10.0) -> tuple[int, int]:
    """The worker's (fds, sockets) once the clients' closed connections are reaped.

    The server closes its side of a client connection when it reads the
    client's FIN, a moment after the client closed it: wait until the count
    holds still.
    """
    deadline = time.monotonic() + timeout
    readings = [open_fds(pid)]
    while time.monotonic() < deadline:
        time.sleep(0.2)
        readings.append(open_fds(pid))
        if len(readings) >= 3 and readings[-1] == readings[-2] == readings[-3]:
            break
    return readings[-1]


@pytest.mark.parametrize(
    ("count", "connections"),
    [
        pytest.param(500, 16, id="500x16"),
        pytest.param(
            20_000, 64, id="20000x64", marks=[pytest.mark.load, pytest.mark.timeout(1800)]
        ),
    ],
)
def test_every_answer_is_flasks_byte_for_byte_and_nothing_leaks(
    any_front: Front, flask_process: FlaskProcess, count: int, connections: int
) -> None:
    worker = any_front.pid_of_worker()
    jobs = mixed_jobs(count, prefix=f"load-{any_front.port}-{count}")
    expected = expected_digests(flask_process.port, jobs)

    # Warm up at the same concurrency: threads, pooled upstream connections,
    # caches and the allocator's arenas reach their working size first.
    warm = run_load(any_front.port, mixed_jobs(connections * 4, prefix="warm"), connections)
    assert not wrong_answers(warm, expected), summary(warm)
    fds_before, sockets_before = settled_fds(worker)
    rss_before = rss_kib(worker)

    started = time.monotonic()
    results = run_load(any_front.port, jobs, connections)
    elapsed = time.monotonic() - started

    wrong = wrong_answers(results, expected)
    fds_after, sockets_after = settled_fds(worker)
    rss_after = rss_kib(worker)
    print(
        f"\n{count} requests at {connections} connections in {elapsed:.1f}s "
        f"({count / elapsed:.0f}/s): {len(wrong)} wrong; {summary(results)}; "
        f"worker fds {fds_before}->{fds_after} (sockets {sockets_before}->{sockets_after}), "
        f"RSS {rss_before / 1024:.1f}->{rss_after / 1024:.1f} MiB"
    )
    assert not wrong, [(r.job, r.status, r.error) for r in wrong[:5]]
    assert fds_after <= fds_before, f"worker fds {fds_before} -> {fds_after}"
    assert sockets_after <= sockets_before, f"worker sockets {sockets_before} -> {sockets_after}"
    assert rss_after - rss_before < RSS_GROWTH_KIB, f"RSS {rss_before} -> {rss_after} KiB"
