"""``ENGINE: "strangler.db.backends.postgresql"``: Django's PostgreSQL backend, schema-aware."""
