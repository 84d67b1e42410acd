"""URLconf of the django-revproxy front: its ProxyView as a catch-all, as its docs show."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import path, re_path
from revproxy.views import ProxyView

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^(?P<path>.*)$", ProxyView.as_view(upstream=settings.UPSTREAM)),
]
