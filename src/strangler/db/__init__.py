"""The database side: models in schemas, adoption of Alembic's tables, ownership and drift."""
