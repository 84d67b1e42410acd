"""Django's "ported" routes in the tests; everything else belongs to Flask."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import include, path
from django.views import View
from django.views.decorators.http import require_http_methods

from strangler.views import forward_to_flask


def ported(request: HttpRequest) -> HttpResponse:
    return HttpResponse("answered by django")


def ported_item(request: HttpRequest, item_id: int) -> HttpResponse:
    if item_id == 404:
        raise Http404("no such item")
    return JsonResponse({"id": item_id, "by": "django"})


def echo_path(request: HttpRequest, rest: str) -> HttpResponse:
    return JsonResponse({"path": request.path, "by": "django"})


@require_http_methods(["GET", "HEAD"])
def api_user(request: HttpRequest, user_id: int) -> HttpResponse:
    return JsonResponse({"id": user_id, "by": "django"})


class ThingView(View):
    """Ported GET; every other method is Flask's (the view does not define them)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return JsonResponse({"thing": pk, "by": "django"})


def report(request: HttpRequest, name: str) -> HttpResponseBase:
    """A ported view that hands the CSV export back to Flask."""
    if request.GET.get("format") == "csv":
        return forward_to_flask(request)
    return JsonResponse({"report": name, "by": "django"})


urlpatterns = [
    path("admin/", admin.site.urls),
    path("_strangler/", include("strangler.urls")),
    path("api/users/<int:user_id>", api_user),
    path("api/things/<int:pk>", ThingView.as_view()),
    path("reports/<slug:name>", report),
    path("docs/<str:section>/<str:page>", ported),
    path("handed-back/<path:rest>", forward_to_flask),
    path("django-echo/<path:rest>", echo_path),
    path("ported/", ported),
    path("items/<int:item_id>/", ported_item),
]
