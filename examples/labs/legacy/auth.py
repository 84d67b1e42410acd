"""Login with Flask-Login, and role checks (viewer < scientist < admin)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from .db import db
from .eventlog import record
from .forms import LoginForm
from .models import User

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db().get(User, int(user_id)) if user_id.isdigit() else None


def role_required(*roles: str) -> Callable[[F], F]:
    """Anonymous users go to the login page; users without one of ``roles`` get 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def safe_next(target: str | None) -> str:
    """Only local paths: ``next`` must not send the user to another site."""
    if target and target.startswith("/") and not urlsplit(target).netloc:
        return target
    return url_for("pages.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        user = db().scalar(select(User).where(User.username == form.username.data))
        if user is not None and user.active and user.check_password(form.password.data or ""):
            login_user(user)
            record("login", user.username)
            db().commit()
            return redirect(safe_next(request.args.get("next")))
        flash("Unknown username or wrong password.", "error")
    return render_template("login.html", form=form)


@bp.route("/logout")
def logout() -> Response:
    logout_user()
    return redirect(url_for("pages.index"))
