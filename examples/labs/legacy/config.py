"""Where the legacy app keeps its state, read from the environment once.

``DATABASE_URL`` picks the database (SQLAlchemy's URL syntax); without it the
app uses SQLite files in ``LABS_VAR`` (``examples/labs/var``): ``demo.sqlite3``
and, for the ``labs`` and ``events`` schemas, ``demo.labs.sqlite3`` and
``demo.events.sqlite3`` beside it, the same files the Django site's
``strangler.db.backends.sqlite3`` attaches.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCHEMAS = ("labs", "events")


def var_dir() -> Path:
    """The demo's state directory (databases, uploads, keys)."""
    return Path(os.environ.get("LABS_VAR", HERE.parent / "var")).resolve()


def database_url() -> str:
    """``DATABASE_URL``, or the demo's SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return f"sqlite:///{var_dir() / 'demo.sqlite3'}"
    # Heroku-style URLs name the server, not the driver: use psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def schema_files(main: Path) -> dict[str, Path]:
    """Each schema's SQLite file: ``demo.sqlite3`` -> ``demo.labs.sqlite3``."""
    return {schema: main.with_name(f"{main.stem}.{schema}{main.suffix}") for schema in SCHEMAS}


@dataclass(frozen=True)
class Settings:
    """The app's configuration, as Flask's ``app.config`` receives it."""

    database_url: str = field(default_factory=database_url)
    secret_key: str = field(
        default_factory=lambda: os.environ.get("LABS_SECRET_KEY", "legacy-demo-insecure-key")
    )
    upload_dir: Path = field(default_factory=lambda: var_dir() / "uploads")
    # {kid: public key PEM}: set when the app runs behind the Django front door.
    verifying_keys: dict[str, str] = field(default_factory=lambda: verifying_keys())


def verifying_keys() -> dict[str, str]:
    """``LABS_VERIFYING_KEYS`` (JSON), else the public half of the demo's key pair, if made."""
    if "LABS_VERIFYING_KEYS" in os.environ:
        keys: dict[str, str] = json.loads(os.environ["LABS_VERIFYING_KEYS"])
        return keys
    path = var_dir() / "keys.json"
    if not path.exists():
        return {}
    pair = json.loads(path.read_text())
    return {pair["kid"]: pair["public_key"]}
