"""checks: a check of a scanned code names no person (person_id may be empty)

Revision ID: 0005_checks_of_codes
Revises: 0004_audit_by_actor
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_checks_of_codes"
down_revision = "0004_audit_by_actor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.alter_column(
            "person_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        )


def downgrade() -> None:
    op.execute("DELETE FROM checks WHERE person_id IS NULL")
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.alter_column(
            "person_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        )
