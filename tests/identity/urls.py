"""Django pages for the identity tests: who Django thinks the user is, then the test project's."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from strangler.identity.views import LogoutView as StranglerLogoutView


def django_whoami(request: HttpRequest) -> JsonResponse:
    user = request.user
    return JsonResponse({"id": user.pk, "username": user.get_username() or None})


@csrf_exempt
@require_POST
def django_logout(request: HttpRequest) -> JsonResponse:
    logout(request)
    return JsonResponse({"logged_out": True})


urlpatterns = [
    path("django-whoami/", django_whoami),
    path("django-logout/", django_logout),
    path("accounts/login/", LoginView.as_view()),
    # The Flask app's own logout link (GET /logout), now Django's.
    path("logout", StranglerLogoutView.as_view()),
    path("", include("tests.urls")),
]
