"""The legacy schema: users, the lab's tables in ``labs``, the event log in ``events``.

Written as a typical Flask-era app writes them: naive UTC ``DateTime`` columns,
integer ids, its own users table with Werkzeug password hashes. Alembic
(``migrations/``) creates them; the Django site adopts some of them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

ROLES = ("viewer", "scientist", "admin")

# Tables the Django site has taken over (its migrations change them now; Alembic's
# env.py skips them). Flask keeps reading and writing their rows.
HANDED_OVER = {"strangler_owner": "django"}


def utcnow() -> datetime:
    """Naive UTC, as the legacy columns store it."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(UserMixin, Base):
    """The legacy app's own users; ``role`` is one of ``ROLES``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: str) -> bool:
        """Admins may do everything; otherwise the user's role must be listed."""
        return self.role == "admin" or self.role in roles


sample_tags = Table(
    "sample_tags",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("sample_id", Integer, ForeignKey("labs.sample.id"), nullable=False),
    Column("tag_id", Integer, ForeignKey("labs.tag.id"), nullable=False),
    UniqueConstraint("sample_id", "tag_id"),
    schema="labs",
    info=HANDED_OVER,
)


class Tag(Base):
    __tablename__ = "tag"
    __table_args__ = {"schema": "labs", "info": HANDED_OVER}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Sample(Base):
    __tablename__ = "sample"
    __table_args__ = {"schema": "labs", "info": HANDED_OVER}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    lab: Mapped[str] = mapped_column(String(50))
    collected_on: Mapped[date] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    owner: Mapped[User] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=sample_tags, order_by=Tag.name)
    experiments: Mapped[list[Experiment]] = relationship(
        back_populates="sample", order_by="Experiment.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")

    def as_json(self) -> dict[str, object]:
        """The API's representation (the Django port answers the same)."""
        return {
            "id": self.id,
            "name": self.name,
            "lab": self.lab,
            "collected_on": self.collected_on.isoformat(),
            "owner": self.owner.username,
            "tags": [tag.name for tag in self.tags],
        }


class Experiment(Base):
    __tablename__ = "experiment"
    __table_args__ = {"schema": "labs"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    sample_id: Mapped[int] = mapped_column(Integer, ForeignKey("labs.sample.id"))
    status: Mapped[str] = mapped_column(String(20), default="planned")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    sample: Mapped[Sample] = relationship(back_populates="experiments")
    results: Mapped[list[Result]] = relationship(order_by="Result.id")


class Result(Base):
    __tablename__ = "result"
    __table_args__ = {"schema": "labs"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    experiment_id: Mapped[int] = mapped_column(Integer, ForeignKey("labs.experiment.id"))
    metric: Mapped[str] = mapped_column(String(50))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Attachment(Base):
    """A file uploaded to a sample; the bytes live in the upload directory."""

    __tablename__ = "attachment"
    __table_args__ = {"schema": "labs"}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(Integer, ForeignKey("labs.sample.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    stored_as: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Event(Base):
    """The append-only event log every part of the lab writes to."""

    __tablename__ = "event"
    __table_args__ = {"schema": "events", "info": HANDED_OVER}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text, default="")
