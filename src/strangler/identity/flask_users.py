"""The Flask side of a separate users table: the app's own user for a Django identity.

When Django and Flask keep different users tables (Django's ``auth_user``,
Flask's ``user``), the token's ``sub`` is Django's id, which means nothing
in Flask's table. This loader finds the app's user by what both sides share,
configured in ``app.config``:

* ``STRANGLER_USER_MODEL``: the SQLAlchemy model of Flask's users (the class,
  or ``"package.module:User"``);
* ``STRANGLER_USER_LOOKUP``: ``"username"`` (default), ``"email"`` or ``"id"``,
  the identity field to match;
* ``STRANGLER_USER_COLUMN``: the model's attribute it is matched with
  (default: the same name).

The row is read through Flask-SQLAlchemy's session when the app uses it,
else through the model's own ``query``. No Django import here: this module
runs in the Flask process (an import-linter contract keeps it true).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from .tokens import Identity

logger = logging.getLogger("strangler.flask")

LOOKUPS = ("username", "email", "id")


def resolve_model(model: Any) -> Any:
    """``STRANGLER_USER_MODEL`` as a class (imports ``"module:Class"``); raises ValueError."""
    if not isinstance(model, str):
        return model
    module, _, attribute = model.partition(":")
    if not module or not attribute:
        raise ValueError(f"STRANGLER_USER_MODEL {model!r} is not 'package.module:Class'")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"STRANGLER_USER_MODEL {model!r} cannot be imported: {exc}") from None


def check_user_config(config: Any) -> None:
    """Raise ValueError, naming the key, for an unusable user lookup configuration."""
    lookup = config.get("STRANGLER_USER_LOOKUP")
    if lookup not in LOOKUPS:
        raise ValueError(f"STRANGLER_USER_LOOKUP must be one of {LOOKUPS}, not {lookup!r}")
    if config.get("STRANGLER_USER_MODEL") is None:
        return
    model = resolve_model(config["STRANGLER_USER_MODEL"])
    column = config.get("STRANGLER_USER_COLUMN") or lookup
    if not hasattr(model, column):
        raise ValueError(
            f"STRANGLER_USER_MODEL {getattr(model, '__name__', model)!r} has no attribute "
            f"{column!r} to match the identity's {lookup} (set STRANGLER_USER_COLUMN)"
        )


def load_user_by_lookup(identity: Identity, config: Any, extensions: dict[str, Any]) -> Any:
    """The one row of ``STRANGLER_USER_MODEL`` matching ``identity``, else None.

    None as well when two rows match (an email shared by two accounts names
    nobody), with a warning.
    """
    from sqlalchemy import select

    model = resolve_model(config["STRANGLER_USER_MODEL"])
    lookup = config["STRANGLER_USER_LOOKUP"]
    value: Any = {"username": identity.username, "email": identity.email, "id": identity.id}[lookup]
    if not value:
        return None
    column_name = config.get("STRANGLER_USER_COLUMN") or lookup
    column = getattr(model, column_name)
    python_type = _python_type(column)
    if python_type is int:
        if not str(value).isdigit():
            return None
        value = int(value)
    session = _session(model, extensions)
    rows = session.execute(select(model).where(column == value).limit(2)).scalars().all()
    if len(rows) > 1:
        logger.warning("%s %r matches several users: the request is anonymous", lookup, value)
        return None
    return rows[0] if rows else None


def _python_type(column: Any) -> Any:
    try:
        return column.type.python_type
    except (AttributeError, NotImplementedError):
        return None


def _session(model: Any, extensions: dict[str, Any]) -> Any:
    flask_sqlalchemy = extensions.get("sqlalchemy")
    if flask_sqlalchemy is not None:
        return flask_sqlalchemy.session
    query = getattr(model, "query", None)
    if query is None:
        raise ValueError(
            "STRANGLER_USER_MODEL needs Flask-SQLAlchemy, or a model with a `query` property"
        )
    return query.session
