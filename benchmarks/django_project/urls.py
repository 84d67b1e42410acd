"""URLconf of the strangler front: one ported page; everything else goes to Flask."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import path


def ported(request: HttpRequest) -> HttpResponse:
    return HttpResponse("answered by django")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("ported/", ported),
]
