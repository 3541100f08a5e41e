"""applications name the work county (approval needs a ring-area county at one end and Beijing at
the other); the citizen's inbox, reminder settings and the outbound message outbox

Revision ID: 0011_inbox
Revises: 0010_flow
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from commutepass.store.tables import UtcDateTime

_ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0011_inbox"
down_revision = "0010_flow"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("work_county", sa.String(length=6), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("person_id", _ROW_ID, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("read_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_notifications_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("person_id", "key", name=op.f("uq_notifications_person_id_key")),
    )
    op.create_index(
        op.f("ix_notifications_person_id_created_at"), "notifications", ["person_id", "created_at"]
    )
    op.create_table(
        "notification_settings",
        sa.Column("person_id", _ROW_ID, nullable=False),
        sa.Column("reminders", sa.Boolean(), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_notification_settings_person_id_people")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_notification_settings")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", _ROW_ID, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("channel", "message_id", name=op.f("uq_outbox_channel_message_id")),
    )
    op.create_index(
        op.f("ix_outbox_channel_sent_at_next_attempt_at"), "outbox", ["channel", "sent_at", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_channel_sent_at_next_attempt_at"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("notification_settings")
    op.drop_index(op.f("ix_notifications_person_id_created_at"), table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("work_county")
