"""The status page (``/_strangler/``), its switch controls, and ``/_strangler/metrics``."""

from __future__ import annotations

import hmac
from typing import Any

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ..conf import get_conf
from ..inventory import FlaskAppError, Inventory, build_inventory
from ..models import RouteSwitch
from ..shadow.status import shadow_status
from ..traffic import hits_by_route, read_traffic, stats_for
from .metrics import render_metrics

CHANGE_PERMISSION = "strangler.change_routeswitch"


@require_GET
@staff_member_required
def status_page(request: HttpRequest) -> HttpResponse:
    """Progress, every route with its owner, switch and traffic, and the switch controls."""
    traffic = read_traffic()
    error = ""
    try:
        inventory = build_inventory(hits_by_route(traffic))
    except FlaskAppError as exc:
        inventory, error = Inventory(), str(exc)
    rows: list[dict[str, Any]] = []
    for entry in inventory.routes:
        stats = stats_for(traffic, entry.route, entry.methods)
        rows.append(
            {
                "entry": entry,
                "hits": stats.hits,
                "p50_ms": _ms(stats.percentile(0.5)),
                "p95_ms": _ms(stats.percentile(0.95)),
                "errors": stats.errors,
            }
        )
    counts = dict.fromkeys(("ported", "forwarded", "conflict", "django_only"), 0)
    for entry in inventory.routes:
        counts[entry.owner] += len(entry.methods)
    # The busiest rows with traffic, for the chart (20 SVG units a row).
    top = sorted((row for row in rows if row["hits"]), key=lambda row: -row["hits"])[:8]
    context = {
        "inventory": inventory,
        "rows": rows,
        "counts": counts,
        "switches": RouteSwitch.objects.all(),
        "owners": RouteSwitch.Owner.choices,
        "can_switch": _can_switch(request),
        "flask_error": error,
        "routes_percent": round(inventory.progress_routes * 100, 1),
        "traffic_percent": None
        if inventory.progress_traffic is None
        else round(inventory.progress_traffic * 100, 1),
        "top": top,
        "chart_height": len(top) * 20,
        "shadow": shadow_status(),
    }
    return render(request, "strangler/status.html", context)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _can_switch(request: HttpRequest) -> bool:
    has_perm = getattr(request.user, "has_perm", None)
    return bool(has_perm and has_perm(CHANGE_PERMISSION))


@require_POST
@staff_member_required
def set_switch(request: HttpRequest) -> HttpResponseBase:
    """Create, change or delete a switch (staff with ``change_routeswitch``; CSRF-checked)."""
    if not _can_switch(request):
        raise PermissionDenied(
            "changing switches needs the strangler.change_routeswitch permission"
        )
    pattern = request.POST.get("pattern", "").strip()
    methods = request.POST.get("methods", "").strip().upper()
    owner = request.POST.get("owner", "")
    with transaction.atomic():
        if owner == "remove":
            deleted, _ = RouteSwitch.objects.filter(pattern=pattern, methods=methods).delete()
            messages.info(request, f"Switch {pattern} removed." if deleted else "No such switch.")
            return redirect("strangler:status")
        switch = RouteSwitch.objects.filter(
            pattern=pattern, methods=methods
        ).first() or RouteSwitch(pattern=pattern, methods=methods)
        switch.owner = owner
        try:
            switch.percent = int(request.POST.get("percent") or 100)
            switch.full_clean()
        except (ValueError, ValidationError) as exc:
            messages.error(request, f"Switch not saved: {_describe(exc)}")
            return redirect("strangler:status")
        switch.save()
    messages.success(request, f"{pattern} now goes to {owner} ({switch.percent}%).")
    return redirect("strangler:status")


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return "percent must be a whole number from 0 to 100"


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Traffic in Prometheus's text format: for staff, or a scraper with ``METRICS_TOKEN``."""
    if _bearer_matches(request, get_conf()["METRICS_TOKEN"]):
        return render_metrics()
    return _metrics_for_staff(request)


@staff_member_required
def _metrics_for_staff(request: HttpRequest) -> HttpResponse:
    return render_metrics()


def _bearer_matches(request: HttpRequest, token: object) -> bool:
    if not isinstance(token, str) or not token:
        return False
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    # Constant-time comparison: the token is a secret.
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())
