"""flow per entry channel, alerts with history, job runs (issue 14)

Revision ID: 0010_flow
Revises: 0009_security
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from commutepass.store.tables import UtcDateTime

revision = "0010_flow"
down_revision = "0009_security"
branch_labels = None
depends_on = None

RowId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "flow_minutes",
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("lane", sa.String(16), nullable=False),
        sa.Column("minute", UtcDateTime(), nullable=False),
        sa.Column("arrivals", sa.BigInteger(), nullable=False),
        sa.Column("entered", sa.BigInteger(), nullable=False),
        sa.Column("documents", sa.BigInteger(), nullable=False),
        sa.Column("refused", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site", "lane", "minute", name="pk_flow_minutes"),
    )
    op.create_index("ix_flow_minutes_minute", "flow_minutes", ["minute"])
    op.create_table(
        "alerts",
        sa.Column("id", RowId, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("open_key", sa.String(140), nullable=True),
        sa.Column("opened_at", UtcDateTime(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(64), nullable=True),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("message_zh", sa.Text(), nullable=False),
        sa.Column("message_en", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint("open_key", name="uq_alerts_open_key"),
    )
    op.create_index("ix_alerts_state_opened_at", "alerts", ["state", "opened_at"])
    op.create_table(
        "alert_events",
        sa.Column("id", RowId, autoincrement=True),
        sa.Column("alert_id", RowId, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_events"),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name="fk_alert_events_alert_id_alerts"),
    )
    op.create_index("ix_alert_events_alert_id_id", "alert_events", ["alert_id", "id"])
    op.create_table(
        "job_runs",
        sa.Column("id", RowId, autoincrement=True),
        sa.Column("job", sa.String(64), nullable=False),
        sa.Column("scheduled_for", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("host", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_job_runs"),
        sa.UniqueConstraint("job", "scheduled_for", name="uq_job_runs_job_scheduled_for"),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_table("alert_events")
    op.drop_table("alerts")
    op.drop_table("flow_minutes")
