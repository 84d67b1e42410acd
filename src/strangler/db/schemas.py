"""Models in database schemas: ``db_table = schema_table("labs", "sample")``.

Django has no notion of a schema, but it already passes a table name written
as ``'"labs"."sample"'`` through its quoting untouched, and derives index and
constraint names from the part after the dot. ``schema_table`` writes exactly
that form, so a model in a schema stays a plain Django model::

    from strangler.db.schemas import schema_table

    class Sample(models.Model):
        name = models.CharField(max_length=100)

        class Meta:
            db_table = schema_table("labs", "sample")

Foreign keys across schemas, many-to-many tables (created next to their model,
in its schema), the admin and queries work with any backend. What stock Django
gets wrong is everything that looks a table up *by name* in the catalog
(dropping an index, changing the primary key's type and its sequence,
flushing the test database, ``migrate``'s table checks): it only sees tables on
``search_path``. The backends ``strangler.db.backends.postgresql`` and
``strangler.db.backends.sqlite3`` fix those by looking tables up by
(schema, table); use one of them for every database that holds schema models.

This module has no database access; it only reads and writes names.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["QualifiedName", "qualify", "schema_table", "split_table"]


class QualifiedName(NamedTuple):
    """A table (or index, sequence) name split into its schema and its own name.

    ``schema`` is ``None`` for a bare name, which the database resolves on its
    ``search_path`` (``public`` by default on PostgreSQL).
    """

    schema: str | None
    name: str

    def __str__(self) -> str:
        return self.name if self.schema is None else f"{self.schema}.{self.name}"


def schema_table(schema: str, table: str) -> str:
    """The ``Meta.db_table`` value for ``table`` in ``schema``.

    >>> schema_table("labs", "sample")
    '"labs"."sample"'
    """
    for part, what in ((schema, "schema"), (table, "table")):
        if not part or '"' in part or "." in part:
            raise ValueError(f"{what} name {part!r} must be non-empty, without quotes or dots")
    return f'"{schema}"."{table}"'


def split_table(db_table: str) -> QualifiedName:
    """Split any spelling of a table name Django may hold into (schema, table).

    Understands ``'"labs"."sample"'`` (``schema_table``), the form Django
    derives for many-to-many tables from it (``'labs"."sample_tags'``, quotes
    stripped at both ends), and a bare or fully quoted ``'sample'``.
    """
    if '"."' in db_table:
        schema, _, name = db_table.partition('"."')
        return QualifiedName(schema.lstrip('"'), name.rstrip('"'))
    if len(db_table) >= 2 and db_table[0] == db_table[-1] == '"':
        db_table = db_table[1:-1]
    return QualifiedName(None, db_table)


def qualify(schema: str | None, name: str) -> str:
    """``'"schema"."name"'``, or the bare ``name`` when there is no schema."""
    return name if schema is None else f'"{schema}"."{name}"'
