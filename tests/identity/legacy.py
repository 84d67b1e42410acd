"""A legacy Flask app that uses Flask-Login and its own role checks, plus DjangoIdentity.

Its own code (the ``User`` class, ``login_manager``, ``/flask-login`` and
``/own-role-check``) is what a real legacy app already has; the identity
lines are the ones docs/identity.md tells an app to add.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, jsonify, request
from flask_login import LoginManager, UserMixin, current_user, login_user
from flask_login import login_required as flask_login_required

from strangler.flask import DjangoIdentity, current_identity, login_required, roles_required


class User(UserMixin):  # type: ignore[misc]
    """The legacy app's own user: an id, a name, and roles kept in Flask's database."""

    def __init__(self, user_id: str, name: str, roles: set[str]) -> None:
        self.id = user_id
        self.name = name
        self.roles = roles


def own_role_required(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The legacy app's own role decorator, built on Flask-Login's current_user."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(401)
            if role not in current_user.roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def legacy_config(public_key: str, **extra: Any) -> dict[str, Any]:
    """Config for ``create_legacy_app``: trusts ``public_key``; users 7 and 8 exist."""
    return {
        "SECRET_KEY": "flask-tests-secret",
        "STRANGLER_VERIFYING_KEYS": [public_key],
        "USERS": {"7": ("ada (flask)", {"admin"}), "8": ("bob (flask)", set())},
        **extra,
    }


def create_legacy_app(config: dict[str, Any], *, use_flask_login: bool = True) -> Flask:
    """The app, configured with ``config`` (the STRANGLER_* keys, SECRET_KEY)."""
    app = Flask("legacy_identity")
    app.config.update(config)
    # {user id: (name, roles)}: the legacy app's users table.
    users: dict[str, tuple[str, set[str]]] = app.config.setdefault("USERS", {})

    if use_flask_login:
        login_manager = LoginManager(app)

        @login_manager.user_loader  # type: ignore[untyped-decorator]
        def load_user(user_id: str) -> User | None:
            if user_id not in users:
                return None
            name, roles = users[user_id]
            return User(user_id, name, roles)

    DjangoIdentity(app)

    @app.route("/whoami", methods=["GET", "POST", "DELETE"])
    def whoami() -> Any:
        return jsonify(
            {
                "id": current_identity.id,
                "username": current_identity.username,
                "email": current_identity.email,
                "roles": sorted(current_identity.roles),
                "permissions": sorted(current_identity.permissions),
                "is_staff": current_identity.is_staff,
                "is_superuser": current_identity.is_superuser,
                "claims": dict(current_identity.claims),
                "flask_login_user": (
                    current_user.name if use_flask_login and current_user.is_authenticated else None
                ),
            }
        )

    @app.route("/anywhere/<path:rest>")
    def anywhere(rest: str) -> Any:
        """The same answer as /whoami, on any path (non-ASCII ones included)."""
        return whoami()

    @app.route("/headers")
    def headers() -> Any:
        return jsonify([[name, value] for name, value in request.headers.items()])

    @app.route("/private")
    @login_required
    def private() -> Any:
        return f"private for {current_identity.username}"

    @app.route("/curators/<int:sample>")
    @roles_required("curator")
    def curators(sample: int) -> Any:
        return f"sample {sample} for curator {current_identity.username}"

    @app.route("/flask-login")
    @flask_login_required  # type: ignore[untyped-decorator]
    def flask_login_page() -> Any:
        return f"flask-login user {current_user.name}"

    @app.route("/own-role-check")
    @own_role_required("admin")
    def own_role_check() -> Any:
        return f"admin {current_user.name}"

    @app.route("/legacy-login", methods=["POST"])
    def legacy_login() -> Any:
        # Flask's login before the cut-over: puts the user id in Flask's session.
        user_id = request.form["user_id"]
        name, roles = users[user_id]
        login_user(User(user_id, name, roles))
        return "logged in on flask"

    return app
