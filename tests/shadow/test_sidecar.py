"""The front's end of its shadow child process (strangler/shadow/sidecar.py), for real.

The child is a real process started from this test process; it counts into
this test run's database (it runs with this process's settings).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from strangler.shadow.channel import SEND_BUFFER, sidecar_supported
from strangler.shadow.models import ShadowTally
from strangler.shadow.sidecar import Sidecar, settings_snapshot
from tests.shadow.jobs import CountedJob, GatedJob, PicklingNoted, Unpicklable

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not sidecar_supported(), reason="needs AF_UNIX SOCK_SEQPACKET"),
    pytest.mark.timeout(60),
]


def wait_until_gone(pid: int) -> None:
    """Until every thread of process ``pid`` has exited (and so its sockets are closed).

    A zombie nobody reaped yet counts as exited, but only once all its threads
    are: the main thread of a killed process can be a zombie while others still
    exit, holding the process's files.
    """
    while True:
        states = []
        for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
            with contextlib.suppress(OSError):
                states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        if all(state in ("Z", "X") for state in states):
            return
        time.sleep(0.05)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.005)


@pytest.fixture
def sidecar() -> Iterator[Sidecar]:
    sidecar = Sidecar(restart_after=3600.0)
    yield sidecar
    sidecar.close()


def counted(route: str) -> tuple[int, int, int]:
    tally = ShadowTally.objects.get(route=route)
    return tally.compared, tally.differing, tally.dropped


def test_jobs_run_in_another_process_and_join_waits_for_their_counts(sidecar: Sidecar) -> None:
    before = sidecar.pid
    for _ in range(3):
        assert sidecar.submit(CountedJob("/r"))
    assert before is None  # started by the first submit, not before
    assert sidecar.pid not in (None, os.getpid())
    sidecar.join()
    assert counted("/r") == (3, 0, 0)


def test_a_killed_child_drops_and_counts_until_it_is_started_again(sidecar: Sidecar) -> None:
    sidecar.submit(CountedJob("/r"))
    sidecar.join()
    first = sidecar.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    wait_until_gone(first)
    # Queued: this batch is not due yet. The tail thread's send of it finds
    # the child gone, and drops and counts that batch.
    assert sidecar.submit(CountedJob("/r"))
    wait_until(lambda: sidecar.pid is None)
    # Not restarted within restart_after: each job is dropped and counted, without waiting.
    assert [sidecar.submit(CountedJob("/r")) for _ in range(2)] == [False, False]
    assert sidecar.unsent_drops == 3
    sidecar.restart_after = 0.0
    assert sidecar.submit(CountedJob("/r"))  # started again, the drops sent along
    assert sidecar.pid not in (None, first)
    sidecar.join()
    assert counted("/r") == (2, 0, 3)


def test_join_delivers_the_drops_even_while_the_child_is_down(sidecar: Sidecar) -> None:
    sidecar.submit(CountedJob("/r"))
    sidecar.join()
    pid = sidecar.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until_gone(pid)
    sidecar.submit(CountedJob("/r"))  # the send finds the child gone (here or in join)
    sidecar.join()  # starts a child to count the drop
    assert counted("/r") == (1, 0, 1)


def test_a_message_too_large_for_the_socket_goes_without_its_bodies(sidecar: Sidecar) -> None:
    # Larger than any send buffer the kernel grants: a send of it would fail however
    # empty the socket is, so the job is sent as job.without_bodies().
    assert sidecar.submit(CountedJob("/big", payload=b"x" * (2 * SEND_BUFFER + 1)))
    sidecar.join()
    assert counted("/big") == (1, 0, 0)  # the payload did not arrive (it would count 1 differing)


def test_a_closed_sidecar_drops_and_its_child_exits(sidecar: Sidecar) -> None:
    sidecar.submit(CountedJob("/r"))
    pid = sidecar.pid
    assert pid is not None
    sidecar.close()
    wait_until_gone(pid)
    assert counted("/r") == (1, 0, 0)  # what it had queued ran before it exited
    assert sidecar.submit(CountedJob("/r")) is False


def test_the_child_gets_this_processs_settings_as_they_are_now(settings: object) -> None:
    from django.conf import settings as django_settings

    snapshot = settings_snapshot()
    assert snapshot["DATABASES"] == django_settings.DATABASES  # the test database's name
    assert snapshot["STRANGLER"] == django_settings.STRANGLER


def test_jobs_wait_for_their_batch_and_a_batch_nobody_sends_goes_by_itself(
    sidecar: Sidecar,
) -> None:
    sidecar.submit(CountedJob("/r"))
    sidecar.join()  # the child runs
    PicklingNoted.threads.clear()
    sidecar.batch_pause = 0.2
    for _ in range(3):
        assert sidecar.submit(PicklingNoted("/r"))
    assert PicklingNoted.threads == []  # no copy, no send on the request path yet
    # No later request finds the batch due: the tail thread sends it.
    wait_until(lambda: len(PicklingNoted.threads) == 3)
    assert PicklingNoted.threads == ["strangler-shadow-tails"] * 3
    sidecar.join()
    assert counted("/r") == (4, 0, 0)


def test_the_request_that_finds_the_batch_due_sends_it(sidecar: Sidecar) -> None:
    sidecar.submit(CountedJob("/r"))
    sidecar.join()
    PicklingNoted.threads.clear()
    sidecar.batch_pause = 0.0  # due at once
    assert sidecar.submit(PicklingNoted("/r"))
    assert PicklingNoted.threads == [threading.current_thread().name]
    sidecar.join()
    assert counted("/r") == (2, 0, 0)


def test_a_job_that_cannot_be_sent_costs_only_itself(
    sidecar: Sidecar, caplog: pytest.LogCaptureFixture
) -> None:
    sidecar.batch_pause = 0.2  # the three gather in one batch
    assert sidecar.submit(CountedJob("/r"))
    assert sidecar.submit(Unpicklable("/bad"))
    assert sidecar.submit(CountedJob("/r"))
    sidecar.join()
    assert counted("/r") == (2, 0, 0)
    assert counted("/bad") == (0, 0, 1)
    assert "a job for /bad could not be sent" in caplog.text


def test_a_full_queue_drops_and_counts_without_waiting(sidecar: Sidecar) -> None:
    sidecar.submit(CountedJob("/r"))
    sidecar.join()  # the child runs
    sidecar.max_pending = 2
    sidecar.batch_pause = 3600.0  # no batch falls due: nothing is sent before join
    results = [sidecar.submit(CountedJob("/r")) for _ in range(5)]
    assert results == [True, True, False, False, False]
    assert sidecar.unsent_drops == 3
    sidecar.join()  # sends the two waiting, with the three drops
    assert counted("/r") == (3, 0, 3)


def test_a_batch_over_the_message_limit_goes_in_parts(sidecar: Sidecar) -> None:
    sidecar.submit(CountedJob("/r"))
    sidecar.join()
    sidecar.batch_pause = 3600.0  # one batch, sent by join
    # Over the limit together, each under it alone, and all three within the socket's
    # buffer (twice the limit), so that no part finds the socket full.
    size = sidecar.largest_message * 2 // 5
    for _ in range(3):
        assert sidecar.submit(CountedJob("/parts", payload=b"x" * size))
    sidecar.join()
    assert counted("/parts") == (3, 3, 0)  # every payload arrived (each counts as differing)


def test_a_request_never_waits_behind_another_threads_send(sidecar: Sidecar) -> None:
    sidecar.submit(CountedJob("/r"))
    sidecar.join()
    sidecar.batch_pause = 0.0  # every submit finds its batch due
    GatedJob.gate.clear()
    GatedJob.pickling.clear()
    sending = threading.Thread(target=sidecar.submit, args=(GatedJob("/r"),))
    sending.start()
    assert GatedJob.pickling.wait(10)  # that thread is sending, and held there
    done = threading.Event()

    def submit_another() -> None:
        sidecar.submit(CountedJob("/r"))
        done.set()

    threading.Thread(target=submit_another).start()
    try:
        assert done.wait(5), "a submit waited for another thread's send"
    finally:
        GatedJob.gate.set()
        sending.join()
    sidecar.join()  # the second job went with a later send
    assert counted("/r") == (3, 0, 0)
