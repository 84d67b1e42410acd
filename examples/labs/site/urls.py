"""What Django has ported so far. Everything else is forwarded to Flask."""

from __future__ import annotations

from django.http import Http404, HttpRequest, JsonResponse
from django.urls import path

from examples.labs.legacy.data import SAMPLES


def sample(request: HttpRequest, sample_id: int) -> JsonResponse:
    """Ported from Flask's /samples/<int:id>: same path, same JSON, now Django's."""
    if sample_id not in SAMPLES:
        raise Http404("no such sample")
    return JsonResponse({**SAMPLES[sample_id], "served_by": "django"})


def health(request: HttpRequest) -> JsonResponse:
    """A Django-only route."""
    return JsonResponse({"ok": True, "served_by": "django"})


urlpatterns = [
    path("samples/<int:sample_id>", sample),
    path("health", health),
]
