"""A test app whose tables live in the PostgreSQL schemas ``stg_core`` and ``stg_lab``."""
