"""A bounded load client: N requests over C keep-alive connections, every answer kept.

Each of C threads holds one ``http.client`` connection (reopened when the
server closes it) and takes the next job until there are none; each answer
is reduced to its status and the SHA-256 of its body, so 20,000 of them can
be compared with what Flask itself answers for the same request.
"""

from __future__ import annotations

import hashlib
import http.client
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from tests.reliability.legacy import blob


@dataclass(frozen=True)
class Job:
    """One request to make: ``kind`` names what is being exercised."""

    kind: str
    method: str
    target: str
    body: bytes | None = None
    chunked: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        """Requests with the same key get the same answer from Flask (ids aside)."""
        path = self.target if self.kind != "count" else self.target.partition("?")[0]
        digest = hashlib.sha256(self.body).hexdigest() if self.body is not None else ""
        return (self.method, path, digest)


@dataclass(eq=False)  # compared and hashed by identity: one result is one request
class Result:
    job: Job
    started: float
    ended: float
    status: int | None = None
    sha256: str | None = None
    error: str | None = None
    # The start of the body of an answer other than 200, to say what failed.
    detail: bytes = b""


SMALL, LARGE, STREAMED = 300, 128 * 1024, 256 * 1024
POST_BODY = 16 * 1024


def mixed_jobs(count: int, *, prefix: str = "run") -> list[Job]:
    """``count`` requests: small, large and streamed downloads, uploads, counted POSTs."""
    return list(itertools.islice(endless_jobs(prefix=prefix), count))


def endless_jobs(*, prefix: str = "run") -> Iterator[Job]:
    """The mix of ``mixed_jobs``, for as long as it is asked for (counted POSTs stay unique)."""
    for number in itertools.count():
        seed = number % 8
        match number % 5:
            case 0 | 1:
                yield Job("small", "GET", f"/r/blob?size={SMALL}&seed={seed}")
            case 2:
                yield Job("large", "GET", f"/r/blob?size={LARGE}&seed={seed}")
            case 3:
                yield Job("streamed", "GET", f"/r/chunks?size={STREAMED}")
            case _:
                body = blob(POST_BODY, seed)
                if number % 2:
                    yield Job("post", "POST", "/r/upload", body, chunked=number % 3 == 0)
                else:
                    yield Job("count", "POST", f"/r/count?id={prefix}-{number}", body)


def _send(conn: http.client.HTTPConnection, job: Job) -> tuple[int, str, bytes]:
    if job.chunked and job.body is not None:
        pieces = [job.body[i : i + 5000] for i in range(0, len(job.body), 5000)]
        conn.request(job.method, job.target, body=iter(pieces), encode_chunked=True)
    else:
        conn.request(job.method, job.target, body=job.body)
    response = conn.getresponse()
    digest = hashlib.sha256()
    detail = b""
    while chunk := response.read(65536):
        digest.update(chunk)
        if response.status != 200 and len(detail) < 200:
            detail += chunk[:200]
    if response.will_close:
        conn.close()
    return response.status, digest.hexdigest(), detail


def run_load(
    port: int,
    jobs: Iterable[Job],
    connections: int,
    *,
    timeout: float = 30.0,
    stop: threading.Event | None = None,
    on_result: Callable[[Result], None] | None = None,
    limit: float = 1800.0,
) -> list[Result]:
    """Make the requests in ``jobs`` against 127.0.0.1:``port``, in the order they finish.

    Ends when ``jobs`` runs out or ``stop`` is set (each connection finishes
    the request it has under way), and within ``limit`` seconds in any case.
    ``on_result`` is called with each result as it comes (from the workers'
    threads).
    """
    results: list[Result] = []
    source: Iterator[Job] = iter(jobs)
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            while stop is None or not stop.is_set():
                with lock:
                    job = next(source, None)
                if job is None:
                    return
                result = Result(job, started=time.monotonic(), ended=0.0)
                try:
                    result.status, result.sha256, result.detail = _send(conn, job)
                except (OSError, http.client.HTTPException) as error:
                    result.error = repr(error)
                    conn.close()  # reconnects on the next request
                result.ended = time.monotonic()
                with lock:
                    results.append(result)
                if on_result is not None:
                    on_result(result)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + limit
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0))
    assert not any(thread.is_alive() for thread in threads), f"load still running after {limit}s"
    return results


def expected_digests(port: int, jobs: Iterable[Job]) -> dict[tuple[str, str, str], str]:
    """What Flask itself answers (body SHA-256) for each distinct request, asked directly."""
    expected: dict[tuple[str, str, str], str] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for job in jobs:
            if job.key in expected:
                continue
            # The counting endpoint answers like the upload one; do not count these.
            direct = job if job.kind != "count" else Job("post", "POST", "/r/upload", job.body)
            status, digest, _ = _send(conn, direct)
            assert status == 200, f"Flask direct answered {status} to {job}"
            expected[job.key] = digest
    finally:
        conn.close()
    return expected


def wrong_answers(
    results: Iterable[Result], expected: dict[tuple[str, str, str], str]
) -> list[Result]:
    """Results that are not a 200 whose body is byte-identical to Flask's."""
    return [
        result
        for result in results
        if result.error is not None
        or result.status != 200
        or result.sha256 != expected[result.job.key]
    ]


def summary(results: Sequence[Result]) -> str:
    kinds = sorted({result.job.kind for result in results})
    counts = {kind: sum(r.job.kind == kind for r in results) for kind in kinds}
    statuses = {
        str(status): len(list(group))
        for status, group in itertools.groupby(sorted(str(r.status) for r in results))
    }
    return f"kinds {counts}, statuses {statuses}"
