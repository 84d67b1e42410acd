"""The shadow child process (strangler/shadow/child.py): it never outlives its front."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from strangler.shadow.channel import sidecar_supported
from tests.shadow.test_sidecar import wait_until_gone

FRONT = """
import time
import django
django.setup()
from strangler.shadow.sidecar import Sidecar
from tests.shadow.jobs import IdleJob
sidecar = Sidecar()
sidecar.submit(IdleJob())
print(sidecar.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sidecar_supported(), reason="needs AF_UNIX SOCK_SEQPACKET")
@pytest.mark.timeout(60)  # the bounded wait: a child that stayed would hang wait_until_gone
def test_the_child_exits_by_itself_when_its_front_process_is_killed() -> None:
    front = subprocess.Popen(
        [sys.executable, "-c", FRONT],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path),
        },
        stdout=subprocess.PIPE,
    )
    try:
        assert front.stdout is not None
        child = int(front.stdout.readline())
        assert child != front.pid
        front.kill()  # no chance to close anything: the kernel closes its socket
        front.wait()
        wait_until_gone(child)
    finally:
        front.kill()
        front.wait()
        if front.stdout is not None:
            front.stdout.close()
