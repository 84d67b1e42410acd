"""The route inventory: every Flask rule and Django pattern, by method, and who answers it.

The two sides write routes differently (Werkzeug's ``<int:id>``, Django's
``<int:id>`` with other converter classes, Django's regex routes), so
routes are matched *by the paths they accept*, not by their text: for each
Flask rule a sample path is built that its converters accept
(``<int:id>`` → ``1``, ``<path:p>`` → ``a/b``, ``<any(a,b):k>`` → ``a``,
``<uuid:u>`` → a UUID, ``<string(length=3):s>`` → ``abc``), and the front
door's own decision and Django's URLconf are asked about that path. Django
patterns that no Flask sample reached are Django-only.

Classification, per route and method:

- ``ported``: Django answers it (Flask still has it);
- ``forwarded``: Flask answers it;
- ``django_only``: Django answers it and Flask has no such route or method;
- ``conflict``: a rule or switch sends it to Django, but Django does not
  resolve the path or its view refuses the method (Django would 404/405).

Only ``strangler.inventory`` imports the Flask app on the Django side (the
uni-directional rule: Django may import Flask, never the reverse).
"""

from __future__ import annotations

import importlib
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from .conf import conf_cache, get_conf
from .forwarding.upstream import UpstreamConfigError, WsgiUpstream, parse_upstream

logger = logging.getLogger("strangler.inventory")

# Tried in order against a converter's regex: the first accepted is the sample.
_SAMPLES = ("1", "x", "abc", "item-1", "1.5", "a/b", str(uuid.UUID(int=1)), "2024-01-31")
# Django URLconf namespaces that are the toolkit's own or Django's admin: not ported routes.
_SKIPPED_NAMESPACES = frozenset({"admin", "strangler"})


class FlaskAppError(Exception):
    """``STRANGLER["FLASK_APP"]`` cannot be loaded; the message names the cause."""

    def __init__(self, message: str, *, missing_attribute: bool = False) -> None:
        super().__init__(message)
        self.missing_attribute = missing_attribute


def flask_app_path() -> str | None:
    """``STRANGLER["FLASK_APP"]``, else the ``wsgi:`` upstream's app, else ``None``."""
    conf = get_conf()
    if conf["FLASK_APP"]:
        return str(conf["FLASK_APP"])
    try:
        upstream = parse_upstream(conf["UPSTREAM"])
    except UpstreamConfigError:
        return None
    return f"{upstream.module}:{upstream.attribute}" if isinstance(upstream, WsgiUpstream) else None


def load_flask_app(path: str) -> Any:
    """Import ``"package.module:app"`` and return the Flask app; ``FlaskAppError`` otherwise."""
    module_name, _, attribute = path.partition(":")
    attribute = attribute or "app"
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an import runs the user's code: anything can fail
        raise FlaskAppError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc
    try:
        app = getattr(module, attribute)
    except AttributeError:
        names = sorted(name for name in vars(module) if not name.startswith("_"))
        raise FlaskAppError(
            f"module {module_name!r} has no attribute {attribute!r} "
            f"(it has: {', '.join(names[:12]) or 'nothing public'})",
            missing_attribute=True,
        ) from None
    if not hasattr(app, "url_map"):
        raise FlaskAppError(
            f"{path!r} is a {type(app).__name__}, not a Flask app (it has no url_map)",
            missing_attribute=True,
        )
    return app


@conf_cache
def flask_url_adapter() -> Any:
    """A Werkzeug ``MapAdapter`` for the Flask app, or ``None`` when none can be loaded."""
    path = flask_app_path()
    if path is None:
        return None
    try:
        app = load_flask_app(path)
    except FlaskAppError as exc:
        logger.warning("the Flask app is not loaded, routes are not labelled: %s", exc)
        return None
    return app.url_map.bind("localhost")


def flask_rule_for(method: str, path: str) -> str | None:
    """The Flask rule (``/users/<int:id>``) that ``path`` would reach, or ``None``."""
    adapter = flask_url_adapter()
    if adapter is None:
        return None
    from werkzeug.exceptions import HTTPException, MethodNotAllowed
    from werkzeug.routing import RequestRedirect

    try:
        rule, _ = adapter.match(path, method=method, return_rule=True)
    except MethodNotAllowed as exc:
        # The route exists with other methods: still its label.
        valid = sorted(exc.valid_methods or ())
        if not valid:
            return None
        rule, _ = adapter.match(path, method=valid[0], return_rule=True)
    except (RequestRedirect, HTTPException):
        return None
    return str(rule.rule)


