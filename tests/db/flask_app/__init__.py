"""A Flask-SQLAlchemy app as Flask teams write one, with Flask-Migrate migrations.

Nobody here would design its schema this way, which is the point: it is what
the database tools meet on real apps. Naive ``db.DateTime`` columns (SQLAlchemy's
default: ``timestamp without time zone``), a ``user`` table, and an
association table whose primary key is its two foreign keys. Its migrations
(``migrations/``) were written by ``flask db init`` and ``flask db migrate``.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from strangler.alembic import include_object

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

db = SQLAlchemy()


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class User(db.Model):  # type: ignore[name-defined,misc]
    # Flask-SQLAlchemy's default name, "user", as most apps have it.

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80), unique=True, nullable=False)
    email = db.Column(db.String(120), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=_utcnow)
    last_seen = db.Column(db.DateTime, server_default=db.func.now())


post_tags = db.Table(
    "post_tags",
    db.Column("post_id", db.Integer, db.ForeignKey("post.id"), primary_key=True),
    db.Column("tag_id", db.Integer, db.ForeignKey("tag.id"), primary_key=True),
)


class Tag(db.Model):  # type: ignore[name-defined,misc]
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50), unique=True, nullable=False)


class Post(db.Model):  # type: ignore[name-defined,misc]
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    body = db.Column(db.Text)
    published_at = db.Column(db.DateTime, index=True)
    author_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False)
    tags = db.relationship("Tag", secondary=post_tags, backref="posts")


def create_app(database_uri: str, *, handed_over: bool = True, **migrate: Any) -> Flask:
    """The app on ``database_uri``; ``handed_over``: Alembic skips what Django owns."""
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri
    db.init_app(app)
    if handed_over:
        migrate.setdefault("include_object", include_object)
    Migrate(app, db, directory=str(MIGRATIONS), **migrate)
    return app
