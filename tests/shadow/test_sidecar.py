"""The front's end of its shadow child process (strangler/shadow/sidecar.py), for real.

The child is a real process started from this test process; it counts into
this test run's database (it runs with this process's settings).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strangler.shadow.channel import SEND_BUFFER, sidecar_supported
from strangler.shadow.models import ShadowTally
from strangler.shadow.sidecar import Sidecar, settings_snapshot
from tests.shadow.jobs import CountedJob

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
    # Not restarted within restart_after: each job is dropped and counted, without waiting.
    assert [sidecar.submit(CountedJob("/r")) for _ in range(3)] == [False, False, False]
    down = sidecar.pid
    assert down is None
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
    assert sidecar.submit(CountedJob("/r")) is False
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
