"""A legacy Flask app written the way real ones are, for the one-login tests.

Flask-SQLAlchemy with its own ``user`` table, Werkzeug password hashes
(``generate_password_hash``), Flask-Login with a login view, a "Please log in"
flash, and a logout *link* (GET). The identity lines are the ones
docs/identity.md tells such an app to add: ``DjangoIdentity(app)`` and the
``STRANGLER_*`` config; the loader that finds the legacy user for a Django
identity is configured with ``STRANGLER_LEGACY_USER_FIELD``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, get_flashed_messages, jsonify, redirect, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from werkzeug.security import check_password_hash

from strangler.flask import DjangoIdentity


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class User(UserMixin, db.Model):  # type: ignore[misc, name-defined]
    """The legacy ``user`` table, as the Flask app defined it years ago."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str] = mapped_column(String(120))  # not unique, as in many legacy apps
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def is_active(self) -> bool:
        return self.active


def create_app(database_url: str, **config: Any) -> Flask:
    """The legacy app on ``database_url`` (a SQLAlchemy URL), with ``config`` applied."""
    app = Flask("legacy_users")
    app.config.update(
        {
            "SECRET_KEY": "legacy-users-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            **config,
        }
    )
    db.init_app(app)
    login_manager = LoginManager(app)
    login_manager.login_view = "login"  # Flask-Login flashes "Please log in to access this page."

    @login_manager.user_loader  # type: ignore[untyped-decorator]
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id))

    DjangoIdentity(app)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "GET":
            return jsonify({"login_form": True, "next": request.args.get("next")})
        user = db.session.execute(
            db.select(User).filter_by(username=request.form["username"])
        ).scalar_one_or_none()
        if user is None or not check_password_hash(user.password_hash, request.form["password"]):
            return "bad credentials", 401
        login_user(user)
        return redirect(request.args.get("next") or url_for("account"))

    @app.route("/logout")
    def logout() -> Any:
        logout_user()
        return redirect(url_for("login"))

    @app.route("/account")
    @login_required  # type: ignore[untyped-decorator]
    def account() -> Any:
        return jsonify({"account": current_user.username})

    @app.route("/flash")
    def add_flash() -> Any:
        # Any view that touches the session makes Flask re-sign the whole cookie.
        flash("saved")
        return "flashed"

    @app.route("/whoami")
    def whoami() -> Any:
        user = current_user if current_user.is_authenticated else None
        return jsonify(
            {
                "username": user.username if user else None,
                "id": user.id if user else None,
                "messages": get_flashed_messages(),
            }
        )

    return app


def add_user(app: Flask, username: str, password_hash: str, **fields: Any) -> User:
    """Insert (and commit) a legacy user, as the Flask app's own sign-up would."""
    with app.app_context():
        user = User(
            username=username,
            email=fields.pop("email", f"{username}@legacy.example"),
            password_hash=password_hash,
            **fields,
        )
        db.session.add(user)
        db.session.commit()
        db.session.refresh(user)
        db.session.expunge(user)
        return user
