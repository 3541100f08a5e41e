"""Oversight's SQL: the analyst's aggregates (counts only, never a person's rows), the risk
periods as the admin keeps them, and retention's purge with the daily counts it keeps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, Table, and_, cast, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from commutepass.domain.policy import Decision
from commutepass.store.repositories import note_change
from commutepass.store.tables import (
    application_events,
    applications,
    auth_sessions,
    checks,
    commuter_entries,
    daily_counts,
    documents,
    itinerary,
    loads,
    nat_results,
    notifications,
    outbox,
    risk_periods,
    travel,
)

# --- the analyst's aggregates ---------------------------------------------------------------------


def _epoch(column: ColumnElement[datetime], dialect: str) -> ColumnElement[int]:
    """Seconds since 1970 of a naive-UTC timestamp column, in the engine's own SQL."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.extract("epoch", column), Integer)


def entries_by_bucket(
    conn: Connection, start: datetime, end: datetime, bucket_seconds: int
) -> Iterator[tuple[str, int, int]]:
    """(site, bucket number since 1970, people let in) of the checks between two times."""
    bucket = _epoch(checks.c.at, conn.dialect.name) // bucket_seconds
    query = (
        select(checks.c.site, bucket.label("bucket"), func.count().label("n"))
        .where(checks.c.entered.is_(True), checks.c.at >= start, checks.c.at < end)
        .group_by(checks.c.site, bucket)
    )
    for row in conn.execute(query):
        yield str(row.site), int(row.bucket), int(row.n)


def _in_force(at: datetime) -> ColumnElement[bool]:
    return and_(
        commuter_entries.c.valid_from <= at,
        or_(commuter_entries.c.valid_to.is_(None), commuter_entries.c.valid_to > at),
    )


def database_size_by_class(conn: Connection, at: datetime) -> dict[str, int]:
    """People in the commuter database at ``at``, by class."""
    rows = conn.execute(
        select(commuter_entries.c.commuter_class, func.count())
        .where(_in_force(at))
        .group_by(commuter_entries.c.commuter_class)
    ).all()
    return {str(c): int(n) for c, n in rows}


def refused_reasons(conn: Connection, start: datetime, end: datetime) -> Iterator[Any]:
    """The reason codes (JSON) of each refused check between two times."""
    rows = conn.execute(
        select(checks.c.reasons).where(
            checks.c.decision == Decision.REFUSE.value, checks.c.at >= start, checks.c.at < end
        )
    )
    for (reasons,) in rows:
        yield reasons


def decisions_between(conn: Connection, start: datetime, end: datetime) -> Sequence[Any]:
    """(decision, entered, count) of the checks between two times."""
    return conn.execute(
        select(checks.c.decision, checks.c.entered, func.count())
        .where(checks.c.at >= start, checks.c.at < end)
        .group_by(checks.c.decision, checks.c.entered)
    ).all()


def last_check_at(conn: Connection, until: datetime) -> Any:
    return conn.execute(select(func.max(checks.c.at)).where(checks.c.at <= until)).scalar()


def database_by_class_and_source(conn: Connection, at: datetime) -> Sequence[Any]:
    """(class, source, count) of the commuter database at ``at``."""
    return conn.execute(
        select(commuter_entries.c.commuter_class, commuter_entries.c.source, func.count())
        .where(_in_force(at))
        .group_by(commuter_entries.c.commuter_class, commuter_entries.c.source)
    ).all()


def applications_by_channel_and_state(conn: Connection) -> Sequence[Any]:
    return conn.execute(
        select(applications.c.channel, applications.c.status, func.count()).group_by(
            applications.c.channel, applications.c.status
        )
    ).all()


def checks_by_decision(conn: Connection) -> Sequence[Any]:
    return conn.execute(select(checks.c.decision, func.count()).group_by(checks.c.decision)).all()


def kept_daily_counts(conn: Connection) -> Sequence[Any]:
    """(kind, day, count) of the counts retention kept for the rows it deleted."""
    return conn.execute(
        select(daily_counts.c.kind, daily_counts.c.day, func.sum(daily_counts.c.count))
        .group_by(daily_counts.c.kind, daily_counts.c.day)
        .order_by(daily_counts.c.kind, daily_counts.c.day)
    ).all()


# --- risk periods ---------------------------------------------------------------------------------


def load_file_names(conn: Connection, load_ids: set[int]) -> dict[int, str]:
    """The file name (or ``admin:<who>``) of each load."""
    if not load_ids:
        return {}
    found = conn.execute(select(loads.c.id, loads.c.file_name).where(loads.c.id.in_(list(load_ids))))
    return {int(r.id): str(r.file_name) for r in found}


