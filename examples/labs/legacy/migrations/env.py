"""Alembic's environment for the legacy app: its own models, every schema."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from examples.labs.legacy.config import database_url
from examples.labs.legacy.database import make_engine
from examples.labs.legacy.models import Base

from strangler.alembic import include_object

if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name)

# Tables the Django site has taken over are marked in the SQLAlchemy models
# (info={"strangler_owner": "django"}); include_object keeps autogenerate off them
# and off the tables only Django declares (auth_user, django_session, ...).
target_metadata = Base.metadata


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
