"""The legacy Flask app's SQLAlchemy models (``STRANGLER["SQLALCHEMY_METADATA"]``)."""

from __future__ import annotations

import datetime
import decimal

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Person(Base):
    __tablename__ = "person"
    # Indexes named as the migrations name them, so autogenerate finds nothing to do.
    __table_args__ = (Index("ix_person_name", "name"), {"schema": "stga_core"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Tag(Base):
    __tablename__ = "tag"
    __table_args__ = {"schema": "stga_labs"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(50), unique=True)


class Sample(Base):
    __tablename__ = "sample"
    __table_args__ = (Index("ix_sample_owner_id", "owner_id"), {"schema": "stga_labs"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int] = mapped_column(ForeignKey("stga_core.person.id"))
    created: Mapped[datetime.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    volume_ml: Mapped[decimal.Decimal | None] = mapped_column(Numeric(8, 2))


sample_tags = Table(
    "sample_tags",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("sample_id", ForeignKey("stga_labs.sample.id"), nullable=False),
    Column("tag_id", ForeignKey("stga_labs.tag.id"), nullable=False),
    UniqueConstraint("sample_id", "tag_id"),
    Index("ix_sample_tags_sample_id", "sample_id"),
    Index("ix_sample_tags_tag_id", "tag_id"),
    schema="stga_labs",
)


class Instrument(Base):
    """Still Flask's alone: no Django model."""

    __tablename__ = "instrument"
    __table_args__ = {"schema": "stga_labs"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
