"""audit log: an index by actor and action (the console reads a checkpoint's last snapshot)

Revision ID: 0004_audit_by_actor
Revises: 0003_workflows
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0004_audit_by_actor"
down_revision = "0003_workflows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_log_actor_action_seq"), ["actor", "action", "seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_action_seq"))
