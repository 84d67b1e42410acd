"""The legacy side: SQLAlchemy models and the Alembic migrations that built their tables."""

# Alembic's version table, kept apart from anything else in the test database.
VERSION_TABLE = "stga_alembic_version"
