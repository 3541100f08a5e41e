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
    Float,
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


def recorded_now() -> datetime:
    """The recorded time of a new fact row: the store's wall clock (UTC), never the demo clock."""
    return datetime.now(UTC)


def _recorded() -> Column[Any]:
    """When the system learned the row (revision 0007_known_at): rows are only ever added, so a
    question asked with ``known_at`` reads exactly the rows recorded by then."""
    return Column("recorded_at", UtcDateTime, nullable=False, default=recorded_now)


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
    _recorded(),
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
    _recorded(),
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
    _recorded(),
    # a fact index reads a new load's days (revision 0012)
    Index(None, "load_id"),
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
    # append-only (revision 0007): a new end for a known (county, level, start) is a later row
    _recorded(),
    Index(None, "county", "level", "start"),
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

fact_changes = Table(
    # what changed in fact rows other than by a new row (revision 0012): an entry ended
    # (``entry_end``, its id) or rows purged by retention (``purge``); read by id by the fact
    # index (``store.fact_index``) as it reads new rows
    "fact_changes",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("row_id", RowId, nullable=True),
    Column("recorded_at", UtcDateTime, nullable=False),
)

checks = Table(
    "checks",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    # empty for a scanned code: it names a pseudonym, not a person (revision 0005)
    Column("person_id", RowId, ForeignKey("people.id"), nullable=True),
    Column("at", UtcDateTime, nullable=False),
    Column("site", String(64), nullable=False),
    Column("mode", String(4), nullable=False),
    Column("smartphone", Boolean, nullable=False),
    Column("decision", String(20), nullable=False),
    Column("entered", Boolean, nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("reasons", Text, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    # the recorded-time horizon the check was decided with (revision 0007)
    Column("known_at", UtcDateTime, nullable=False),
    Index(None, "person_id", "entered", "at"),
)

# --- signed codes and offline checkpoints (revision 0002_credentials) ------------------------

revocations = Table(
    "revocations",
    metadata,
    Column("credential_hash", String(64), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=False),
    # the revocation list's version: the filter's updates carry the entries after a serial
    Column("serial", BigInteger().with_variant(Integer(), "sqlite"), nullable=True, unique=True),
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


# --- people and workflows (issue 5): users, applications, appeals, feedback, audit, retention ------

users = Table(
    "users",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("disabled", Boolean, nullable=False),
    Column("person_id", RowId, ForeignKey("people.id"), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

family_members = Table(
    "family_members",
    metadata,
    Column("user_id", RowId, ForeignKey("users.id"), primary_key=True),
    Column("person_id", RowId, ForeignKey("people.id"), primary_key=True),
    Column("added_at", UtcDateTime, nullable=False),
    Column("confirmed_at", UtcDateTime, nullable=True),
    # when the member confirmed (or staff verified) the link; until then the one who added them
    # sees only the colour, the badge and the NAT deadline (migration 0009)
    Column("confirmed_by", String(80), nullable=True),
    # "member", or "reviewer:<username>" / "hotline:<username>" who verified the documents
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("jti", String(32), primary_key=True),
    Column("user_id", RowId, ForeignKey("users.id"), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_seen_at", UtcDateTime, nullable=True),
    # last use (written at most once a minute): the idle timeout counts from here
)

sign_in_throttle = Table(
    "sign_in_throttle",
    metadata,
    Column("key", String(200), primary_key=True),
    # "account:<username>" or "address:<client address>"
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UtcDateTime, nullable=False),
    Column("blocked_until", UtcDateTime, nullable=True),
    # back-off: no attempt is checked before this time
    Column("locked_until", UtcDateTime, nullable=True),
    # lockout of an account (an admin can lift it)
)

applications = Table(
    "applications",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", RowId, ForeignKey("people.id"), nullable=False),
    Column("channel", String(12), nullable=False),
    Column("status", String(12), nullable=False),
    Column("reason", Text, nullable=False),
    Column("commuter_class", String(8), nullable=False),
    Column("home_county", String(6), nullable=True),
    Column("work_county", String(6), nullable=True),
    Column("submitted_by", RowId, ForeignKey("users.id"), nullable=False),
    Column("submitted_at", UtcDateTime, nullable=False),
    Column("waiting_since", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", RowId, ForeignKey("users.id"), nullable=True),
    Column("effective_from", UtcDateTime, nullable=True),
    Index(None, "status", "waiting_since"),
    Index(None, "person_id"),
)

application_events = Table(
    "application_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("application_id", RowId, ForeignKey("applications.id"), nullable=False),
    Column("from_status", String(12), nullable=True),
    Column("to_status", String(12), nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor_id", RowId, ForeignKey("users.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "application_id"),
)

documents = Table(
    "documents",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("application_id", RowId, ForeignKey("applications.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("size", Integer, nullable=False),
    Column("uploaded_by", RowId, ForeignKey("users.id"), nullable=False),
    Column("uploaded_at", UtcDateTime, nullable=False),
    UniqueConstraint("application_id", "sha256"),
)

appeals = Table(
    "appeals",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", RowId, ForeignKey("people.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("status", String(12), nullable=False),
    Column("statement", Text, nullable=False),
    Column("disputed_at", UtcDateTime, nullable=False),
    Column("snapshot", Text, nullable=False),
    Column("filed_by", RowId, ForeignKey("users.id"), nullable=False),
    Column("filed_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", RowId, ForeignKey("users.id"), nullable=True),
    Column("response", Text, nullable=True),
    # the recorded-time horizon of the decision disputed (revision 0007)
    Column("known_at", UtcDateTime, nullable=False),
    Index(None, "status", "filed_at"),
    Index(None, "person_id"),
)

overrides = Table(
    "overrides",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", RowId, ForeignKey("people.id"), nullable=False),
    Column("appeal_id", RowId, ForeignKey("appeals.id"), nullable=True),
    Column("field", String(8), nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", RowId, ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    _recorded(),
    Index(None, "person_id", "valid_to"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("parent_id", RowId, ForeignKey("feedback.id"), nullable=True),
    Column("author_id", RowId, ForeignKey("users.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", RowId, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_role", String(16), nullable=False),
    Column("action", String(48), nullable=False),
    Column("person_id", RowId, nullable=True),
    Column("reason", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "person_id"),
    Index(None, "actor", "action", "seq"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", RowId, nullable=False),
    Column("hash", String(64), nullable=False),
)

daily_counts = Table(
    "daily_counts",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("bucket", String(96), primary_key=True),
    Column("count", BigInteger, nullable=False),
)

# --- the policy book (revision 0007_known_at): versions authored, scheduled and withdrawn -------

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("version", String(32), primary_key=True),
    Column("body", Text, nullable=False),
    # builtin | draft | scheduled | withdrawn | discarded; in force / superseded follow from times
    Column("state", String(12), nullable=False),
    Column("effective_from", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)


# --- flow, warnings and scheduled work (issue 14, revision 0010_flow) ----------------------------

flow_minutes = Table(
    "flow_minutes",
    metadata,
    # one row per entry channel and minute, counted up as swipes are stored (never by rescanning)
    Column("site", String(64), primary_key=True),
    Column("lane", String(16), primary_key=True),
    Column("minute", UtcDateTime, primary_key=True),
    Column("arrivals", BigInteger, nullable=False),
    Column("entered", BigInteger, nullable=False),
    Column("documents", BigInteger, nullable=False),
    Column("refused", BigInteger, nullable=False),
    Index(None, "minute"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("rule", String(64), nullable=False),
    Column("site", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    # "rule|site" while the alert is not resolved, else empty: at most one live alert per rule and site
    Column("open_key", String(140), nullable=True, unique=True),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("acknowledged_by", String(64), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("value", Float, nullable=False),
    Column("message_zh", Text, nullable=False),
    Column("message_en", Text, nullable=False),
    Index(None, "state", "opened_at"),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("alert_id", RowId, ForeignKey("alerts.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("event", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Index(None, "alert_id", "id"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("job", String(64), nullable=False),
    Column("scheduled_for", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("detail", Text, nullable=False),
    Column("host", String(128), nullable=False),
    # a run is claimed by inserting its row: one runner per job and slot, whatever the servers
    UniqueConstraint("job", "scheduled_for"),
)


# --- telling the citizen (revision 0011_inbox): the inbox, reminder settings, the outbox ---------

notifications = Table(
    "notifications",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("person_id", RowId, ForeignKey("people.id"), nullable=False),
    # what the message is about, unique per person: the same event is told once
    Column("key", String(200), nullable=False),
    # badge_lapses_48h | badge_lapses_24h | badge_lapsed | entry_added | entry_ended
    # | application_decided | appeal_decided
    Column("kind", String(32), nullable=False),
    Column("at", UtcDateTime, nullable=False),  # when the thing told holds (the lapse, the entry)
    Column("created_at", UtcDateTime, nullable=False),
    Column("body", Text, nullable=False),  # JSON: reason codes with params, texts in zh and en
    Column("read_at", UtcDateTime, nullable=True),
    UniqueConstraint("person_id", "key"),
    Index(None, "person_id", "created_at"),
)

notification_settings = Table(
    "notification_settings",
    metadata,
    Column("person_id", RowId, ForeignKey("people.id"), primary_key=True),
    Column("reminders", Boolean, nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    # the message's stable id: sent as a header so a receiver can drop a repeat
    Column("message_id", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    UniqueConstraint("channel", "message_id"),
    Index(None, "channel", "sent_at", "next_attempt_at"),
)
