"""The messages between a front process and its shadow child process (``shadow/sidecar.py``).

One ``AF_UNIX``/``SOCK_SEQPACKET`` socket pair per front process: each send is
one whole message (no framing to get wrong), a non-blocking send either
queues all of it or fails at once with ``EAGAIN`` (the child is behind: the
job is dropped and counted), and when either side dies the other reads EOF.

A message is a pickled ``(kind, drops, payload)``:

* ``SETTINGS``: the first message, the front's Django settings as they are
  now (tests override them at run time; the child must see the same ones);
* ``JOBS``: a batch of jobs to run (plain data with a ``run()`` method), as
  the bytes of one pickled list: the front pickles a batch in one call, and
  checks its size against the limit before it sends;
* ``SYNC`` / ``SYNCED``: "tell me when everything sent so far has run and
  its counts are written", and the child's answer, with the same token.

``drops`` are the jobs the front dropped per route since its last message:
the front writes nothing to the database, the child counts them. Pickle is
safe here because only the two ends of a private socket pair ever read or
write it (the pair is created by the front and inherited by its own child).
No framework imports.
"""

from __future__ import annotations

import contextlib
import pickle
import socket
import sys
from typing import Any

SETTINGS = "settings"
JOBS = "jobs"
SYNC = "sync"
SYNCED = "synced"

Drops = dict[str, int]
Message = tuple[str, Drops, Any]

# Asked of the kernel for the front's send buffer; it grants at most
# net.core.wmem_max. Larger means more jobs wait in the socket while the child is busy.
SEND_BUFFER = 4 * 1024 * 1024


def sidecar_supported() -> bool:
    """Can shadow work run in a child process here (``AF_UNIX`` ``SOCK_SEQPACKET``: Linux)?"""
    return sys.platform.startswith("linux") and hasattr(socket, "SOCK_SEQPACKET")


def socket_pair() -> tuple[socket.socket, socket.socket, int]:
    """(front's end, child's end, largest message a send may carry)."""
    front, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # The default buffer works too; larger answers are then sent without their body.
    with contextlib.suppress(OSError):
        front.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    # A datagram over the send buffer fails with EMSGSIZE however empty the socket
    # is; half of it leaves room for the kernel's own overhead and a few queued jobs.
    limit = front.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) // 2
    return front, child, limit


def encode(kind: str, drops: Drops, payload: Any) -> bytes:
    """One message, ready for one ``send``."""
    return pickle.dumps((kind, drops, payload), protocol=pickle.HIGHEST_PROTOCOL)


def decode(data: bytes) -> Message:
    """A message read by one ``recv`` (raises ``ValueError`` when it is not one)."""
    try:
        kind, drops, payload = pickle.loads(data)  # noqa: S301 (our own child's socket)
    except Exception as exc:
        raise ValueError(f"not a shadow message ({len(data)} bytes): {exc!r}") from exc
    if kind not in (SETTINGS, JOBS, SYNC, SYNCED) or not isinstance(drops, dict):
        raise ValueError(f"not a shadow message: kind {kind!r}")
    return kind, drops, payload