def sample_for(regex: str, extra: tuple[str, ...] = ()) -> str | None:
    """A value ``regex`` accepts in full, from a fixed list of plausible path values."""
    compiled = re.compile(regex)
    for candidate in (*extra, *_SAMPLES):
        if compiled.fullmatch(candidate):
            return candidate
    return None


def flask_sample_path(rule: Any) -> str | None:
    """A path the Werkzeug ``rule`` accepts, built by its converters; ``None`` if none found."""
    values: dict[str, Any] = {}
    for name, converter in getattr(rule, "_converters", {}).items():
        items = tuple(sorted(getattr(converter, "items", ()) or ()))
        sample = sample_for(converter.regex, items)
        if sample is None:
            return None
        try:
            values[name] = converter.to_python(sample)
        except Exception:
            return None
    try:
        _, url = rule.build(values, append_unknown=False)
    except Exception:
        return None
    return str(url).split("?", 1)[0]


@dataclass
class DjangoRoute:
    """A pattern of the URLconf, flattened: its route text and a path it accepts."""

    route: str
    sample: str | None
    methods: frozenset[str] | None


def django_routes() -> Iterator[DjangoRoute]:
    """Every pattern of the URLconf, includes flattened, except the admin's and ours."""
    from .routing import view_methods

    def walk(patterns: list[Any], prefix: str, sample: str | None) -> Iterator[DjangoRoute]:
        for entry in patterns:
            text = str(entry.pattern)
            piece = _django_sample(entry.pattern)
            piece_sample = None if sample is None or piece is None else sample + piece
            if isinstance(entry, URLResolver):
                if entry.namespace in _SKIPPED_NAMESPACES:
                    continue
                yield from walk(entry.url_patterns, prefix + text, piece_sample)
            elif isinstance(entry, URLPattern):
                yield DjangoRoute(
                    "/" + prefix + text,
                    piece_sample and "/" + piece_sample,
                    view_methods(entry.callback),
                )

    yield from walk(get_resolver().url_patterns, "", "")


def _django_sample(pattern: Any) -> str | None:
    """A path piece the URLconf pattern accepts; ``None`` for a regex with a variable part."""
    route = getattr(pattern, "_route", None)
    if route is None:  # re_path: only a literal regex has a sample without guessing
        literal = pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\/", "/")
        plain = literal.replace("/", "").replace("-", "").replace("_", "")
        return literal if plain == "" or plain.isalnum() else None
    converters: dict[str, Any] = pattern.converters

    def replace(match: re.Match[str]) -> str:
        converter = converters[match.group("name")]
        return sample_for(converter.regex) or "\0"

    text = re.sub(r"<(?:[^>:]+:)?(?P<name>[^>]+)>", replace, route)
    return None if "\0" in text else text


@dataclass
class RouteEntry:
    """One row of the inventory: a route, an owner class, and its methods."""

    route: str
    owner: str
    methods: list[str]
    flask: str | None = None
    django: str | None = None
    note: str = ""
    hits: int = 0
    # The switch deciding it: {"pattern", "methods", "owner", "percent"}, or None.
    switch: dict[str, Any] | None = None


