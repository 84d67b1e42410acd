"""Run-time switches: ``RouteSwitch`` rows, seen by every front within ``SWITCH_TTL``.

How a change travels: saving or deleting a ``RouteSwitch`` (admin, status
page, ``manage.py strangler_switch``) writes the whole table to the cache
named by ``STRANGLER["CACHE"]`` once the transaction commits. Every process
keeps the table in memory and asks the cache again at most once per
``SWITCH_TTL`` seconds, so the hot path costs a clock read, and a change
reaches every worker of every front within ``SWITCH_TTL`` without a restart.

What fails, and what happens:

- the cache holds no table (first start, eviction, a flushed Redis): the
  process that notices reads the database once and puts the table back;
- the cache or the database is down: the process keeps its last known
  table, keeps serving, logs a warning, and tries again after ``SWITCH_TTL``;
- a write could not reach the cache: the cached table expires after
  ``STALE_AFTER_TTLS`` TTLs, and the next reader reloads it from the database.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.db import router, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .conf import conf_cache, get_conf
from .rules import Owner, Rule, make_rule

logger = logging.getLogger("strangler.switches")

CACHE_KEY = "strangler:switches:v1"
# A cached table lives this many TTLs, so one missed write heals by itself.
STALE_AFTER_TTLS = 12


@dataclass(frozen=True, slots=True)
class Switch:
    """A compiled ``RouteSwitch``: its rule and its canary share."""

    rule: Rule
    percent: int

    def owner_for(self, sticky_key: str | None) -> Owner:
        """The owner for a client: the switch's, or Flask for clients outside the canary."""
        if self.percent >= 100:
            return self.rule.owner
        if sticky_key is None or self.percent <= 0:
            return "flask"
        return self.rule.owner if canary_bucket(sticky_key) < self.percent else "flask"


