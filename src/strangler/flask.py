"""The Flask side of django-strangler: who the user is, from Django's identity token.

::

    from strangler.flask import DjangoIdentity, current_identity, roles_required

    identity = DjangoIdentity(app)  # or identity.init_app(app) in a factory

    @app.route("/reports")
    @roles_required("curator")
    def reports():
        return f"hello {current_identity.username}"

Nothing here imports Django: Flask installs ``django-strangler[flask]``.
"""

from __future__ import annotations

from .identity.flask import DjangoIdentity, current_identity, login_required, roles_required
from .identity.tokens import ANONYMOUS, Identity

__all__ = [
    "ANONYMOUS",
    "DjangoIdentity",
    "Identity",
    "current_identity",
    "login_required",
    "roles_required",
]
