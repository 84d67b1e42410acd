"""The front process's end of its shadow child process (``SHADOW["PROCESS"]``).

Shadow work in threads of the front process takes the GIL from the threads
answering users: at 100% sampling the user's p50 grew by +159% in
benchmarks/shadow.py, and nice values or a shorter switch interval cannot
fix that. Here the request path pays for the sampling decision and a copy
of Django's answer; everything else happens in a child process
(``strangler.shadow.child``) with its own GIL, at a lower CPU priority.

* Jobs go to the child in batches (``BATCH_PAUSE``): one pickle call and one
  non-blocking send per batch, not per request, made by the request that
  finds the batch due, or by a thread that looks every ``TAIL_PAUSE`` for a
  batch no later request came to send.

* The child is started on the first submit, so after a server forked its
  workers: each front process has its own child and its own socket pair.
* A send that would wait (the child is behind and the socket is full) or
  finds the child dead drops the batch and counts it; the count travels to
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

from .channel import JOBS, SETTINGS, SYNC, SYNCED, Drops, decode, encode, socket_pair
from .workers import Job

logger = logging.getLogger("strangler.shadow")

# Seconds between two starts of the child: one that dies at once is not restarted in a loop.
RESTART_AFTER = 5.0
# Seconds ``join`` waits for the child to have run everything (tests, commands).
SYNC_TIMEOUT = 120.0
# Seconds jobs gather before they are sent as one message: one pickle call and
# one system call per batch instead of one per request.
BATCH_PAUSE = 0.005
# Seconds between two looks of the tail thread at a batch no request came to send.
TAIL_PAUSE = 0.05
# Jobs waiting to be sent at most; more are dropped and counted.
MAX_PENDING = 1000
# Seconds ``close`` waits for the child to finish what it queued before killing it.
CLOSE_TIMEOUT = 10.0


# This process's id, kept by a fork hook: the request path compares it on every
# submit, and ``os.getpid`` is a system call.
_pid = os.getpid()


def _note_fork() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_note_fork)


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
        self._owner = _pid
        self._closed = False
        self._drops: Drops = {}
        self._tokens = itertools.count(1)
        self.batch_pause = BATCH_PAUSE
        self.max_pending = MAX_PENDING
        # Jobs waiting to be sent, since when the first of them waits.
        self._pending: list[Job] = []
        self._pending_since = 0.0
        self._pending_lock = threading.Lock()
        # One batch or one sync on the socket at a time, in the order they were taken.
        self._send_lock = threading.Lock()
        self._tail_thread: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first submit)."""
        process = self._process
        return process.pid if process is not None and self._socket is not None else None

    @property
    def largest_message(self) -> int:
        """Bytes one message to the child may carry (0 before the child was started)."""
        return self._limit

    @property
    def unsent_drops(self) -> int:
        """Jobs dropped in this process whose count the child has not been sent yet."""
        return sum(self._drops.values())

    def submit(self, job: Job) -> bool:
        """Queue ``job``; False (dropped and counted) when it cannot be taken now.

        Jobs go to the child in batches, one pickle and one system call for
        each (``BATCH_PAUSE``): the request whose job finds the batch due sends
        it, and a thread that wakes every ``TAIL_PAUSE`` sends a batch no later
        request came to send. A batch the child cannot take (its socket is
        full, or it died) is dropped and counted.
        """
        sock = self._socket
        if sock is None or self._owner != _pid:
            sock = self._start()
            if sock is None:
                self._count_drop(job.drop_key)
                return False
        now = time.monotonic()
        with self._pending_lock:
            if self._closed or len(self._pending) >= self.max_pending:
                full = due = True
            else:
                full = False
                if not self._pending:
                    self._pending_since = now
                self._pending.append(job)
                due = now - self._pending_since >= self.batch_pause
        if full:
            self._count_drop(job.drop_key)
            return False
        if due and self._send_lock.acquire(blocking=False):
            # Never behind another thread's send: that one took the batch, and this
            # job goes with the next.
            try:
                self._send_pending()
            finally:
                self._send_lock.release()
        return True

    def _send_tails(self) -> None:
        """The tail thread: send a batch that waited too long for a request to send it."""
        while not self._closed:
            time.sleep(TAIL_PAUSE)
            with self._pending_lock:
                due = bool(self._pending) and (
                    time.monotonic() - self._pending_since >= self.batch_pause
                )
            if due:
                self._flush()

    def _flush(self) -> None:
        """Send every queued job now, after any send under way."""
        with self._send_lock:
            self._send_pending()

    def _send_pending(self) -> None:
        """Send the queued jobs in as few messages as the limit allows (``_send_lock`` held)."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
        # Split in halves while a message is over the limit; a job alone over it
        # goes without its bodies once (``shrunk``), else it is dropped.
        parts: list[tuple[list[Job], bool]] = [(batch, False)] if batch else []
        while parts:
            jobs, shrunk = parts.pop()
            pickled = self._pickled(jobs)
            if pickled is None:
                continue  # no job of it could be pickled (each was counted)
            data, jobs = pickled
            if self._send_jobs(data, jobs):
                continue
            if len(jobs) > 1:
                half = len(jobs) // 2
                parts += [(jobs[half:], False), (jobs[:half], False)]  # in order
            elif not shrunk and (smaller := jobs[0].without_bodies()) is not None:
                # A message over the limit fails however empty the socket is: send the
                # job without its answer bodies (status and headers are still compared).
                parts.append(([smaller], True))
            else:
                self._count_drop(jobs[0].drop_key)

    def _pickled(self, jobs: list[Job]) -> tuple[bytes, list[Job]] | None:
        """The jobs as one pickle (one call: what they share is written once), and which.

        A job that cannot be pickled is logged, dropped and counted; the others go.
        """
        try:
            return pickle.dumps(jobs, protocol=pickle.HIGHEST_PROTOCOL), jobs
        except Exception:
            if len(jobs) == 1:
                # Made into bytes off the request path: say which job failed.
                logger.exception("shadow: a job for %s could not be sent", jobs[0].drop_key)
                self._count_drop(jobs[0].drop_key)
                return None
        kept = [job for job in jobs if self._pickled([job]) is not None]
        return self._pickled(kept) if kept else None

    def _send_jobs(self, data: bytes, jobs: list[Job]) -> bool:
        """Send pickled ``jobs`` as one message, or count them as dropped.

        False, with nothing counted, when the message is over the limit (the
        caller sends the jobs in smaller parts).
        """
        sock = self._socket
        keys = [job.drop_key for job in jobs]
        if sock is None:
            self._return_drops({}, *keys)  # the child died with an earlier message
            return True
        drops = self._take_drops()
        message = encode(JOBS, drops, data)
        if len(message) > self._limit:
            self._return_drops(drops)
            return False
        try:
            sock.send(message, socket.MSG_DONTWAIT)
        except BlockingIOError:
            self._return_drops(drops, *keys)  # the child is behind
        except OSError as exc:
            self._return_drops(drops, *keys)
            self._lost(sock, exc)
        return True

    def join(self) -> None:
        """Wait until the child has run every job sent so far and written its counts.

        Raises ``SidecarError`` when the child dies or does not answer within
        ``SYNC_TIMEOUT`` seconds.
        """
        with self._sync_lock:
            self._flush()  # what waits for its batch goes first
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
                self._return_drops(drops)
                self._lost(sock, exc)
                raise SidecarError(f"the shadow child process did not answer: {exc}") from exc

    def close(self) -> None:
        """Send what waits, close the channel; the child runs it, writes its counts, exits."""
        with self._pending_lock:
            self._closed = True  # the tail thread ends
        if self._owner == _pid:
            self._flush()
        with self._lock:
            sock, self._socket = self._socket, None
            process, self._process = self._process, None
        if sock is not None:
            sock.close()
        if process is None or self._owner != _pid:
            return  # a forked copy: the child is the original process's
        try:
            process.wait(CLOSE_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("shadow child process %s did not exit; killed", process.pid)
            process.kill()
            process.wait()

    def _start(self, *, now: bool = False) -> socket.socket | None:
        with self._lock:
            if self._owner != _pid:
                # Forked after this front started its child: the socket is the parent's.
                self._owner, self._socket, self._process = _pid, None, None
                self._drops = {}
                # The parent's queue and locks (held by a thread that is not here).
                self._pending = []
                self._pending_lock = threading.Lock()
                self._send_lock = threading.Lock()
                self._tail_thread = None
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
            if self._tail_thread is None:
                self._tail_thread = threading.Thread(
                    target=self._send_tails, name="strangler-shadow-tails", daemon=True
                )
                self._tail_thread.start()
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

    def _return_drops(self, drops: Drops, *keys: str | None) -> None:
        with self._lock:
            for route, count in drops.items():
                self._drops[route] = self._drops.get(route, 0) + count
            for key in keys:
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
