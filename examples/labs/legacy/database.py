"""The engine and sessions; on SQLite each schema is an attached database file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .config import schema_files


def make_engine(url: str) -> Engine:
    """An engine for ``url``; on SQLite, ``labs`` and ``events`` are attached files.

    SQLite's word for a schema is an attached database, so the models'
    ``schema="labs"`` works unchanged: ``labs.sample`` is table ``sample`` of
    the file attached as ``labs``. Attaching happens per connection, before
    any transaction (SQLite cannot attach inside one).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    main = Path(parsed.database or "")
    main.parent.mkdir(parents=True, exist_ok=True)
    # Two processes (Flask and Django) share the files: wait for a lock, don't fail.
    engine = create_engine(url, connect_args={"timeout": 15})
    files = schema_files(main)

    @event.listens_for(engine, "connect")
    def attach_schemas(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for schema, path in files.items():
            cursor.execute(f'ATTACH DATABASE ? AS "{schema}"', (str(path),))
        # WAL lets Django read while Flask writes; it is a property of each file.
        for schema in ("main", *files):
            cursor.execute(f'PRAGMA "{schema}".journal_mode=WAL')
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (templates read them)."""
    return sessionmaker(engine, expire_on_commit=False)