def risk_period(conn: Connection, period_id: int) -> Any:
    return conn.execute(select(risk_periods).where(risk_periods.c.id == period_id)).first()


# --- retention ------------------------------------------------------------------------------------


def _stream(conn: Connection, table: Table, *where: Any) -> Any:
    # the option on the statement, not the connection: it would stay on the connection, and the
    # inserts that follow cannot run on a server-side cursor
    return conn.execute(select(table).where(*where).execution_options(yield_per=5000))


def travel_before(conn: Connection, limit: datetime) -> Any:
    return _stream(conn, travel, travel.c.event_time < limit)


def itinerary_before(conn: Connection, day: date) -> Any:
    return _stream(conn, itinerary, itinerary.c.day < day)


def checks_before(conn: Connection, limit: datetime) -> Any:
    return _stream(conn, checks, checks.c.at < limit)


def nat_before(conn: Connection, limit: datetime) -> Any:
    """Test results reported before ``limit``."""
    return _stream(conn, nat_results, nat_results.c.reported_at < limit)


OPEN_APPLICATIONS = ("submitted", "needs_more")
"""Application states retention never removes (still waiting for someone)."""


def _decided_before(limit: datetime) -> Any:
    return select(applications.c.id).where(
        applications.c.status.not_in(OPEN_APPLICATIONS), applications.c.decided_at < limit
    )


def applications_decided_before(conn: Connection, limit: datetime) -> Any:
    """Decided applications (not open ones) decided before ``limit``."""
    return _stream(
        conn, applications, applications.c.status.not_in(OPEN_APPLICATIONS), applications.c.decided_at < limit
    )


def document_hashes(conn: Connection) -> set[str]:
    """The content hashes (file names) every document row still refers to."""
    return set(conn.execute(select(documents.c.sha256)).scalars())


def add_daily_counts(conn: Connection, kind: str, rows: list[dict[str, Any]]) -> None:
    """Add to the kept counts (kind, day, bucket): a second purge of the same day adds up."""
    if not rows:
        return
    insert = (
        postgresql.insert(daily_counts) if conn.dialect.name == "postgresql" else sqlite.insert(daily_counts)
    )
    stmt = insert.on_conflict_do_update(
        index_elements=["kind", "day", "bucket"], set_={"count": daily_counts.c.count + insert.excluded.count}
    )
    conn.execute(stmt, rows)


def delete_before(conn: Connection, limits: dict[str, datetime], day: date) -> dict[str, int]:
    """Delete each kind past its limit (``limits`` by kind: travel, checks, nat, documents,
    applications, sessions) and itinerary days before ``day``: the counts deleted, by kind.
    Documents go with their application, or alone once it was decided ``documents`` ago."""
    old_applications = _decided_before(limits["applications"])
    old_documents = _decided_before(limits["documents"])
    deleted = {
        "travel": conn.execute(delete(travel).where(travel.c.event_time < limits["travel"])).rowcount,
        "itinerary": conn.execute(delete(itinerary).where(itinerary.c.day < day)).rowcount,
        "checks": conn.execute(delete(checks).where(checks.c.at < limits["checks"])).rowcount,
        "nat": conn.execute(delete(nat_results).where(nat_results.c.reported_at < limits["nat"])).rowcount,
        "documents": conn.execute(
            delete(documents).where(
                or_(
                    documents.c.application_id.in_(old_documents),
                    documents.c.application_id.in_(old_applications),
                )
            )
        ).rowcount,
    }
    conn.execute(delete(application_events).where(application_events.c.application_id.in_(old_applications)))
    deleted["applications"] = conn.execute(
        delete(applications).where(applications.c.id.in_(old_applications.scalar_subquery()))
    ).rowcount
    ended = auth_sessions.c.expires_at < limits["sessions"]
    revoked = auth_sessions.c.revoked_at < limits["sessions"]
    deleted["sessions"] = conn.execute(delete(auth_sessions).where(or_(ended, revoked))).rowcount
    if any(deleted[kind] for kind in ("travel", "itinerary", "checks", "nat")):
        note_change(conn, "purge")  # fact indexes reload
    return deleted


def delete_notifications_before(conn: Connection, limit: datetime) -> dict[str, int]:
    """The citizen's messages made before ``limit``, and the outbox rows delivered before it
    (undelivered ones stay: nothing is lost to retention)."""
    return {
        "notifications": conn.execute(
            delete(notifications).where(notifications.c.created_at < limit)
        ).rowcount,
        "outbox": conn.execute(delete(outbox).where(outbox.c.sent_at < limit)).rowcount,
    }
