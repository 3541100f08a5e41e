"""signed codes: revocations; offline checkpoints: swipe ids seen

Revision ID: 0002_credentials
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from commutepass.store.tables import UtcDateTime

revision = "0002_credentials"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revocations",
        sa.Column("credential_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("credential_hash", name=op.f("pk_revocations")),
    )
    op.create_table(
        "checkpoint_swipes",
        sa.Column("swipe_id", sa.String(length=36), nullable=False),
        sa.Column("checkpoint", sa.String(length=64), nullable=False),
        sa.Column("check_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_id"], ["checks.id"], name=op.f("fk_checkpoint_swipes_check_id_checks")
        ),
        sa.PrimaryKeyConstraint("swipe_id", name=op.f("pk_checkpoint_swipes")),
    )


def downgrade() -> None:
    op.drop_table("checkpoint_swipes")
    op.drop_table("revocations")
