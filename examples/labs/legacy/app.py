"""The legacy Flask app: ``create_app()``, and ``app`` for servers.

flask --app examples.labs.legacy.app run
gunicorn examples.labs.legacy.app:app
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix

from . import api, auth, views
from .config import Settings
from .db import db, init_db
from .models import User

csrf = CSRFProtect()


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """A configured app; ``overrides`` go into ``app.config`` last (tests use them)."""
    settings = settings or Settings()
    # "/static/" is the front door's (Django's STATIC_URL); Flask's files live beside it.
    app = Flask(__name__, static_url_path="/legacy-static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        DATABASE_URL=settings.database_url,
        UPLOAD_DIR=str(settings.upload_dir),
        MAX_CONTENT_LENGTH=10 * 1024 * 1024,
        SESSION_COOKIE_NAME="labs_session",  # Django's is "sessionid": no clash on one host
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        STRANGLER_VERIFYING_KEYS=settings.verifying_keys,
        # Behind the front door, logging in is Django's page (nothing flashed here).
        STRANGLER_LOGIN_URL="/login",
    )
    app.config.update(overrides)
    # Behind the Django front door: one hop of X-Forwarded-* (docs/production.md).
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_prefix=1)  # type: ignore[method-assign]

    init_db(app)
    csrf.init_app(app)
    auth.init_auth(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    csrf.exempt(api.bp)  # JSON only (see api.create_sample); forms keep their tokens
    if app.config["STRANGLER_VERIFYING_KEYS"]:
        use_django_identity(app)

    @app.errorhandler(403)
    def forbidden(exc: Exception) -> tuple[str, int]:
        message = "Your role does not allow this."
        return render_template("error.html", code=403, message=message), 403

    @app.errorhandler(404)
    def not_found(exc: Exception) -> tuple[str, int]:
        return render_template("error.html", code=404, message="Nothing here."), 404

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        db().execute(select(1))
        return {"status": "ok", "app": "legacy"}

    return app


def use_django_identity(app: Flask) -> None:
    """Behind Django: the user Django logged in becomes Flask-Login's ``current_user``.

    The identity token names Django's user; this app's users table is its own,
    so the two are matched by username.
    """
    from strangler.flask import DjangoIdentity, Identity

    identity = DjangoIdentity(app)

    @identity.user_loader
    def load_legacy_user(who: Identity) -> User | None:
        return db().scalar(select(User).where(User.username == who.username))


app = create_app()
