"""What one process knows about the upstream's health: fail fast while it is down.

Without this, a stopped or hung Flask costs every forwarded request the full
``CONNECT_TIMEOUT`` or ``READ_TIMEOUT``, and a handful of such requests hold
every thread of a front's worker, Django's own pages included. Two rules,
both per process and per upstream, decide before a request is sent:

* **Known down** (a circuit breaker). After ``UPSTREAM_DOWN_AFTER``
  consecutive failures that say the upstream cannot be reached (a refused or
  unreachable connection, a connect timeout, a read timeout), the upstream is
  known down for ``UPSTREAM_COOL_OFF`` seconds: forwarded requests are then
  answered 503 at once, never sent. After the cool-off one request is let
  through as a probe (half-open) while the others keep failing fast; any
  answer from the upstream (a 5xx included: it answered) closes the breaker,
  a failure opens it for another cool-off. Outcomes that say nothing about
  reachability (a client's bad body, a malformed answer, a connection the
  upstream closed) neither count nor reset the count.
* **Bounded waiting.** At most ``UPSTREAM_MAX_WAITING`` forwarded requests of
  the process wait at once for the upstream's answer head; one more is
  answered 503 at once, so a hang that has not yet tripped the breaker cannot
  take every thread. Streaming an answer's body does not hold a place.

:class:`UpstreamHealth` is the state machine; it never sleeps and takes the
time from a clock it is given, so it is tested without waiting. Its lock is
held only to update a few numbers, so the async entry uses it too.
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from ..conf import conf_cache, get_conf
from .errors import ForwardingError, UpstreamTimeout, UpstreamUnreachable


class UpstreamKnownDown(ForwardingError):
    """Not sent: the upstream is known to be down (the breaker is open)."""

    status = 503
    code = "upstream_down"


class UpstreamBusy(ForwardingError):
    """Not sent: ``UPSTREAM_MAX_WAITING`` requests already wait on the upstream."""

    status = 503
    code = "upstream_busy"


class Outcome(enum.Enum):
    """What one forward told about the upstream."""

    ANSWERED = "answered"  # a response head arrived, whatever its status
    UNREACHABLE = "unreachable"  # refused, unreachable, or timed out
    UNKNOWN = "unknown"  # nothing about reachability (bad client body, garbled answer)


def outcome_of(error: ForwardingError | None) -> Outcome:
    """The outcome of a forward that raised ``error`` (``None``: an answer arrived)."""
    if error is None:
        return Outcome.ANSWERED
    if isinstance(error, UpstreamTimeout | UpstreamUnreachable):
        return Outcome.UNREACHABLE
    return Outcome.UNKNOWN


class State(enum.Enum):
    CLOSED = "closed"  # requests go through
    OPEN = "open"  # known down: fail fast until the cool-off ends
    HALF_OPEN = "half-open"  # one probe is under way; the others fail fast


@dataclass
class Admission:
    """A request let through; hand it back to :meth:`UpstreamHealth.finish` exactly once."""

    probe: bool
    finished: bool = False


class UpstreamHealth:
    """The breaker and the waiting bound of one upstream in one process (thread-safe)."""

    def __init__(
        self,
        *,
        down_after: int,
        cool_off: float,
        max_waiting: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.down_after = down_after  # 0: never known down
        self.cool_off = cool_off
        self.max_waiting = max_waiting  # None: unbounded
        self.clock = clock
        self.state = State.CLOSED
        self.failures = 0  # consecutive UNREACHABLE outcomes while closed
        self.open_until = 0.0
        self.waiting = 0
        self._probe: Admission | None = None  # the probe under way, if any
        self._lock = threading.Lock()

    def admit(self) -> Admission:
        """Let one request through, or raise ``UpstreamKnownDown`` / ``UpstreamBusy``."""
        with self._lock:
            probe = False
            if self.state is State.HALF_OPEN:
                raise self._known_down()
            if self.state is State.OPEN:
                # A probe from an earlier half-open may still be under way
                # (bounded by the timeouts): one probe at a time.
                if self.clock() < self.open_until or self._probe is not None:
                    raise self._known_down()
                probe = True
            if self.max_waiting is not None and self.waiting >= self.max_waiting:
                raise UpstreamBusy(
                    "too many requests are waiting on the upstream application; try again shortly"
                )
            admission = Admission(probe=probe)
            if probe:
                self.state = State.HALF_OPEN
                self._probe = admission
            self.waiting += 1
            return admission

    def finish(self, admission: Admission, outcome: Outcome) -> None:
        """Record what the admitted request found (once; later calls are ignored)."""
        with self._lock:
            if admission.finished:
                return
            admission.finished = True
            self.waiting -= 1
            probe = admission is self._probe
            if probe:
                self._probe = None
            if outcome is Outcome.ANSWERED:
                # Any answer (a 5xx too) proves the upstream is there.
                self.state = State.CLOSED
                self.failures = 0
            elif outcome is Outcome.UNREACHABLE:
                self.failures += 1
                if probe or (self.state is State.CLOSED and 0 < self.down_after <= self.failures):
                    self._open()
            elif probe and self.state is State.HALF_OPEN:
                # The probe learnt nothing: the next request probes instead.
                self.state = State.OPEN
                self.open_until = self.clock()

    def _open(self) -> None:
        self.state = State.OPEN
        self.open_until = self.clock() + self.cool_off

    def _known_down(self) -> UpstreamKnownDown:
        error = UpstreamKnownDown(
            "the upstream application is down; the request was not sent, try again shortly"
        )
        error.retry_after = max(1, math.ceil(self.open_until - self.clock()))
        return error


def waiting_on(health: UpstreamHealth) -> Waiting:
    """Admit one request on entry; record its outcome on exit, however it ends.

    Wraps the transport's ``send`` (and the first piece of the answer) on
    every entry path; a plain ``with`` also works around an ``await``.
    Raises ``UpstreamKnownDown`` or ``UpstreamBusy`` on entry, sending nothing.
    """
    return Waiting(health)


class Waiting:
    """The context manager :func:`waiting_on` returns.

    A class rather than ``@contextlib.contextmanager``: every forwarded
    request enters one, and a generator-based one costs a generator and two
    resumptions per request.
    """

    __slots__ = ("admission", "health")

    def __init__(self, health: UpstreamHealth) -> None:
        self.health = health

    def __enter__(self) -> Admission:
        self.admission = self.health.admit()
        return self.admission

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            outcome = Outcome.ANSWERED
        elif isinstance(exc, ForwardingError):
            outcome = outcome_of(exc)
        else:
            outcome = Outcome.UNKNOWN
        self.health.finish(self.admission, outcome)


@conf_cache
def get_upstream_health() -> UpstreamHealth:
    """The process's :class:`UpstreamHealth` for ``STRANGLER["UPSTREAM"]``.

    Rebuilt when settings change (a new upstream starts unknown, as in a new process).
    """
    conf = get_conf()
    return UpstreamHealth(
        down_after=conf["UPSTREAM_DOWN_AFTER"],
        cool_off=conf["UPSTREAM_COOL_OFF"],
        max_waiting=conf["UPSTREAM_MAX_WAITING"],
    )
