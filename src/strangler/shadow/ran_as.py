"""Who a shadowed request ran as, settled on the request path and sent as plain data.

Flask's copy must be signed for the user Django answered, even if the
session ends before a shadow worker gets to it, so the user is read when
Django has answered. What travels to the worker (perhaps the front's child
process) is the cheapest thing that names that user again:

* a user of the project's user model: its primary key, read back by the
  worker (pickling a ``User`` cost 12 µs on the request path in
  benchmarks/shadow.py's setup, its key under 1 µs; the query runs off the
  request path). A Flask-only user of the cut-over window
  (``identity/cutover.py``) is such a user once Django logged them in;
* anonymous: a marker (the worker's ``load_user`` still reads a Flask
  login cookie, as the front's identity signer would);
* any other user object: the object itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import LazyObject, empty


@dataclass(frozen=True)
class RanAs:
    """A user, as plain data; ``user()`` gives it back (in another process too)."""

    # The primary key of a user of the user model; None for anonymous.
    pk: Any = None
    # A user object that is not of the user model, sent as it is.
    other: Any = None

    def user(self) -> Any:
        """The user again: read by its key, the object sent, or an ``AnonymousUser``."""
        # Imported here: live.py (and so this module) is imported before apps are
        # ready, and only a request with a user needs django.contrib.auth.
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import AnonymousUser

        if self.other is not None:
            return self.other
        if self.pk is None:
            return AnonymousUser()
        model = get_user_model()
        try:
            return model._default_manager.get(pk=self.pk)
        except model.DoesNotExist:
            return AnonymousUser()  # deleted since: Flask's copy goes as nobody


def settle(request: Any) -> RanAs | None:
    """Who ``request`` ran as; None when the worker can tell from the environ alone.

    None when nothing set ``request.user``, and when nothing read the lazy user
    Django's ``AuthenticationMiddleware`` set and the request has neither a
    cookie nor an ``Authorization`` header: then nobody but anonymous can be
    read from it, now or later, and
    the worker's ``load_user`` finds so without running Django code. Reading
    that user here (a session, a user lookup) was a third of what a shadowed
    request cost the front process.
    """
    user = getattr(request, "user", None)
    if user is None:
        return None
    if (
        isinstance(user, LazyObject)
        and user._wrapped is empty
        and not request.META.get("HTTP_COOKIE")
        # A middleware may log a user in from credentials in a header (HTTP
        # Basic, a bearer token): then the lazy user is read here after all.
        and not request.META.get("HTTP_AUTHORIZATION")
    ):
        return None
    if not getattr(user, "is_authenticated", False):
        return RanAs()
    from django.contrib.auth import get_user_model

    if isinstance(user, get_user_model()):
        return RanAs(pk=user.pk)
    return RanAs(other=user)
