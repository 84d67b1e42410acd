"""The status page and metrics: ``path("_strangler/", include("strangler.urls"))``."""

from __future__ import annotations

from django.urls import path

from .status import views

app_name = "strangler"

urlpatterns = [
    path("", views.status_page, name="status"),
    path("switches", views.set_switch, name="set_switch"),
    path("metrics", views.metrics, name="metrics"),
]
