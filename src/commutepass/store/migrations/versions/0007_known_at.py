"""facts with two times: the recorded time of every fact decisions read, append-only risk periods,
and each check's (and appeal's) recorded-time horizon

Every fact table gets ``recorded_at`` (when the system learned the row; the wall clock of the
store, never the configured demo clock). Existing rows are carried forward with the time of the
load that brought them (``loads.loaded_at``); a row with no load gets the time of this migration
(we cannot claim to have known it earlier). Overrides take their ``created_at``.

Risk periods become append-only: a new end date for a known (county, level, start) is a new row
recorded later, so the unique key on (county, level, start) becomes a plain index.

``checks.known_at`` is the recorded-time horizon a check was decided with (existing checks: the
time they were recorded); ``appeals.known_at`` is the horizon of the decision an appeal disputes
(existing appeals: when they were filed).

``policy_versions`` is the policy book: the built-in versions are seeded into it when the app
opens, admins add drafts and schedule or withdraw them (docs/policy.md).

Revision ID: 0007_known_at
Revises: 0006_revocation_serials
Create Date: 2026-11-30
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from commutepass.store.tables import UtcDateTime

revision = "0007_known_at"
down_revision = "0006_revocation_serials"
branch_labels = None
depends_on = None

_LOADED = ("travel", "nat_results", "itinerary", "risk_periods")


def _not_null(table: str, column: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(column, existing_type=UtcDateTime(), nullable=False)


def upgrade() -> None:
    now = sa.bindparam("now", datetime.now(UTC), type_=UtcDateTime())
    for table in _LOADED:
        op.add_column(table, sa.Column("recorded_at", UtcDateTime(), nullable=True))
        t = sa.table(table, sa.column("load_id"), sa.column("recorded_at", UtcDateTime()))
        loads = sa.table("loads", sa.column("id"), sa.column("loaded_at", UtcDateTime()))
        loaded = sa.select(loads.c.loaded_at).where(loads.c.id == t.c.load_id).scalar_subquery()
        op.execute(t.update().values(recorded_at=sa.func.coalesce(loaded, now)))
        _not_null(table, "recorded_at")
    with op.batch_alter_table("risk_periods", schema=None) as batch_op:
        batch_op.drop_constraint("uq_risk_periods_county_level_start", type_="unique")
        batch_op.create_index("ix_risk_periods_county_level_start", ["county", "level", "start"])

    op.add_column("overrides", sa.Column("recorded_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE overrides SET recorded_at = created_at")
    _not_null("overrides", "recorded_at")

    op.add_column("checks", sa.Column("known_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE checks SET known_at = recorded_at")
    _not_null("checks", "known_at")

    op.add_column("appeals", sa.Column("known_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE appeals SET known_at = filed_at")
    _not_null("appeals", "known_at")

    op.create_table(
        "policy_versions",
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("effective_from", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_policy_versions")),
    )


def downgrade() -> None:
    op.drop_table("policy_versions")
    for table in ("appeals", "checks"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("known_at")
    with op.batch_alter_table("overrides", schema=None) as batch_op:
        batch_op.drop_column("recorded_at")
    # back to one row per (county, level, start): the latest recorded version of each
    op.execute(
        "DELETE FROM risk_periods WHERE EXISTS (SELECT 1 FROM risk_periods AS later "
        "WHERE later.county = risk_periods.county AND later.level = risk_periods.level "
        "AND later.start = risk_periods.start AND (later.recorded_at > risk_periods.recorded_at "
        "OR (later.recorded_at = risk_periods.recorded_at AND later.id > risk_periods.id)))"
    )
    with op.batch_alter_table("risk_periods", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_periods_county_level_start")
        batch_op.create_unique_constraint("uq_risk_periods_county_level_start", ["county", "level", "start"])
    for table in _LOADED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("recorded_at")
