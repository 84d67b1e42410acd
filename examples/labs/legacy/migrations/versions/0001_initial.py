"""The legacy schema: users; labs (samples, tags, experiments, results, attachments); events.

Revision ID: 0001_initial
Revises:
Create Date: 2024-03-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # On SQLite each schema is an attached file (see database.py), created on attach.
        op.execute("CREATE SCHEMA IF NOT EXISTS labs")
        op.execute("CREATE SCHEMA IF NOT EXISTS events")
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(50), nullable=False, unique=True),
        schema="labs",
    )
    op.create_table(
        "sample",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("lab", sa.String(50), nullable=False),
        sa.Column("collected_on", sa.Date(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        schema="labs",
    )
    op.create_table(
        "sample_tags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sample_id", sa.Integer(), sa.ForeignKey("labs.sample.id"), nullable=False),
        sa.Column("tag_id", sa.Integer(), sa.ForeignKey("labs.tag.id"), nullable=False),
        sa.UniqueConstraint("sample_id", "tag_id"),
        schema="labs",
    )
    op.create_table(
        "experiment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("sample_id", sa.Integer(), sa.ForeignKey("labs.sample.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        schema="labs",
    )
    op.create_table(
        "result",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "experiment_id", sa.Integer(), sa.ForeignKey("labs.experiment.id"), nullable=False
        ),
        sa.Column("metric", sa.String(50), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        schema="labs",
    )
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sample_id", sa.Integer(), sa.ForeignKey("labs.sample.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("stored_as", sa.String(64), nullable=False, unique=True),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        schema="labs",
    )
    op.create_table(
        "event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        schema="events",
    )
    op.create_index("ix_events_event_at", "event", ["at"], schema="events")


def downgrade() -> None:
    op.drop_index("ix_events_event_at", table_name="event", schema="events")
    for table, schema in [
        ("event", "events"),
        ("attachment", "labs"),
        ("result", "labs"),
        ("experiment", "labs"),
        ("sample_tags", "labs"),
        ("sample", "labs"),
        ("tag", "labs"),
        ("users", None),
    ]:
        op.drop_table(table, schema=schema)
