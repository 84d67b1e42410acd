"""Django's "ported" routes in the tests; everything else belongs to Flask."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path


def ported(request: HttpRequest) -> HttpResponse:
    return HttpResponse("answered by django")


def ported_item(request: HttpRequest, item_id: int) -> HttpResponse:
    if item_id == 404:
        raise Http404("no such item")
    return JsonResponse({"id": item_id, "by": "django"})


def echo_path(request: HttpRequest, rest: str) -> HttpResponse:
    return JsonResponse({"path": request.path, "by": "django"})


urlpatterns = [
    path("django-echo/<path:rest>", echo_path),
    path("ported/", ported),
    path("items/<int:item_id>/", ported_item),
]
