"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from commutepass.store.tables import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loads",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_added", sa.Integer(), nullable=False),
        sa.Column("rows_duplicate", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("loaded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loads")),
    )
    op.create_table(
        "people",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("id_masked", sa.String(length=18), nullable=False),
        sa.Column("id_cipher", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("person_key", name=op.f("uq_people_person_key")),
    )
    op.create_table(
        "checks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("smartphone", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("entered", sa.Boolean(), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_checks_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checks")),
    )
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checks_person_id_entered_at"),
            ["person_id", "entered", "at"],
            unique=False,
        )

    op.create_table(
        "commuter_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("commuter_class", sa.String(length=8), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("home_county", sa.String(length=6), nullable=True),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("valid_to", UtcDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_commuter_entries_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commuter_entries")),
    )
    with op.batch_alter_table("commuter_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commuter_entries_person_id_valid_from"),
            ["person_id", "valid_from"],
            unique=False,
        )

    op.create_table(
        "itinerary",
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("load_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["load_id"], ["loads.id"], name=op.f("fk_itinerary_load_id_loads")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_itinerary_person_id_people")),
        sa.PrimaryKeyConstraint("person_id", "day", "county", name=op.f("pk_itinerary")),
    )
    op.create_table(
        "nat_results",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sampled_at", UtcDateTime(), nullable=False),
        sa.Column("reported_at", UtcDateTime(), nullable=False),
        sa.Column("positive", sa.Boolean(), nullable=False),
        sa.Column("lab", sa.String(length=128), nullable=False),
        sa.Column("load_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["load_id"], ["loads.id"], name=op.f("fk_nat_results_load_id_loads")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_nat_results_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nat_results")),
        sa.UniqueConstraint(
            "person_id", "sampled_at", "lab", name=op.f("uq_nat_results_person_id_sampled_at_lab")
        ),
    )
    with op.batch_alter_table("nat_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nat_results_person_id_reported_at"),
            ["person_id", "reported_at"],
            unique=False,
        )

    op.create_table(
        "risk_periods",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("load_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["load_id"], ["loads.id"], name=op.f("fk_risk_periods_load_id_loads")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_periods")),
        sa.UniqueConstraint("county", "level", "start", name=op.f("uq_risk_periods_county_level_start")),
    )
    op.create_table(
        "travel",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_time", UtcDateTime(), nullable=False),
        sa.Column("direction", sa.String(length=5), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("county", sa.String(length=6), nullable=False),
        sa.Column("load_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["load_id"], ["loads.id"], name=op.f("fk_travel_load_id_loads")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_travel_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_travel")),
        sa.UniqueConstraint(
            "person_id",
            "direction",
            "event_time",
            "site",
            name=op.f("uq_travel_person_id_direction_event_time_site"),
        ),
    )


def downgrade() -> None:
    op.drop_table("travel")
    op.drop_table("risk_periods")
    with op.batch_alter_table("nat_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nat_results_person_id_reported_at"))

    op.drop_table("nat_results")
    op.drop_table("itinerary")
    with op.batch_alter_table("commuter_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commuter_entries_person_id_valid_from"))

    op.drop_table("commuter_entries")
    with op.batch_alter_table("checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checks_person_id_entered_at"))

    op.drop_table("checks")
    op.drop_table("people")
    op.drop_table("loads")
