"""The front process's end of its shadow child process (``SHADOW["PROCESS"]``).

Shadow work in threads of the front process takes the GIL from the threads
answering users: at 100% sampling the user's p50 grew by +159% in
benchmarks/shadow.py, and nice values or a shorter switch interval cannot
fix that. Here the request path pays for the sampling decision, a copy of
Django's answer, one pickle and one non-blocking send; everything else
happens in a child process (``strangler.shadow.child``) with its own GIL,
at a lower CPU priority.

* The child is started on the first submit, so after a server forked its
  workers: each front process has its own child and its own socket pair.
* A send that would wait (the child is behind and the socket is full) or
  finds the child dead drops the job and counts it; the count travels to
  the child with the next message, and the child writes it.
* A dead child is started again on a later submit, at most once every
  ``restart_after`` seconds; its stderr is the front's stderr.
* The child reads EOF when the front process exits or closes the pair, runs
  what it has queued, writes its counts and exits by itself.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import pickle
import select
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from .channel import JOB, SETTINGS, SYNC, SYNCED, Drops, decode, encode, socket_pair
from .workers import Job

logger = logging.getLogger("strangler.shadow")

# Seconds between two starts of the child: one that dies at once is not restarted in a loop.
RESTART_AFTER = 5.0
# Seconds ``join`` waits for the child to have run everything (tests, commands).
SYNC_TIMEOUT = 120.0
# Seconds ``close`` waits for the child to finish what it queued before killing it.
CLOSE_TIMEOUT = 10.0


class SidecarError(RuntimeError):
    """The child process did not answer a ``join`` (it died, or took too long)."""


class Sidecar:
    """Runs shadow jobs in a child process; ``submit`` never waits for it."""

    def __init__(self, *, restart_after: float = RESTART_AFTER) -> None:
        self.restart_after = restart_after
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._limit = 0
        self._started_at = -math.inf
        self._owner = os.getpid()
        self._closed = False
        self._drops: Drops = {}
        self._tokens = itertools.count(1)

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first submit)."""
        process = self._process
        return process.pid if process is not None and self._socket is not None else None

    @property
    def unsent_drops(self) -> int:
        """Jobs dropped in this process whose count the child has not been sent yet."""
        return sum(self._drops.values())

    def submit(self, job: Job) -> bool:
        """Send ``job`` to the child; False (dropped and counted) when it cannot take it now."""
        sock = self._socket
        if sock is None or self._owner != os.getpid():
            sock = self._start()
            if sock is None:
                self._count_drop(job.drop_key)
                return False
        drops = self._take_drops()
        data = encode(JOB, drops, job)
        if len(data) > self._limit:
            # A datagram over the limit fails however empty the socket is: send the
            # job without its answer bodies (status and headers are still compared).
            smaller = job.without_bodies()
            data = encode(JOB, drops, smaller) if smaller is not None else b""
            if not data or len(data) > self._limit:
                self._return_drops(drops, job.drop_key)
                return False
        try:
            sock.send(data, socket.MSG_DONTWAIT)
        except BlockingIOError:
            self._return_drops(drops, job.drop_key)  # the child is behind
            return False
        except OSError as exc:
            self._return_drops(drops, job.drop_key)
            self._lost(sock, exc)
            return False
        return True

    def join(self) -> None:
        """Wait until the child has run every job sent so far and written its counts.

        Raises ``SidecarError`` when the child dies or does not answer within
        ``SYNC_TIMEOUT`` seconds.
        """
        with self._sync_lock:
            sock = self._socket
            if sock is None:
                if not self._drops:
                    return  # nothing was ever sent, nothing to count
                sock = self._start(now=True)
                if sock is None:
                    raise SidecarError("the shadow child process could not be started")
            token = next(self._tokens)
            deadline = time.monotonic() + SYNC_TIMEOUT
            drops = self._take_drops()
            try:
                _send_before(sock, encode(SYNC, drops, token), deadline)
                self._await_synced(sock, token, deadline)
            except OSError as exc:
                self._return_drops(drops, None)
                self._lost(sock, exc)
                raise SidecarError(f"the shadow child process did not answer: {exc}") from exc

    def close(self) -> None:
        """Close the channel; the child runs what it queued, writes its counts, exits."""
        with self._lock:
            self._closed = True
            sock, self._socket = self._socket, None
            process, self._process = self._process, None
        if sock is not None:
            sock.close()
        if process is None or self._owner != os.getpid():
            return  # a forked copy: the child is the original process's
        try:
            process.wait(CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("shadow child process %s did not exit; killed", process.pid)
            process.kill()
            process.wait()

    def _start(self, *, now: bool = False) -> socket.socket | None:
        with self._lock:
            if self._owner != os.getpid():
                # Forked after this front started its child: the socket is the parent's.
                self._owner, self._socket, self._process = os.getpid(), None, None
                self._drops = {}
            if self._closed:
                return None
            if self._socket is not None:
                return self._socket  # another request thread started it meanwhile
            started = time.monotonic()
            if not now and started - self._started_at < self.restart_after:
                return None
            self._started_at = started
            if self._process is not None:
                self._process.poll()  # reap the dead one
            try:
                self._socket, self._process, self._limit = _spawn()
            except (OSError, subprocess.SubprocessError):
                logger.exception("shadow: the child process could not be started")
                return None
            return self._socket

    def _lost(self, sock: socket.socket, exc: BaseException) -> None:
        with self._lock:
            if self._socket is not sock:
                return
            self._socket = None
            process = self._process
        sock.close()
        code = process.poll() if process is not None else None
        logger.error(
            "shadow: the child process %s is gone (%s, exit status %s); jobs are dropped "
            "and counted until it is started again (at most every %s s)",
            process.pid if process is not None else "?",
            exc,
            code,
            self.restart_after,
        )

    def _take_drops(self) -> Drops:
        if not self._drops:
            return {}
        with self._lock:
            drops, self._drops = self._drops, {}
        return drops

    def _return_drops(self, drops: Drops, key: str | None) -> None:
        with self._lock:
            for route, count in drops.items():
                self._drops[route] = self._drops.get(route, 0) + count
            if key is not None:
                self._drops[key] = self._drops.get(key, 0) + 1

    def _count_drop(self, key: str | None) -> None:
        self._return_drops({}, key)

    def _await_synced(self, sock: socket.socket, token: int, deadline: float) -> None:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no answer within {SYNC_TIMEOUT} s")
            readable, _, _ = select.select([sock], [], [], remaining)
            if not readable:
                continue
            data = sock.recv(self._limit)
            if not data:
                raise ConnectionResetError("the child process closed the channel")
            kind, _, payload = decode(data)
            if kind == SYNCED and payload == token:
                return


def _send_before(sock: socket.socket, data: bytes, deadline: float) -> None:
    """Send one message, waiting for room in the socket until ``deadline``."""
    while True:
        try:
            sock.send(data, socket.MSG_DONTWAIT)
            return
        except BlockingIOError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the child read nothing for {SYNC_TIMEOUT} s") from None
            select.select([], [sock], [], remaining)


def _spawn() -> tuple[socket.socket, subprocess.Popen[bytes], int]:
    """Start a child process with its end of a new socket pair, and send it the settings."""
    front, child, limit = socket_pair()
    try:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "strangler.shadow.child", str(child.fileno()), str(limit)],
            pass_fds=(child.fileno(),),
            env=child_environment(),
            stdin=subprocess.DEVNULL,
        )
    except BaseException:
        front.close()
        raise
    finally:
        child.close()  # the child holds it now; EOF reaches each side when the other exits
    front.send(encode(SETTINGS, {}, settings_snapshot()))
    return front, process, limit


def child_environment() -> dict[str, str]:
    """The front's environment, with its import path and its settings module."""
    from django.conf import settings

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(path or os.getcwd() for path in sys.path)
    module = os.environ.get("DJANGO_SETTINGS_MODULE") or getattr(settings, "SETTINGS_MODULE", None)
    if module:
        env["DJANGO_SETTINGS_MODULE"] = module
    else:
        env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def settings_snapshot() -> dict[str, Any]:
    """Every Django setting as it is now in this process, for the child to run with.

    Settings can change at run time (a test's ``override_settings``, the
    test database's name): the child must compare and store with the same
    ones. A value that cannot be pickled is left to the settings module.
    """
    from django.conf import settings

    snapshot: dict[str, Any] = {}
    for name in dir(settings):
        if not name.isupper():
            continue
        value = getattr(settings, name)
        try:
            pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: S112 (the settings module still provides it)
            continue
        snapshot[name] = value
    return snapshot
