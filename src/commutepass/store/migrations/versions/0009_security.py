"""security: family links by consent, sign-in throttling, idle sessions

Revision ID: 0009_security
Revises: 0007_known_at
Create Date: 2026-11-30

Family links that exist before this migration are left unconfirmed: the member (or a reviewer or
hotline operator with the documents) confirms them again, and until then the one who added them
sees only the colour, the badge and the NAT deadline.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from commutepass.store.tables import UtcDateTime

revision = "0009_security"
down_revision = "0007_known_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("family_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("confirmed_by", sa.String(80), nullable=True))
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", UtcDateTime(), nullable=True))
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UtcDateTime(), nullable=False),
        sa.Column("blocked_until", UtcDateTime(), nullable=True),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("sign_in_throttle")
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_seen_at")
    with op.batch_alter_table("family_members", schema=None) as batch_op:
        batch_op.drop_column("confirmed_by")
        batch_op.drop_column("confirmed_at")