def canary_bucket(sticky_key: str) -> int:
    """0-99, the same for a client on every front and every switch.

    One bucket for every switch (no per-switch salt): a client inside a 10%
    canary stays inside when it grows to 20%, and the same 10% of clients
    meet every route being tried, instead of a different 10% per route.
    """
    digest = hashlib.blake2b(sticky_key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 100


class SwitchSet:
    """The switches in force, in order, with one combined regex to reject a path fast.

    Most requests match no switch; one ``fullmatch`` of the alternation of
    every pattern answers that, instead of one match per switch.
    """

    __slots__ = ("_any", "switches")

    def __init__(self, switches: tuple[Switch, ...]) -> None:
        self.switches = switches
        self._any = (
            re.compile("|".join(f"(?:{s.rule.regex.pattern})" for s in switches), re.DOTALL)
            if switches
            else None
        )

    def first(self, method: str, path: str) -> Switch | None:
        """The first switch covering ``method`` on ``path``, or ``None``."""
        if self._any is None or not self._any.fullmatch(path):
            return None
        return next((s for s in self.switches if s.rule.matches(method, path)), None)

    def __iter__(self) -> Iterator[Switch]:
        return iter(self.switches)

    def __len__(self) -> int:
        return len(self.switches)


NO_SWITCHES = SwitchSet(())

SwitchRow = dict[str, Any]


def compile_switches(rows: Sequence[SwitchRow]) -> tuple[Switch, ...]:
    """Compile table rows; a row that no longer compiles is skipped with an error log."""
    switches = []
    for row in rows:
        try:
            rule = make_rule(
                row["pattern"], row["methods"], row["owner"], where=f"switch {row['pattern']!r}"
            )
        except (KeyError, ValueError) as exc:
            logger.error("ignoring a malformed route switch %r: %s", row, exc)
            continue
        switches.append(Switch(rule, int(row.get("percent", 100))))
    return tuple(switches)


def load_rows() -> list[SwitchRow]:
    """The switch table from the database, in order."""
    from .models import RouteSwitch  # this module is imported before the app registry is ready

    return list(RouteSwitch.objects.order_by("pk").values("pattern", "methods", "owner", "percent"))


class SwitchTable:
    """One process's copy of the switch table, refreshed from the cache once per TTL."""

    def __init__(self, cache_alias: str, ttl: float) -> None:
        self.cache_alias = cache_alias
        self.ttl = ttl
        self._switches = NO_SWITCHES
        self._rows: list[SwitchRow] | None = None
        self._checked_at = -math.inf
        self._lock = threading.Lock()

    def due(self) -> bool:
        """Will the next ``get()`` read the cache or the database (I/O)?

        For the ASGI entry, which must not do that I/O on its event loop.
        """
        return time.monotonic() - self._checked_at >= self.ttl

    def get(self) -> SwitchSet:
        """The switches, refreshed when older than the TTL (never blocks once loaded)."""
        if time.monotonic() - self._checked_at < self.ttl:
            return self._switches
        # Once a table is loaded, one thread refreshes and the others keep
        # serving with it; before that, they wait for the first load.
        if not self._lock.acquire(blocking=self._rows is None):
            return self._switches
        try:
            if time.monotonic() - self._checked_at >= self.ttl:
                self.refresh()
        finally:
            self._lock.release()
        return self._switches

    def refresh(self) -> None:
        """Read the table from the cache (or the database on a miss); keep it on failure."""
        self._checked_at = time.monotonic()
        try:
            rows = caches[self.cache_alias].get(CACHE_KEY)
        except Exception as exc:  # any backend's "down" (redis, database, memcached)
            logger.warning(
                "switches: cache %r unavailable (%s); keeping the last known table",
                self.cache_alias,
                exc,
            )
            return
        if rows is None:
            try:
                rows = load_rows()
            except Exception as exc:
                _close_broken_connection()
                logger.warning(
                    "switches: database unavailable (%s); keeping the last known table", exc
                )
                return
            self._store(rows)
        self._use(rows)

    def publish(self) -> bool:
        """Write the database's table to the cache and use it here at once; ``False`` if the
        cache could not be written (other fronts then see it when their cached copy expires).
        """
        rows = load_rows()
        stored = self._store(rows)
        self._use(rows)
        self._checked_at = time.monotonic()
        return stored

    def expire(self) -> None:
        """Ask the cache again on the next request."""
        self._checked_at = -math.inf

    def _use(self, rows: list[SwitchRow]) -> None:
        if rows != self._rows:
            self._switches = SwitchSet(compile_switches(rows))
            self._rows = rows

    def _store(self, rows: list[SwitchRow]) -> bool:
        try:
            caches[self.cache_alias].set(CACHE_KEY, rows, timeout=self.ttl * STALE_AFTER_TTLS)
        except Exception as exc:
            logger.warning(
                "switches: could not write the table to cache %r (%s)", self.cache_alias, exc
            )
            return False
        return True


@conf_cache
def switch_table() -> SwitchTable:
    """This process's ``SwitchTable``, built from ``CACHE`` and ``SWITCH_TTL``."""
    conf = get_conf()
    return SwitchTable(str(conf["CACHE"]), float(conf["SWITCH_TTL"]))


def current_switches() -> SwitchSet:
    """The switches in force in this process (the hot path's view of the table)."""
    return switch_table().get()


def publish_switches() -> bool:
    """Push the database's switch table to every front (through the cache); see ``publish``."""
    return switch_table().publish()


def _close_broken_connection() -> None:
    # The WSGI fast path sends no request signals, so nothing else would
    # close a connection that broke while the database was away.
    from django.db import connections

    from .models import RouteSwitch

    connection = connections[router.db_for_read(RouteSwitch)]
    if not connection.in_atomic_block:
        connection.close()


# "app_label.Model": a lazy reference, resolved once the model is loaded.
@receiver(post_save, sender="strangler.RouteSwitch")
@receiver(post_delete, sender="strangler.RouteSwitch")
def _switch_changed(sender: type[Any], **kwargs: Any) -> None:
    using = router.db_for_write(sender)
    transaction.on_commit(_publish_quietly, using=using)


def _publish_quietly() -> None:
    publish_switches()
