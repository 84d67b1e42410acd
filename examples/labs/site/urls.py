"""What Django answers. Everything else is forwarded to the legacy Flask app."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from strangler.identity.views import LogoutView

from .instruments.views import instruments
from .labs.views import event_log, experiment_list, sample_detail, sample_list


def health(request: HttpRequest) -> JsonResponse:
    """The front door's own health: Django is up and its database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "app": "django"})


urlpatterns = [
    # Ported: Django owns login for both apps now.
    path("login", auth_views.LoginView.as_view(), name="login"),
    # The legacy pages log out with a GET link: this view takes it safely.
    path("logout", LogoutView.as_view(), name="logout"),
    # Ported first: the shared event log.
    path("events", event_log, name="events"),
    # Ported: reading samples; creating them (POST) is still Flask's.
    path("api/samples", sample_list, name="sample-list"),
    path("api/samples/<int:sample_id>", sample_detail, name="sample-detail"),
    # Ported, not trusted yet: answered by Flask while Django's answer is compared.
    path("api/experiments", experiment_list, name="experiment-list"),
    # Greenfield: only Django has it.
    path("instruments/", instruments, name="instruments"),
    # Not /admin/: the legacy app has /admin/users, and the admin resolves all below it.
    path("django-admin/", admin.site.urls),
    # The migration's status page (staff): progress, routes, traffic, switches.
    path("_strangler/", include("strangler.urls")),
    path("health", health),
]
