"""revocations: a serial per revocation, the version the revocation filter's updates count from

Revision ID: 0006_revocation_serials
Revises: 0005_checks_of_codes
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_revocation_serials"
down_revision = "0005_checks_of_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("serial", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
    # the revocations made before: numbered in the order they were made
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT credential_hash FROM revocations ORDER BY revoked_at, credential_hash")
    ).scalars()
    for serial, credential_hash in enumerate(list(rows), start=1):
        conn.execute(
            sa.text("UPDATE revocations SET serial = :serial WHERE credential_hash = :hash"),
            {"serial": serial, "hash": credential_hash},
        )
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.create_unique_constraint(op.f("uq_revocations_serial"), ["serial"])


def downgrade() -> None:
    with op.batch_alter_table("revocations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_revocations_serial"), type_="unique")
        batch_op.drop_column("serial")
