"""Views ported from the legacy app: the event log, and GET of the samples API."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from .models import Event, Experiment, Result, Sample

MAX_PER_PAGE = 100


@login_required
@require_safe
def event_log(request: HttpRequest) -> HttpResponse:
    """Ported first: every part of the lab writes here, so it had to be Django's early."""
    page = Paginator(Event.objects.all(), 25).get_page(request.GET.get("page"))
    return render(request, "labs/events.html", {"page": page})


def naive_utc(moment: datetime) -> datetime:
    """The legacy columns hold naive UTC; Django may read them as aware (SQLite, USE_TZ)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def api_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def query_int(request: HttpRequest, name: str, default: int) -> int:
    """As Flask's ``request.args.get(name, default, type=int)``: not a number means the default."""
    try:
        return int(request.GET.get(name, default))
    except ValueError:
        return default


def page_arguments(request: HttpRequest) -> tuple[int, int] | JsonResponse:
    """``page`` and ``per_page`` of a logged-in user's request, or the legacy API's 401 or 400."""
    if not request.user.is_authenticated:
        return api_error(401, "log in first")
    page, per_page = query_int(request, "page", 1), query_int(request, "per_page", 20)
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        return api_error(400, f"page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}")
    return page, per_page


@require_safe
def sample_list(request: HttpRequest) -> JsonResponse:
    """``GET /api/samples``: the legacy JSON, key for key; POST is still Flask's."""
    arguments = page_arguments(request)
    if isinstance(arguments, JsonResponse):
        return arguments
    page, per_page = arguments
    samples = Sample.objects.select_related("owner").prefetch_related("tags").order_by("id")
    total = samples.count()
    rows = samples[(page - 1) * per_page : page * per_page]
    more = page * per_page < total
    return JsonResponse(
        {
            "items": [sample.as_json() for sample in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "next": f"{reverse('sample-list')}?page={page + 1}&per_page={per_page}"
            if more
            else None,
        }
    )


@require_safe
def sample_detail(request: HttpRequest, sample_id: int) -> JsonResponse:
    if not request.user.is_authenticated:
        return api_error(401, "log in first")
    sample = get_object_or_404(Sample.objects.select_related("owner"), pk=sample_id)
    return JsonResponse(sample.as_json())


@require_safe
def experiment_list(request: HttpRequest) -> JsonResponse:
    """``GET /api/experiments``, ported and in shadow: Flask's answer is compared with it."""
    arguments = page_arguments(request)
    if isinstance(arguments, JsonResponse):
        return arguments
    page, per_page = arguments
    experiments = Experiment.objects.order_by("-id")
    fields = ("id", "title", "sample_id", "status", "started_at")
    rows = list(experiments.values(*fields)[(page - 1) * per_page : page * per_page])
    results = defaultdict(list)
    measured = Result.objects.filter(experiment_id__in=[row["id"] for row in rows])
    for result in measured.order_by("id").values("experiment_id", "metric", "value", "unit"):
        experiment_id = result.pop("experiment_id")
        results[experiment_id].append(result)
    items = [
        {
            **row,
            "started_at": naive_utc(row["started_at"]).isoformat(),
            "results": results[row["id"]],
        }
        for row in rows
    ]
    return JsonResponse(
        {"items": items, "page": page, "per_page": per_page, "total": experiments.count()}
    )
