"""The shadow child process: runs the jobs its front process sends (``sidecar.py``).

Started by the front as ``python -m strangler.shadow.child FD LIMIT``, with
the front's environment and import path. It reads the front's settings
(the first message), sets Django up with them, and then moves each job from
the socket into its own bounded queue (``QUEUE_SIZE``, served by
``WORKERS`` threads; full: dropped and counted), exactly as the front's
threads would run them with ``SHADOW["PROCESS"]`` off. It exits when the
front closes the socket or dies (EOF), after the queue has run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from .channel import JOBS, SETTINGS, SYNC, SYNCED, Drops, decode, encode

logger = logging.getLogger("strangler.shadow")

# The child's nice value: when it and the front want the same CPU, users' requests win.
CHILD_NICE = 10
# Seconds between two reads of the socket while jobs arrive: a few milliseconds
# of delay for the comparison, no wake-up of this process for every request.
READ_PAUSE = 0.005


def set_up_django(snapshot: dict[str, Any]) -> None:
    """Django with the front's settings: its settings module, then its values of now."""
    import django
    from django.conf import settings

    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        for name, value in snapshot.items():
            setattr(settings, name, value)
    else:
        settings.configure(**snapshot)
    django.setup()


def serve(sock: socket.socket, limit: int) -> None:
    """Run the jobs read from ``sock`` until EOF; answer each sync once it is done."""
    from .workers import count_drops, local_workers

    workers = local_workers()
    try:
        while True:
            # Block for the first message; then read whatever else is there, and
            # pause before the next read: while nobody waits on the socket, the
            # front's send wakes nobody up, which is cheaper on the request path.
            messages = [sock.recv(limit)]
            while messages[-1]:
                try:
                    messages.append(sock.recv(limit, socket.MSG_DONTWAIT))
                except BlockingIOError:
                    break
            for data in messages:
                if not data:
                    return  # the front process is gone, or closed the channel
                _handle(sock, data, workers, count_drops)
            time.sleep(READ_PAUSE)
    finally:
        workers.close()


def _handle(
    sock: socket.socket, data: bytes, workers: Any, count_drops: Callable[[Drops], None]
) -> None:
    try:
        kind, drops, payload = decode(data)
    except ValueError:
        logger.exception("shadow child: a message was not read")
        return
    count_drops(drops)
    if kind == JOBS:
        try:
            jobs = pickle.loads(payload)  # noqa: S301 (our own front's socket)
        except Exception:
            logger.exception("shadow child: a batch of jobs was not read")
            return
        for job in jobs:
            workers.submit(job)
    elif kind == SYNC:
        workers.join()
        sock.send(encode(SYNCED, {}, payload))


def main(argv: list[str]) -> int:
    """The child's entry point: ``FD LIMIT`` as passed by the front."""
    fd, limit = int(argv[0]), int(argv[1])
    with contextlib.suppress(OSError):
        os.nice(CHILD_NICE)
    sock = socket.socket(fileno=fd)
    data = sock.recv(limit)
    if not data:
        return 0
    kind, _, snapshot = decode(data)
    if kind != SETTINGS:
        raise SystemExit(f"shadow child: expected the settings first, got {kind!r}")
    set_up_django(snapshot)
    serve(sock, limit)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
