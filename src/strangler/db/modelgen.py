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
# Field classes that are not in django.db.models, and the import each needs.
NAIVE_DATETIME = "NaiveDateTimeField"
_IMPORTS = {
    NAIVE_DATETIME: "from strangler.db.fields import NaiveDateTimeField",
    "Now": "from django.db.models.functions import Now",
    "schema_table": "from strangler.db.schemas import schema_table",
}
_NOW = {"now()", "current_timestamp", "transaction_timestamp()", "statement_timestamp()"}
MAX_INDEX_NAME = 30  # Django's limit on Index.name (models.E034)


@dataclass
class _Model:
    """One table being written: what the fields need to know, and the lines so far."""

    table: Table
    class_name: str
    class_names: dict[str, str]
    uses: set[str]  # names from _IMPORTS the module needs (shared by all models)
    lines: list[str] = field(default_factory=list)
    meta: list[tuple[str, list[str]]] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)
    field_of: dict[str, str] = field(default_factory=dict)  # column -> field name

    def __post_init__(self) -> None:
        table = self.table
        self.indexed, self.unique = _single_column_indexes(table)
        self.pk_columns = [c.name for c in table.primary_key.columns]
        self.autoincrement = table.autoincrement_column
        self.fk_by_column = {
            next(iter(fk.columns)).name: fk
            for fk in table.foreign_key_constraints
            if len(fk.columns) == 1
        }
        self.targets = [fk.referred_table.key for fk in self.fk_by_column.values()]

    def is_single_pk(self, column: str) -> bool:
        return column in self.pk_columns and len(self.pk_columns) == 1


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
    # Most specific first: BigInteger is an Integer, Text a String, Float a Numeric.
    simple = (
        (types.Boolean, "BooleanField"),
        (types.BigInteger, "BigIntegerField"),
        (types.SmallInteger, "SmallIntegerField"),
        (types.Integer, "IntegerField"),
        (types.Date, "DateField"),
        (types.Time, "TimeField"),
        (types.Interval, "DurationField"),
        (types.Uuid, "UUIDField"),
        (types.LargeBinary, "BinaryField"),
        (types.Text, "TextField"),
    )
    for simple_class, field_class in simple:
        if isinstance(sa_type, simple_class):
            return field_class, [], None
    special = (
        (types.Float, _float_field),
        (types.Numeric, _decimal_field),
        (types.DateTime, _datetime_field),
        (types.JSON, _json_field),
        (types.Enum, _enum_field),
        (types.String, _string_field),
    )
    for sa_class, build in special:
        if isinstance(sa_type, sa_class):
            return build(sa_type)
    return "TextField", [], f"unknown type {type(sa_type).__name__}"


def _float_field(sa_type: Any) -> tuple[str, list[str], str | None]:
    kind = type(sa_type).__name__
    return (
        "FloatField",
        [],
        None if kind in ("Float", "Double", "DOUBLE_PRECISION") else (f"{kind} column"),
    )


def _decimal_field(sa_type: Any) -> tuple[str, list[str], str | None]:
    if sa_type.precision is None:
        args = ["max_digits=65535", "decimal_places=0"]
        return "DecimalField", args, "numeric without precision in the database"
    args = [f"max_digits={sa_type.precision}", f"decimal_places={sa_type.scale or 0}"]
    return "DecimalField", args, None


def _datetime_field(sa_type: Any) -> tuple[str, list[str], str | None]:
    # SQLAlchemy's default DateTime() is timestamp without time zone.
    return ("DateTimeField" if sa_type.timezone else NAIVE_DATETIME), [], None


def _json_field(sa_type: Any) -> tuple[str, list[str], str | None]:
    if type(sa_type).__name__ == "JSONB":
        return "JSONField", [], None
    return "JSONField", [], "json in the database; Django's JSONField is jsonb"


def _enum_field(sa_type: Any) -> tuple[str, list[str], str | None]:
    length = max((len(value) for value in sa_type.enums), default=1)
    return "CharField", [f"max_length={length}"], f"enum {sa_type.name} in the database"


def _string_field(sa_type: Any) -> tuple[str, list[str], str | None]:
    note = "char(n) in the database" if type(sa_type).__name__ in ("CHAR", "NCHAR") else None
    return "CharField", [f"max_length={sa_type.length}"], note


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


def _class_names(tables: list[Table]) -> dict[str, str]:
    """A class name per table: the table's name, with the schema where two would clash."""
    names = [_class_name(t.name) for t in tables]
    return {
        t.key: (_class_name(f"{t.schema}_{t.name}") if names.count(name) > 1 else name)
        for t, name in zip(tables, names, strict=True)
    }


def generate_models(
    metadata: MetaData,
    schemas: Iterable[str] | None = None,
    *,
    managed: bool = False,
    app_label: str | None = None,
) -> str:
    """Python source of Django models for the metadata's tables (``schemas`` only, if given)."""
    wanted = set(schemas) if schemas is not None else None
    tables = _tables_to_generate(metadata, wanted)
    if wanted is not None and not any(t.schema in wanted for t in tables):
        known = sorted({str(t.schema) for t in metadata.tables.values()})
        raise ValueError(
            f"no table in schema {', '.join(sorted(wanted))}; the metadata has schemas "
            f"{', '.join(known)}"
        )
    class_names = _class_names(tables)
    uses: set[str] = set()
    blocks = []
    for table in tables:
        model = _Model(table, class_names[table.key], class_names, uses)
        _add_fields(model)
        _add_table_options(model)
        blocks.append(_render(model, managed=managed, app_label=app_label))
    return _header(uses) + "\n" + "\n\n".join(blocks)