@dataclass
class Inventory:
    """Every route and method, classified, with progress by routes and by traffic."""

    routes: list[RouteEntry] = field(default_factory=list)
    progress_routes: float = 0.0
    progress_traffic: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The ``strangler_routes --json`` format (see DESIGN.md)."""
        return {
            "routes": [asdict(entry) for entry in self.routes],
            "progress": {"routes": self.progress_routes, "traffic": self.progress_traffic},
        }


def build_inventory(traffic: dict[tuple[str, str], dict[str, int]] | None = None) -> Inventory:
    """Classify every Flask rule and Django pattern by method.

    ``traffic`` maps (route, method) to ``{"django": hits, "flask": hits}``
    (``strangler.traffic.hits_by_route``); without it, traffic progress is ``None``.
    Raises ``FlaskAppError`` when ``FLASK_APP`` names an app that cannot be loaded.
    """
    path = flask_app_path()
    app = load_flask_app(path) if path else None
    rows: dict[tuple[str, str], RouteEntry] = {}
    counted: dict[str, int] = {"ported": 0, "forwarded": 0, "conflict": 0}
    reached: set[str] = set()

    def add(route: str, owner: str, method: str, **extra: Any) -> None:
        entry = rows.setdefault((route, owner), RouteEntry(route, owner, [], **extra))
        if entry.switch is None and extra.get("switch"):
            entry.switch = extra["switch"]
        if method not in entry.methods:
            entry.methods.append(method)
        if traffic is not None:
            entry.hits += sum(traffic.get((route, method), {}).values())

    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule) if app else ():
        sample = flask_sample_path(rule)
        for method in _rule_methods(rule):
            if sample is None:
                add(
                    rule.rule,
                    "conflict",
                    method,
                    flask=rule.rule,
                    note="no sample path found for this rule's converters",
                )
                counted["conflict"] += 1
                continue
            owner, django_route, note, switch = _classify(method, sample)
            if django_route:
                reached.add(django_route)
            add(
                rule.rule,
                owner,
                method,
                flask=rule.rule,
                django=django_route,
                note=note,
                switch=switch,
            )
            counted[owner] += 1
    for route in django_routes():
        if route.route in reached:
            continue
        methods = sorted(route.methods - {"HEAD", "OPTIONS"}) if route.methods else ["*"]
        note = _flask_near(route.sample)
        for method in methods:
            add(route.route, "django_only", method, django=route.route, note=note)
    total = sum(counted.values())
    inventory = Inventory(
        routes=list(rows.values()),
        progress_routes=round(counted["ported"] / total, 4) if total else 0.0,
    )
    if traffic is not None:
        django_hits = sum(hits.get("django", 0) for hits in traffic.values())
        all_hits = sum(sum(hits.values()) for hits in traffic.values())
        inventory.progress_traffic = round(django_hits / all_hits, 4) if all_hits else None
    return inventory


def _flask_near(sample: str | None) -> str:
    """A note for a Django-only route Flask nearly has (by the paths they accept).

    Flask accepts the Django sample although no Flask sample reached Django:
    the two accept some paths in common (converters differ). Or Flask has the
    other trailing-slash spelling, which the front door does not join.
    """
    if not sample:
        return ""
    overlapping = flask_rule_for("GET", sample)
    if overlapping:
        return f"overlaps Flask's {overlapping}: their converters accept different paths"
    if sample == "/":
        return ""
    twin = sample[:-1] if sample.endswith("/") else sample + "/"
    rule = flask_rule_for("GET", twin)
    return f"Flask has {rule}: the trailing slashes differ" if rule else ""


def _rule_methods(rule: Any) -> list[str]:
    # HEAD follows GET and OPTIONS is Flask's automatic answer: listing them is noise.
    methods = set(rule.methods or ())
    if "GET" in methods:
        methods.discard("HEAD")
    if getattr(rule, "provide_automatic_options", False):
        methods.discard("OPTIONS")
    return sorted(methods)


def _classify(method: str, sample: str) -> tuple[str, str | None, str, dict[str, Any] | None]:
    """(owner class, Django route reached, note, switch) for ``method`` on a rule's sample."""
    from .routing import decide_path, view_methods
    from .switches import current_switches

    decision = decide_path(method, sample)
    owner: str = decision.owner
    note = ""
    switched = None
    switch = current_switches().first(method, sample)
    if switch is not None:
        owner = switch.rule.owner
        switched = {
            "pattern": switch.rule.pattern,
            "methods": sorted(switch.rule.methods or ()),
            "owner": owner,
            "percent": switch.percent,
        }
        if switch.percent < 100:
            note = f"{switch.percent}% canary, the rest forwarded"
    try:
        match = resolve(sample)
    except Resolver404:
        match = None
    django_route = "/" + match.route if match is not None and match.route is not None else None
    allowed = view_methods(match.func) if match is not None else None
    if owner == "flask":
        # Django's route is reached (not Django-only) even while Flask answers.
        return "forwarded", django_route, note, switched
    if match is None:
        why = (
            "Django's STATIC_URL or MEDIA_URL prefix covers it"
            if decision.source == "static" and switched is None
            else f"a {'switch' if switched else 'rule'} sends it to {owner}"
        )
        return "conflict", None, f"{why}, but Django does not resolve the path (404)", switched
    if allowed is not None and method not in allowed:
        return "conflict", django_route, f"Django's view does not allow {method}", switched
    return "ported", django_route, note, switched
