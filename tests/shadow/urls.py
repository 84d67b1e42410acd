"""Django's ports of the legacy endpoints in ``tests/shadow/legacy.py``."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from tests.shadow.legacy import BLOB, ITEMS, PAGE, SECRET_TOKEN


def items(request: HttpRequest) -> JsonResponse:
    # Keys in another order than Flask's: JSON objects compare by key.
    return JsonResponse({"total": len(ITEMS), "items": [dict(reversed(i.items())) for i in ITEMS]})


def items_dropped(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"items": [{"id": i["id"], "tags": i["tags"]} for i in ITEMS], "total": 2})


def items_reordered(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"items": list(reversed(ITEMS)), "total": 2})


def items_status(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"items": ITEMS, "total": 2}, status=202)


def stamp(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {"value": 42, "generated_at": datetime.now(UTC).isoformat(), "request_id": "x"}
    )


def whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse({"user": user.get_username() if user.is_authenticated else None})


def page(request: HttpRequest) -> HttpResponse:
    # Re-indented, class tokens in another order: the same page.
    html = PAGE.replace('class="list main"', 'class="main  list"').replace("<li>", "\n    <li>")
    return HttpResponse(html)


def secret(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"access_token": SECRET_TOKEN, "echo": None})
    response.set_cookie("django_side", SECRET_TOKEN)
    return response


def slow(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"slow": True})


def large(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"blob": BLOB})


@csrf_exempt
def notes(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"stored": json.loads(request.body or b"null")}, status=201)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/items", items),
    path("api/items-dropped", items_dropped),
    path("api/items-reordered", items_reordered),
    path("api/items-status", items_status),
    path("api/stamp", stamp),
    path("api/whoami", whoami),
    path("api/secret", secret),
    path("api/notes", notes),
    path("api/slow", slow),
    path("api/large", large),
    path("page", page),
]
