"""``forward_to_flask``: a view that hands a request to Flask, as the front door would."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from .forwarding import forward_request
from .traffic import HANDED_TO_FLASK


@csrf_exempt
def forward_to_flask(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
    """Answer ``request`` with Flask's answer: same upstream request, identity token included.

    Use it as a URL pattern's view (``path("legacy/<path:rest>", forward_to_flask)``)
    or call it inside a view for what that view does not handle, e.g. the
    methods not ported yet::

        def user(request, pk):
            if request.method != "GET":
                return forward_to_flask(request)
            ...

    CSRF is Flask's business for what Flask answers, so this view is
    ``csrf_exempt``; called from inside your own view, your view's CSRF
    protection applies as usual. Unlike the front door, the answer goes back
    through the rest of ``MIDDLEWARE`` (which may add headers); route a path
    with ``STRANGLER["ROUTES"]`` when it must reach the client untouched.
    URL arguments are accepted and ignored: the path sent is the request's.
    """
    setattr(request, HANDED_TO_FLASK, True)  # counted on Flask's side in traffic
    return forward_request(request)
