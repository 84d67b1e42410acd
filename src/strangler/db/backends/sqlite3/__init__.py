"""``ENGINE: "strangler.db.backends.sqlite3"``: Django's SQLite, one database file per schema."""
