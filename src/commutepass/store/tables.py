"""Tables. Times are stored in UTC; the domain always sees timezone-aware datetimes.

No column holds a raw ID number: people are keyed by ``person_key`` (HMAC) and the number,
where kept, is encrypted (``id_cipher``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

RowId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware (UTC) datetimes out; stored as naive UTC on every engine."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the store; the domain must attach a zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        result: datetime = value.replace(tzinfo=UTC)
        return result


people = Table(
    "people",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_key", String(64), nullable=False, unique=True),
    Column("birth_date", Date, nullable=False),
    Column("id_masked", String(18), nullable=False),
    Column("id_cipher", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

loads = Table(
    "loads",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows_total", Integer, nullable=False),
    Column("rows_added", Integer, nullable=False),
    Column("rows_duplicate", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("loaded_at", UtcDateTime, nullable=False),
)

travel = Table(
    "travel",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", RowId, ForeignKey("people.id"), nullable=False),
    Column("event_time", UtcDateTime, nullable=False),
    Column("direction", String(5), nullable=False),
    Column("mode", String(4), nullable=False),
    Column("site", String(64), nullable=False),
    Column("county", String(6), nullable=False),
    Column("load_id", RowId, ForeignKey("loads.id"), nullable=True),
    UniqueConstraint("person_id", "direction", "event_time", "site"),
)

nat_results = Table(
    "nat_results",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", RowId, ForeignKey("people.id"), nullable=False),
    Column("sampled_at", UtcDateTime, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("positive", Boolean, nullable=False),
    Column("lab", String(128), nullable=False),
    Column("load_id", RowId, ForeignKey("loads.id"), nullable=True),
    UniqueConstraint("person_id", "sampled_at", "lab"),
    Index(None, "person_id", "reported_at"),
)

itinerary = Table(
    "itinerary",
    metadata,
    Column("person_id", RowId, ForeignKey("people.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("county", String(6), primary_key=True),
    Column("load_id", RowId, ForeignKey("loads.id"), nullable=True),
)

risk_periods = Table(
    "risk_periods",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("county", String(6), nullable=False),
    Column("level", String(16), nullable=False),
    Column("start", Date, nullable=False),
    Column("end", Date, nullable=True),
    Column("load_id", RowId, ForeignKey("loads.id"), nullable=True),
    UniqueConstraint("county", "level", "start"),
)

commuter_entries = Table(
    "commuter_entries",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", RowId, ForeignKey("people.id"), nullable=False),
    Column("commuter_class", String(8), nullable=False),
    Column("source", String(12), nullable=False),
    Column("home_county", String(6), nullable=True),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=True),
    Column("reason", Text, nullable=False),
    Column("evidence", Text, nullable=True),
    Column("end_reason", Text, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Index(None, "person_id", "valid_from"),
)

checks = Table(
    "checks",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", RowId, ForeignKey("people.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("site", String(64), nullable=False),
    Column("mode", String(4), nullable=False),
    Column("smartphone", Boolean, nullable=False),
    Column("decision", String(20), nullable=False),
    Column("entered", Boolean, nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("reasons", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Index(None, "person_id", "entered", "at"),
)

# --- signed codes and offline checkpoints (revision 0002_credentials) ------------------------

revocations = Table(
    "revocations",
    metadata,
    Column("credential_hash", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=False),
)

checkpoint_swipes = Table(
    "checkpoint_swipes",
    metadata,
    Column("swipe_id", String(36), primary_key=True),
    Column("checkpoint", String(64), nullable=False),
    Column("check_id", RowId, ForeignKey("checks.id"), nullable=False),
    Column("offline", Boolean, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)
