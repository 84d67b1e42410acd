"""``STRANGLER["SHADOW"]`` read once into typed rules (defaults in ``strangler.conf``).

``shadow_settings()`` raises ``ShadowConfigError`` naming the bad value; the
system checks (``strangler.shadow.checks``) call it too, so ``manage.py
check`` reports the same message before any request meets it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..conf import SHADOW_DEFAULTS, conf_cache, get_conf
from ..routing import RoutePatternError, compile_pattern
from .channel import sidecar_supported
from .paths import FieldPatternError, PathSet

# Methods that change nothing (RFC 9110 §9.2.1) and may be replayed freely.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ROUTE_KEYS = frozenset({"SAMPLE", "IGNORE", "METHODS"})
_METHOD = re.compile(r"[A-Z]+")


class ShadowConfigError(ValueError):
    """``STRANGLER["SHADOW"]`` is malformed; the message says which value and why.

    ``check_id`` is the system check that reports this kind of problem.
    """

    def __init__(self, message: str, check_id: str = "strangler.E070") -> None:
        super().__init__(message)
        self.check_id = check_id


NUMBER = "strangler.E071"
ROUTE_RULE = "strangler.E072"
PATTERN = "strangler.E073"
PROCESS = "strangler.E074"


@dataclass(frozen=True)
class RouteRule:
    """How one route is shadowed: its sampling rate, ignored fields, allowed methods."""

    sample: float
    ignore: PathSet
    # Unsafe methods this route explicitly opted in to (Flask runs them twice!).
    unsafe_methods: frozenset[str] = frozenset()

    def allows(self, method: str) -> bool:
        """May a request with ``method`` be replayed to Flask?"""
        return method in SAFE_METHODS or method in self.unsafe_methods


@dataclass(frozen=True)
class ShadowSettings:
    """``STRANGLER["SHADOW"]``, validated."""

    default: RouteRule
    routes: tuple[tuple[re.Pattern[str], RouteRule], ...]
    headers: tuple[str, ...]
    queue_size: int
    workers: int
    noise_warmup: int
    noise_sample: float
    max_body: int
    max_request_body: int
    stored_body: int
    keep: int
    redact: tuple[str, ...]
    record: float
    record_routes: tuple[re.Pattern[str], ...] = field(default=())
    record_keep: int = 10000
    # Shadow work runs in a child process of each front process (else in its threads).
    process: bool = False

    def rule_for(self, path: str) -> RouteRule:
        """The first ``ROUTES`` rule matching ``path``, else the default."""
        for regex, rule in self.routes:
            if regex.fullmatch(path):
                return rule
        return self.default

    def records(self, path: str) -> bool:
        """Is ``path`` among the routes whose forwarded requests are recorded?"""
        return not self.record_routes or any(r.fullmatch(path) for r in self.record_routes)


def _share(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ShadowConfigError(
            f"SHADOW[{name!r}] must be a number from 0.0 to 1.0, not {value!r}", NUMBER
        )
    return float(value)


def _count(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ShadowConfigError(
            f"SHADOW[{name!r}] must be an integer >= {minimum}, not {value!r}", NUMBER
        )
    return value


def _strings(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ShadowConfigError(f"SHADOW[{name!r}] must be a list of strings, not {value!r}")
    return tuple(value)


def _ignore(name: str, value: Any, base: Sequence[str] = ()) -> PathSet:
    try:
        return PathSet.from_patterns([*base, *_strings(name, value)])
    except FieldPatternError as exc:
        raise ShadowConfigError(f"SHADOW[{name!r}]: {exc}", PATTERN) from None


def _pattern(name: str, pattern: Any) -> re.Pattern[str]:
    try:
        return compile_pattern(pattern)
    except RoutePatternError as exc:
        raise ShadowConfigError(f"SHADOW[{name!r}]: {exc}", PATTERN) from None


def _process(value: Any) -> bool:
    if value is None:
        return sidecar_supported()
    if not isinstance(value, bool):
        raise ShadowConfigError(
            f"SHADOW['PROCESS'] must be True, False or None (a child process where the "
            f"platform allows it), not {value!r}",
            PROCESS,
        )
    if value and not sidecar_supported():
        raise ShadowConfigError(
            "SHADOW['PROCESS'] is True, but this platform has no AF_UNIX SOCK_SEQPACKET "
            "sockets for the shadow child process (Linux has them)",
            PROCESS,
        )
    return value


def _route_rule(pattern: str, value: Any, default: RouteRule, base: Sequence[str]) -> RouteRule:
    where = f"ROUTES'][{pattern!r}"
    if not isinstance(value, dict):
        raise ShadowConfigError(
            f"SHADOW['ROUTES'][{pattern!r}] must be a dict such as {{'SAMPLE': 0.1}}, "
            f"not {value!r}",
            ROUTE_RULE,
        )
    unknown = set(value) - ROUTE_KEYS
    if unknown:
        raise ShadowConfigError(
            f"SHADOW['ROUTES'][{pattern!r}] has unknown keys {sorted(unknown)}; "
            f"known: {sorted(ROUTE_KEYS)}",
            ROUTE_RULE,
        )
    methods = _strings(f"{where}']['METHODS", value.get("METHODS", []))
    bad = [m for m in methods if not _METHOD.fullmatch(m)]
    if bad:
        raise ShadowConfigError(
            f"SHADOW['ROUTES'][{pattern!r}]['METHODS'] must be upper-case method names, not {bad}",
            ROUTE_RULE,
        )
    return RouteRule(
        sample=_share(f"{where}']['SAMPLE", value.get("SAMPLE", default.sample)),
        ignore=_ignore(f"{where}']['IGNORE", value.get("IGNORE", []), base),
        unsafe_methods=frozenset(methods) - SAFE_METHODS,
    )


def parse_shadow(raw: Any) -> ShadowSettings:
    """Validate a ``SHADOW`` dict (already merged over the defaults)."""
    if not isinstance(raw, dict):
        raise ShadowConfigError(f"SHADOW must be a dict, not {type(raw).__name__}")
    unknown = set(raw) - set(SHADOW_DEFAULTS)
    if unknown:
        raise ShadowConfigError(f"SHADOW has unknown keys {sorted(unknown)}")
    base = _strings("IGNORE", raw["IGNORE"])
    default = RouteRule(sample=_share("SAMPLE", raw["SAMPLE"]), ignore=_ignore("IGNORE", base))
    routes = raw["ROUTES"]
    if not isinstance(routes, dict):
        raise ShadowConfigError(f"SHADOW['ROUTES'] must be a dict, not {routes!r}", ROUTE_RULE)
    return ShadowSettings(
        default=default,
        routes=tuple(
            (_pattern("ROUTES", pattern), _route_rule(pattern, value, default, base))
            for pattern, value in routes.items()
        ),
        headers=_strings("HEADERS", raw["HEADERS"]),
        queue_size=_count("QUEUE_SIZE", raw["QUEUE_SIZE"]),
        workers=_count("WORKERS", raw["WORKERS"]),
        noise_warmup=_count("NOISE_WARMUP", raw["NOISE_WARMUP"], minimum=0),
        noise_sample=_share("NOISE_SAMPLE", raw["NOISE_SAMPLE"]),
        max_body=_count("MAX_BODY", raw["MAX_BODY"]),
        max_request_body=_count("MAX_REQUEST_BODY", raw["MAX_REQUEST_BODY"], minimum=0),
        stored_body=_count("STORED_BODY", raw["STORED_BODY"]),
        keep=_count("KEEP", raw["KEEP"]),
        redact=_strings("REDACT", raw["REDACT"]),
        record=_share("RECORD", raw["RECORD"]),
        record_routes=tuple(
            _pattern("RECORD_ROUTES", p) for p in _strings("RECORD_ROUTES", raw["RECORD_ROUTES"])
        ),
        record_keep=_count("RECORD_KEEP", raw["RECORD_KEEP"]),
        process=_process(raw["PROCESS"]),
    )


@conf_cache
def shadow_settings() -> ShadowSettings:
    """The validated ``STRANGLER["SHADOW"]`` (cached until the setting changes).

    The identity header is always redacted, whatever it is named.
    """
    conf = get_conf()
    parsed = parse_shadow(conf["SHADOW"])
    identity = conf["IDENTITY"]
    header = identity.get("HEADER") if isinstance(identity, dict) else None
    if isinstance(header, str):
        parsed = replace(parsed, redact=(*parsed.redact, header))
    return parsed
