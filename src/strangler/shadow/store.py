"""Write and read what shadow found: differences (redacted, size-capped) and counts.

The one home of the ``strangler_shadow --json`` format (DESIGN.md) and of
``recent_differences``, which the status page and the admin list from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Model, Sum

from .compare import Comparison
from .fields import Answer
from .models import ShadowDifference, ShadowTally
from .redact import (
    REDACTED,
    is_secret_name,
    redact_body,
    redact_headers,
    redact_target,
    redact_text,
)
from .settings import ShadowSettings

Headers = Iterable[tuple[str, str]]


def count(route: str, *, compared: int = 0, differing: int = 0, dropped: int = 0) -> None:
    """Add to a route's tally (created on first use; safe between processes)."""
    if not (compared or differing or dropped):
        return
    changes = {
        "compared": F("compared") + compared,
        "differing": F("differing") + differing,
        "dropped": F("dropped") + dropped,
    }
    if ShadowTally.objects.filter(route=route).update(**changes):
        return
    try:
        with transaction.atomic():
            ShadowTally.objects.create(
                route=route, compared=compared, differing=differing, dropped=dropped
            )
    except IntegrityError:  # another worker created it first
        ShadowTally.objects.filter(route=route).update(**changes)


def _redacted_values(
    values: Mapping[str, list[str | None]], extra: tuple[str, ...]
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for path, pair in values.items():
        secret = any(is_secret_name(part, extra) for part in path.replace("[", ".").split("."))
        cleaned[path] = [
            None if value is None else REDACTED if secret else redact_text(value) for value in pair
        ]
    return cleaned


def save_difference(
    *,
    route: str,
    method: str,
    target: str,
    request_headers: Headers,
    django: Answer,
    flask: Answer,
    comparison: Comparison,
    identity: str,
    conf: ShadowSettings,
    source: str = ShadowDifference.Source.SHADOW,
) -> ShadowDifference:
    """Store one difference with both answers, secrets redacted, bodies cut to size."""
    extra = conf.redact
    fields = list(comparison.fields)
    if comparison.more:
        fields.append(f"... and {comparison.more} more")
    difference = ShadowDifference.objects.create(
        route=route[:500],
        method=method[:16],
        path=redact_target(target, extra)[:2000],
        django_status=django.status,
        flask_status=flask.status,
        fields=fields,
        values=_redacted_values(comparison.values, extra),
        identity=identity[:300],
        request_headers=redact_headers(request_headers, extra),
        django_headers=redact_headers(django.headers, extra),
        django_body=redact_body(django.body, django.media_type, conf.stored_body, extra),
        flask_headers=redact_headers(flask.headers, extra),
        flask_body=redact_body(flask.body, flask.media_type, conf.stored_body, extra),
        source=source,
    )
    keep_newest(ShadowDifference, conf.keep)
    return difference


def keep_newest(model: type[Model], keep: int) -> None:
    """Delete all but the newest ``keep`` rows of ``model`` (differences, recordings)."""
    # pks grow with time, so one indexed query finds the cut.
    cut = model._default_manager.order_by("-pk").values_list("pk", flat=True)[keep : keep + 1]
    oldest_dropped = next(iter(cut), None)
    if oldest_dropped is not None:
        model._default_manager.filter(pk__lte=oldest_dropped).delete()


def recent_differences(limit: int = 20, route: str | None = None) -> list[ShadowDifference]:
    """The newest differences, newest first (for the status page and the command)."""
    queryset = ShadowDifference.objects.all()
    if route:
        queryset = queryset.filter(route=route)
    return list(queryset.order_by("-at", "-pk")[:limit])


def difference_summary(difference: ShadowDifference) -> dict[str, Any]:
    """One difference in the ``strangler_shadow --json`` format."""
    return {
        "route": difference.route,
        "method": difference.method,
        "path": difference.path,
        "status": [difference.django_status, difference.flask_status],
        "fields": list(difference.fields),
        "at": difference.at.isoformat(),
    }


def shadow_totals(route: str | None = None) -> dict[str, int]:
    """Requests compared, differing and dropped, over every route (or one)."""
    tallies = ShadowTally.objects.all()
    if route:
        tallies = tallies.filter(route=route)
    totals = tallies.aggregate(
        compared=Sum("compared"), differing=Sum("differing"), dropped=Sum("dropped")
    )
    return {key: value or 0 for key, value in totals.items()}


def shadow_report(limit: int = 100, route: str | None = None) -> dict[str, Any]:
    """``{"compared": N, "dropped": N, "differences": [...]}`` as DESIGN.md settles it."""
    totals = shadow_totals(route)
    return {
        "compared": totals["compared"],
        "dropped": totals["dropped"],
        "differences": [difference_summary(d) for d in recent_differences(limit, route)],
    }
