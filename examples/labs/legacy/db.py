"""One SQLAlchemy session per request, closed when the request ends."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from .database import make_engine, make_session_factory


def init_db(app: Flask) -> None:
    """Create the engine for ``app.config["DATABASE_URL"]`` and close sessions on teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["labs.sessions"] = make_session_factory(engine)

    @app.teardown_appcontext
    def close_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


def db() -> Session:
    """This request's session."""
    if "db_session" not in g:
        factory: sessionmaker[Session] = current_app.extensions["labs.sessions"]
        g.db_session = factory()
    session: Session = g.db_session
    return session
