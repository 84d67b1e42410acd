"""Django models written from SQLAlchemy metadata (``manage.py strangler_models``).

The output is meant to be read and kept: one class per table, fields in the
table's column order, ``db_table = schema_table(...)``, foreign keys by class
name (tables they reference in other schemas are generated too, so the module
loads), and only the options that differ from Django's defaults. It is written
so that ``strangler_drift`` finds nothing between it and the tables Alembic
built; where Django has no exact equivalent of a column type, a comment says so
and drift will report it.
"""

from __future__ import annotations

import json
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Column, MetaData, Table

__all__ = ["generate_models"]

_AUTO = {"Integer": "AutoField", "BigInteger": "BigAutoField", "SmallInteger": "SmallAutoField"}
_NOW = {"now()", "current_timestamp", "transaction_timestamp()", "statement_timestamp()"}
MAX_INDEX_NAME = 30  # Django's limit on Index.name (models.E034)


@dataclass
class _Model:
    table: Table
    class_name: str
    lines: list[str] = field(default_factory=list)
    meta: list[tuple[str, list[str]]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


def _lit(value: object) -> str:
    """A Python literal, strings in double quotes as ruff and black write them."""
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _list(values: list[str]) -> str:
    return "[" + ", ".join(_lit(value) for value in values) + "]"


def _wrap(head: str, args: list[str], tail: str, width: int = 100) -> list[str]:
    """``head + args + tail`` on one line, or one argument a line as ruff would leave it."""
    line = f"{head}{', '.join(args)}{tail}"
    if len(line) <= width:
        return [line]
    indent = " " * (len(head) - len(head.lstrip()) + 4)
    return [head, *(f"{indent}{arg}," for arg in args), f"{indent[4:]}{tail}"]


def _class_name(name: str) -> str:
    words = re.split(r"[^0-9a-zA-Z]+", name)
    text = "".join(word[:1].upper() + word[1:] for word in words if word)
    return text if text and not text[0].isdigit() else f"T{text}"


def _field_name(column: str, taken: set[str]) -> str:
    name = re.sub(r"[^0-9a-zA-Z_]", "_", column).lower().strip("_") or "field"
    if name[0].isdigit():
        name = f"f_{name}"
    if keyword.iskeyword(name) or name in {"pk", "objects"} or "__" in name:
        name = f"{name.replace('__', '_')}_field"
    while name in taken:
        name = f"{name}_"
    taken.add(name)
    return name


def _type_name(column: Column[Any]) -> str:
    return type(column.type).__name__


def _field_call(column: Column[Any]) -> tuple[str, list[str], str | None]:
    """(field class, its arguments, a comment) for a column's type."""
    from sqlalchemy import types

    sa_type = column.type
    kind = _type_name(column)
    if isinstance(sa_type, types.Boolean):
        return "BooleanField", [], None
    if isinstance(sa_type, types.BigInteger):
        return "BigIntegerField", [], None
    if isinstance(sa_type, types.SmallInteger):
        return "SmallIntegerField", [], None
    if isinstance(sa_type, types.Integer):
        return "IntegerField", [], None
    if isinstance(sa_type, types.Numeric) and not isinstance(sa_type, types.Float):
        if sa_type.precision is None:
            return (
                "DecimalField",
                ["max_digits=65535", "decimal_places=0"],
                ("numeric without precision in the database"),
            )
        return (
            "DecimalField",
            [f"max_digits={sa_type.precision}", f"decimal_places={sa_type.scale or 0}"],
            None,
        )
    if isinstance(sa_type, types.Float):
        note = None if kind in ("Float", "Double", "DOUBLE_PRECISION") else f"{kind} column"
        return "FloatField", [], note
    if isinstance(sa_type, types.DateTime):
        note = None if sa_type.timezone else "timestamp without time zone in the database"
        return "DateTimeField", [], note
    if isinstance(sa_type, types.Date):
        return "DateField", [], None
    if isinstance(sa_type, types.Time):
        return "TimeField", [], None
    if isinstance(sa_type, types.Interval):
        return "DurationField", [], None
    if isinstance(sa_type, types.Uuid):
        return "UUIDField", [], None
    if isinstance(sa_type, types.JSON):
        note = None if kind == "JSONB" else "json in the database; Django's JSONField is jsonb"
        return "JSONField", [], note
    if isinstance(sa_type, types.LargeBinary):
        return "BinaryField", [], None
    if isinstance(sa_type, types.Enum):
        length = max((len(value) for value in sa_type.enums), default=1)
        return "CharField", [f"max_length={length}"], f"enum {sa_type.name} in the database"
    if isinstance(sa_type, types.String) and not isinstance(sa_type, types.Text):
        if kind in ("CHAR", "NCHAR"):
            return "CharField", [f"max_length={sa_type.length}"], "char(n) in the database"
        return "CharField", [f"max_length={sa_type.length}"], None
    if isinstance(sa_type, types.Text | types.String):
        return "TextField", [], None
    return "TextField", [], f"unknown type {kind}"


def _db_default(column: Column[Any]) -> tuple[str | None, str | None]:
    """(``db_default=`` argument, or a comment when Django cannot say it)."""
    server_default = column.server_default
    if server_default is None or not hasattr(server_default, "arg"):
        return None, None
    from sqlalchemy.dialects import postgresql

    arg = server_default.arg
    if isinstance(arg, str):
        return f"db_default={_lit(arg)}", None
    text = str(arg.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    lowered = text.strip().lower()
    if lowered in _NOW:
        return "db_default=Now()", None
    if re.fullmatch(r"-?\d+", lowered):
        return f"db_default={int(lowered)}", None
    if lowered in ("true", "false"):
        return f"db_default={lowered == 'true'}", None
    if re.fullmatch(r"'([^']|'')*'", text.strip()):
        literal = text.strip()[1:-1].replace("''", "'")
        return f"db_default={_lit(literal)}", None
    return None, f"server default {text} is left to the database"


def _single_column_indexes(table: Table) -> tuple[set[str], set[str]]:
    """Columns with an index of their own, and those with a unique one."""
    indexed: set[str] = set()
    unique: set[str] = set()
    from sqlalchemy import UniqueConstraint

    for index in table.indexes:
        names = [c.name for c in index.columns]
        if len(names) == 1 and len(index.expressions) == 1:
            (unique if index.unique else indexed).add(names[0])
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) == 1:
            unique.add(next(iter(constraint.columns)).name)
    for column in table.columns:
        if column.unique:
            unique.add(column.name)
        if column.index:
            indexed.add(column.name)
    return indexed, unique


def _tables_to_generate(metadata: MetaData, schemas: set[str] | None) -> list[Table]:
    chosen = [t for t in metadata.tables.values() if schemas is None or t.schema in schemas]
    seen = {t.key for t in chosen}
    queue = list(chosen)
    while queue:  # tables referenced from other schemas come along
        for constraint in queue.pop().foreign_key_constraints:
            target = constraint.referred_table
            if target.key not in seen:
                seen.add(target.key)
                chosen.append(target)
                queue.append(target)
    return sorted(chosen, key=lambda t: (t.schema or "", t.name))


def generate_models(
    metadata: MetaData,
    schemas: Iterable[str] | None = None,
    *,
    managed: bool = False,
    app_label: str | None = None,
) -> str:
    """Python source of Django models for the metadata's tables (``schemas`` only, if given)."""
    from sqlalchemy import Index, UniqueConstraint

    wanted = set(schemas) if schemas is not None else None
    tables = _tables_to_generate(metadata, wanted)
    if wanted is not None and not any(t.schema in wanted for t in tables):
        known = sorted({str(t.schema) for t in metadata.tables.values()})
        raise ValueError(
            f"no table in schema {', '.join(sorted(wanted))}; the metadata has schemas "
            f"{', '.join(known)}"
        )
    names = [_class_name(t.name) for t in tables]
    class_names = {
        t.key: (_class_name(f"{t.schema}_{t.name}") if names.count(name) > 1 else name)
        for t, name in zip(tables, names, strict=True)
    }
    uses_now = False
    blocks: list[str] = []
    for table in tables:
        model = _Model(table, class_names[table.key])
        taken: set[str] = set()
        indexed, unique = _single_column_indexes(table)
        pk_columns = [c.name for c in table.primary_key.columns]
        autoincrement = table.autoincrement_column
        fk_by_column = {
            next(iter(fk.columns)).name: fk
            for fk in table.foreign_key_constraints
            if len(fk.columns) == 1
        }
        targets = [fk.referred_table.key for fk in fk_by_column.values()]
        field_of: dict[str, str] = {}
        for column in table.columns:
            args: list[str] = []
            comment: str | None = None
            fk = fk_by_column.get(column.name)
            if fk is not None:
                base = column.name[:-3] if column.name.endswith("_id") else column.name
                name = _field_name(base, taken)
                target = fk.referred_table
                element = next(iter(fk.elements))
                is_unique = column.name in unique
                cls = "OneToOneField" if is_unique else "ForeignKey"
                args = [_lit(class_names[target.key]), "models.DO_NOTHING"]
                if f"{name}_id" != column.name:
                    args.append(f"db_column={_lit(column.name)}")
                if element.column.name not in [c.name for c in target.primary_key.columns]:
                    args.append(f"to_field={_lit(element.column.name)}")
                if column.name in pk_columns and len(pk_columns) == 1:
                    args.append("primary_key=True")
                if targets.count(target.key) > 1 or target.key == table.key:
                    args.append(f"related_name={_lit(f'{table.name}_{name}_set')}")
                if not is_unique and column.name not in indexed:
                    args.append("db_index=False")
            else:
                name = _field_name(column.name, taken)
                if name != column.name:
                    args.append(f"db_column={_lit(column.name)}")
                if column is autoincrement and _type_name(column) in _AUTO:
                    cls = _AUTO[_type_name(column)]
                else:
                    cls, type_args, comment = _field_call(column)
                    args = type_args + args
                if column.name in pk_columns and len(pk_columns) == 1:
                    args.append("primary_key=True")
                elif column.name in unique:
                    args.append("unique=True")
                elif column.name in indexed:
                    args.append("db_index=True")
            field_of[column.name] = name
            if column.nullable and column.name not in pk_columns:
                args += ["blank=True", "null=True"]
            default, default_comment = _db_default(column)
            if default is not None and column is not autoincrement:
                uses_now = uses_now or default == "db_default=Now()"
                args.append(default)
            comment = comment or default_comment
            if comment:
                model.lines.append(f"    # {comment}")
            model.lines += _wrap(f"    {name} = models.{cls}(", args, ")")
        if len(pk_columns) > 1:
            pk_fields = ", ".join(_lit(field_of[c]) for c in pk_columns)
            model.lines.insert(0, f"    pk = models.CompositePrimaryKey({pk_fields})")
        for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
            if isinstance(constraint, UniqueConstraint) and len(constraint.columns) > 1:
                fields = [field_of[c.name] for c in constraint.columns]
                constraint_name = str(constraint.name or f"{table.name}_{'_'.join(fields)}_uniq")
                model.meta.append(
                    ("constraints", [f"fields={_list(fields)}", f"name={_lit(constraint_name)}"])
                )
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            columns = [c.name for c in index.columns]
            if len(columns) < 2 or len(index.expressions) != len(columns):
                continue
            fields = [field_of[c] for c in columns]
            if isinstance(index, Index) and index.unique:
                model.meta.append(
                    ("constraints", [f"fields={_list(fields)}", f"name={_lit(str(index.name))}"])
                )
                continue
            index_name = str(index.name or f"{table.name}_{'_'.join(columns)}")
            model.meta.append(
                (
                    "indexes",
                    [f"fields={_list(fields)}", f"name={_lit(index_name[:MAX_INDEX_NAME])}"],
                )
            )
        blocks.append(_render(model, managed=managed, app_label=app_label))
    header = [
        "# Django models for tables the legacy app's SQLAlchemy metadata declares,",
        "# written by `manage.py strangler_models`. Review them: names, on_delete and",
        "# related_name are guesses; `managed = False` until Django owns the table.",
        "from django.db import models",
    ]
    if uses_now:
        header.append("from django.db.models.functions import Now")
    header += ["", "from strangler.db.schemas import schema_table", "", ""]
    return "\n".join(header) + "\n" + "\n\n".join(blocks)


def _render(model: _Model, *, managed: bool, app_label: str | None) -> str:
    table = model.table
    lines = [f"class {model.class_name}(models.Model):", *model.lines, "", "    class Meta:"]
    if app_label is not None:
        lines.append(f"        app_label = {_lit(app_label)}")
    lines.append(f"        managed = {managed}")
    if table.schema is None:
        lines.append(f"        db_table = {_lit(table.name)}")
    else:
        lines.append(f"        db_table = schema_table({_lit(table.schema)}, {_lit(table.name)})")
    for attribute, cls in (("constraints", "UniqueConstraint"), ("indexes", "Index")):
        entries = [args for kind, args in model.meta if kind == attribute]
        if entries:
            lines.append(f"        {attribute} = [")
            for args in entries:
                lines += _wrap(f"            models.{cls}(", args, "),")
            lines.append("        ]")
    return "\n".join(lines) + "\n"