def _header(uses: set[str]) -> str:
    """The module's comment and imports: only those the models use, sorted as ruff sorts."""
    lines = [
        "# Django models for tables the legacy app's SQLAlchemy metadata declares,",
        "# written by `manage.py strangler_models`. Review them: names, on_delete and",
        "# related_name are guesses; `managed = False` until Django owns the table.",
        "from django.db import models",
    ]
    if "Now" in uses:
        lines.append(_IMPORTS["Now"])
    own = sorted(_IMPORTS[name] for name in uses if name != "Now")
    if own:
        lines += ["", *own]
    return "\n".join([*lines, "", ""])


def _add_fields(model: _Model) -> None:
    for column in model.table.columns:
        fk = model.fk_by_column.get(column.name)
        if fk is not None:
            name, cls, args, comment = _relation_field(model, column, fk)
        else:
            name, cls, args, comment = _value_field(model, column)
        model.field_of[column.name] = name
        if column.nullable and column.name not in model.pk_columns:
            args += ["blank=True", "null=True"]
        default, default_comment = _db_default(column)
        if default is not None and column is not model.autoincrement:
            if default == "db_default=Now()":
                model.uses.add("Now")
            args.append(default)
        comment = comment or default_comment
        if comment:
            model.lines.append(f"    # {comment}")
        if cls in _IMPORTS:
            model.uses.add(cls)
        else:
            cls = f"models.{cls}"
        model.lines += _wrap(f"    {name} = {cls}(", args, ")")
    if len(model.pk_columns) > 1:
        pk_fields = ", ".join(_lit(model.field_of[c]) for c in model.pk_columns)
        model.lines.insert(0, f"    pk = models.CompositePrimaryKey({pk_fields})")


def _relation_field(
    model: _Model, column: Column[Any], fk: Any
) -> tuple[str, str, list[str], str | None]:
    """A ``ForeignKey`` (``OneToOneField`` when unique) for a single-column foreign key."""
    base = column.name[:-3] if column.name.endswith("_id") else column.name
    name = _field_name(base, model.taken)
    target = fk.referred_table
    element = next(iter(fk.elements))
    is_unique = column.name in model.unique
    args = [_lit(model.class_names[target.key]), "models.DO_NOTHING"]
    if f"{name}_id" != column.name:
        args.append(f"db_column={_lit(column.name)}")
    if element.column.name not in [c.name for c in target.primary_key.columns]:
        args.append(f"to_field={_lit(element.column.name)}")
    if model.is_single_pk(column.name):
        args.append("primary_key=True")
    if model.targets.count(target.key) > 1 or target.key == model.table.key:
        args.append(f"related_name={_lit(f'{model.table.name}_{name}_set')}")
    if not is_unique and column.name not in model.indexed:
        args.append("db_index=False")  # Alembic made no index; Django would add one
    return name, ("OneToOneField" if is_unique else "ForeignKey"), args, None


def _value_field(model: _Model, column: Column[Any]) -> tuple[str, str, list[str], str | None]:
    """Any other column: its type's field, and its key or index."""
    name = _field_name(column.name, model.taken)
    args = [f"db_column={_lit(column.name)}"] if name != column.name else []
    comment = None
    if column is model.autoincrement and _type_name(column) in _AUTO:
        cls = _AUTO[_type_name(column)]
    else:
        cls, type_args, comment = _field_call(column)
        args = type_args + args
    if model.is_single_pk(column.name):
        args.append("primary_key=True")
    elif column.name in model.unique:
        args.append("unique=True")
    elif column.name in model.indexed:
        args.append("db_index=True")
    return name, cls, args, comment


def _add_table_options(model: _Model) -> None:
    """Multi-column unique keys (``constraints``) and indexes (``indexes``)."""
    from sqlalchemy import UniqueConstraint

    table, field_of = model.table, model.field_of
    for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
        if isinstance(constraint, UniqueConstraint) and len(constraint.columns) > 1:
            fields = [field_of[c.name] for c in constraint.columns]
            name = str(constraint.name or f"{table.name}_{'_'.join(fields)}_uniq")
            model.meta.append(("constraints", [f"fields={_list(fields)}", f"name={_lit(name)}"]))
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        columns = [c.name for c in index.columns]
        if len(columns) < 2 or len(index.expressions) != len(columns):
            continue  # single columns are field options; expressions are not compared
        fields = [field_of[c] for c in columns]
        if index.unique:
            entry = ("constraints", [f"fields={_list(fields)}", f"name={_lit(str(index.name))}"])
        else:
            name = str(index.name or f"{table.name}_{'_'.join(columns)}")[:MAX_INDEX_NAME]
            entry = ("indexes", [f"fields={_list(fields)}", f"name={_lit(name)}"])
        model.meta.append(entry)


def _render(model: _Model, *, managed: bool, app_label: str | None) -> str:
    table = model.table
    lines = [f"class {model.class_name}(models.Model):", *model.lines, "", "    class Meta:"]
    if app_label is not None:
        lines.append(f"        app_label = {_lit(app_label)}")
    lines.append(f"        managed = {managed}")
    if table.schema is None:
        lines.append(f"        db_table = {_lit(table.name)}")
    else:
        model.uses.add("schema_table")
        lines.append(f"        db_table = schema_table({_lit(table.schema)}, {_lit(table.name)})")
    for attribute, cls in (("constraints", "UniqueConstraint"), ("indexes", "Index")):
        entries = [args for kind, args in model.meta if kind == attribute]
        if entries:
            lines.append(f"        {attribute} = [")
            for args in entries:
                lines += _wrap(f"            models.{cls}(", args, "),")
            lines.append("        ]")
    return "\n".join(lines) + "\n"
