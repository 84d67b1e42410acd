"""Alembic environment of the legacy app; the tests hand it a connection."""

from __future__ import annotations

from alembic import context

from strangler.alembic import include_object
from tests.db.legacy import VERSION_TABLE
from tests.db.legacy.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    include_schemas=True,
    include_object=include_object,
)
with context.begin_transaction():
    context.run_migrations()
