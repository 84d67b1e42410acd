"""Views ported from the legacy app: the event log, and GET of the samples API."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe

from .models import Event, Sample

MAX_PER_PAGE = 100


@login_required
@require_safe
def event_log(request: HttpRequest) -> HttpResponse:
    """Ported first: every part of the lab writes here, so it had to be Django's early."""
    page = Paginator(Event.objects.all(), 25).get_page(request.GET.get("page"))
    return render(request, "labs/events.html", {"page": page})


def api_error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_safe
def sample_list(request: HttpRequest) -> JsonResponse:
    """``GET /api/samples``: the legacy JSON, key for key; POST is still Flask's."""
    if not request.user.is_authenticated:
        return api_error(401, "log in first")
    try:
        page = int(request.GET.get("page", 1))
        per_page = int(request.GET.get("per_page", 20))
    except ValueError:
        page = per_page = 0
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        return api_error(400, f"page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}")
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
