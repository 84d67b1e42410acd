"""Thin subclasses of Django's own backends that look tables up by (schema, table)."""
