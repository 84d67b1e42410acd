"""Items as a user reads them in a difference: ``labs.sample.name``, ``varchar(50) NULL``."""

from __future__ import annotations

from typing import Any

from .items import ItemKey

__all__ = ["describe_item", "item_subject"]

_ABSENT = {
    "table": "missing",
    "column": "missing",
    "pk": "no primary key",
    "fk": "no foreign key",
    "unique": "not unique",
    "index": "no index",
}


def describe_item(key: ItemKey, value: Any) -> str:
    """The item's value: ``varchar(50) NULL``, ``primary key (id)``, ``an index``."""
    kind = key[2]
    if value is None:
        return _ABSENT[kind]
    if kind == "pk":
        return f"primary key ({', '.join(value)})"
    if kind == "fk":
        return f"a foreign key to {value}"
    return {"table": "present", "unique": "unique", "index": "an index"}.get(kind, str(value))


def item_subject(key: ItemKey) -> str:
    """What a difference is about: ``labs.sample.name``, ``labs.sample (a, b)``."""
    schema, table, kind, columns = key
    if kind == "column" or (kind == "fk" and len(columns) == 1):
        return f"{schema}.{table}.{columns[0]}"
    if kind in ("table", "pk"):
        return f"{schema}.{table}"
    return f"{schema}.{table} ({', '.join(columns)})"
