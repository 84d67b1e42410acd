"""Alembic's environment for the legacy app: its own models, every schema."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from examples.labs.legacy.config import database_url
from examples.labs.legacy.database import make_engine
from examples.labs.legacy.models import Base

if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name)

target_metadata = Base.metadata

# Tables the Django site has taken over are marked in the SQLAlchemy models
# (info={"strangler_owner": "django"}); autogenerate leaves them alone.
HANDED_OVER = {
    table.key
    for table in target_metadata.tables.values()
    if table.info.get("strangler_owner") == "django"
}


def include_object(obj, name, type_, reflected, compare_to):
    table = obj if type_ == "table" else getattr(obj, "table", None)
    if type_ == "table" and reflected and compare_to is None:
        return False  # a table only the database has: Django's own (auth_user, ...)
    return table is None or table.key not in HANDED_OVER


def run_migrations_online() -> None:
    engine = make_engine(database_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_schemas=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
