"""The Alembic side of table ownership: ``include_object`` for the legacy app's ``env.py``.

While Django takes over, one database holds tables of two owners. Alembic's
autogenerate compares the Flask app's metadata with *every* table it reflects,
so without a filter it proposes to drop whatever the metadata does not declare:
``auth_user``, ``django_session``, ``django_migrations`` and every table Django
created or adopted. ``include_object`` keeps autogenerate to the tables Flask
still owns:

* a table the metadata marks ``info={"strangler_owner": "django"}`` (handed
  over) is skipped: never created, altered or dropped, nor its columns,
  indexes and keys;
* a table in the database that the metadata does not declare is skipped: it
  is Django's (its own, or one it adopted and Flask's models have since
  dropped). Dropping a legacy table is then written by hand
  (``op.drop_table``), which is the one migration a reviewer should see.

It imports neither Django nor Alembic (the import contract in pyproject.toml
keeps it so): the Flask side uses it as it is::

    from strangler.alembic import include_object

    context.configure(..., include_schemas=True, include_object=include_object)
    # Flask-Migrate: Migrate(app, db, include_object=include_object)
"""

from __future__ import annotations

from typing import Any

__all__ = ["OWNER_KEY", "handed_over", "include_object"]

# ``Table.info`` key that hands a table over: ``info={"strangler_owner": "django"}``.
OWNER_KEY = "strangler_owner"


def handed_over(table: Any) -> bool:
    """Whether a SQLAlchemy ``Table`` is marked as Django's (``info={OWNER_KEY: "django"}``)."""
    info = getattr(table, "info", None)
    return isinstance(info, dict) and info.get(OWNER_KEY) == "django"


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's ``include_object`` hook: autogenerate never touches a table Django owns.

    ``obj`` is a table, column, index or constraint, from the metadata
    (``reflected`` false) or the database; ``compare_to`` is its counterpart
    on the other side, or ``None``.
    """
    if type_ == "table":
        if reflected and compare_to is None:
            return False  # in the database only: Django's
        return not (handed_over(obj) or handed_over(compare_to))
    # Alembic skips the parts of an excluded table; this also covers a part
    # compared on its own (an index or key that names a handed-over table).
    tables = (getattr(obj, "table", None), getattr(compare_to, "table", None))
    return not any(handed_over(table) for table in tables)
