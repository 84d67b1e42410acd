"""The legacy app's tables, in two schemas.

Revision ID: r1
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS stga_core")
    op.execute("CREATE SCHEMA IF NOT EXISTS stga_labs")
    op.create_table(
        "person",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        schema="stga_core",
    )
    op.create_index("ix_person_name", "person", ["name"], schema="stga_core")
    op.create_table(
        "tag",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(50), nullable=False, unique=True),
        schema="stga_labs",
    )
    op.create_table(
        "sample",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("stga_core.person.id"), nullable=False),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        schema="stga_labs",
    )
    op.create_index("ix_sample_owner_id", "sample", ["owner_id"], schema="stga_labs")
    op.create_table(
        "sample_tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sample_id", sa.Integer, sa.ForeignKey("stga_labs.sample.id"), nullable=False),
        sa.Column("tag_id", sa.Integer, sa.ForeignKey("stga_labs.tag.id"), nullable=False),
        sa.UniqueConstraint("sample_id", "tag_id"),
        schema="stga_labs",
    )
    op.create_index("ix_sample_tags_sample_id", "sample_tags", ["sample_id"], schema="stga_labs")
    op.create_index("ix_sample_tags_tag_id", "sample_tags", ["tag_id"], schema="stga_labs")
    op.create_table(
        "instrument",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("serial", sa.String(40), nullable=False, unique=True),
        schema="stga_labs",
    )


def downgrade() -> None:
    op.execute("DROP SCHEMA stga_labs CASCADE")
    op.execute("DROP SCHEMA stga_core CASCADE")
