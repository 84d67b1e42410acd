"""Logout for links: the legacy pages log out with ``<a href="/logout">``."""

from __future__ import annotations

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def logout_view(request: HttpRequest) -> HttpResponse:
    """GET asks (a link must not log anyone out: CSRF); POST logs out of both apps."""
    if request.method == "POST":
        logout(request)
        return redirect("/login")
    return render(request, "registration/logout_confirm.html")
