"""Django pages for the identity tests: who Django thinks the user is, then the test project's."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def django_whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse({"id": user.pk, "username": user.get_username() or None})


urlpatterns = [
    path("django-whoami/", django_whoami),
    path("", include("tests.urls")),
]
