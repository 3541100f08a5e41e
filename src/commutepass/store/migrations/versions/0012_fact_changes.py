"""fact rows changed other than by a new row (an entry ended, a purge), read by the in-memory fact
index; itinerary days by load

Revision ID: 0012_fact_changes
Revises: 0011_inbox
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from commutepass.store.tables import UtcDateTime

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0012_fact_changes"
down_revision = "0011_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fact_changes",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("row_id", _ROW_ID, nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fact_changes")),
    )
    op.create_index(op.f("ix_itinerary_load_id"), "itinerary", ["load_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_itinerary_load_id"), table_name="itinerary")
    op.drop_table("fact_changes")
