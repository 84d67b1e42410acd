"""Samples get a volume.

Revision ID: r2
Revises: r1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "r2"
down_revision = "r1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sample", sa.Column("volume_ml", sa.Numeric(8, 2)), schema="stga_labs")


def downgrade() -> None:
    op.drop_column("sample", "volume_ml", schema="stga_labs")
