"""The logout route for a Flask app's GET link, without logout CSRF.

Flask apps log out with a link (``<a href="/logout">``); Django 5's
``LogoutView`` accepts POST only, because a GET logout can be triggered by any
other site (an ``<img src>`` pointing at it logs the visitor out: logout
CSRF). ``LogoutView`` here accepts the app's GET link when the browser says
the request is its own: a same-origin navigation (``Sec-Fetch-Site:
same-origin``, or ``none`` for a typed address or a bookmark), or, from a
browser that does not send Fetch metadata, a ``Referer`` on this host. Any
other GET (another site, a prefetch, no evidence either way) gets a page with
a one-click, CSRF-protected POST form instead. POST is Django's own
``LogoutView``.

Mount it at the path the Flask app's link uses, so the link keeps working once
Django owns login::

    from strangler.identity.views import LogoutView

    urlpatterns = [path("logout", LogoutView.as_view()), ...]
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

# Sec-Fetch-Site values that mean "this browser, on this site" (Fetch metadata).
_OWN_SITE = frozenset({"same-origin", "none"})


def is_own_navigation(request: HttpRequest) -> bool:
    """Whether ``request`` was made by the user on this site, not by another site or a prefetch."""
    purpose = request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", "")
    if "prefetch" in purpose.lower():
        return False  # a browser guessing the next click must not log anyone out
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site.lower() in _OWN_SITE
    referer = request.headers.get("Referer")
    if not referer:
        return False
    host = urlsplit(referer).netloc
    return bool(host) and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


class LogoutView(auth_views.LogoutView):
    """Django's ``LogoutView`` that also takes the Flask app's GET link, safely.

    A GET from this site logs out and redirects (``next`` honoured within
    this host, else ``LOGOUT_REDIRECT_URL``); any other GET renders
    ``strangler/logout_confirm.html`` (a POST form; override the template to
    style it). HEAD is refused (405) so link checkers do not log anyone out.
    """

    http_method_names = ["get", "post", "options"]
    # The refused HEAD is Django's 405, not forwarded to Flask's old logout.
    forward_refused_methods = False
    confirm_template_name = "strangler/logout_confirm.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Log out for the user's own click; otherwise ask, with a CSRF-protected form."""
        if is_own_navigation(request):
            response: HttpResponse = self.post(request, *args, **kwargs)
            return response
        return self.confirm(request)

    def confirm(self, request: HttpRequest) -> HttpResponse:
        """The page asking the user to confirm with one click."""
        next_url = request.GET.get(self.redirect_field_name, "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = ""
        return render(request, self.confirm_template_name, {"next": next_url})
