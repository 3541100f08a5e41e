"""Retention: travel, itinerary and swipe rows older than the policy's retention period are
deleted; their daily counts are kept (``daily_counts``), so aggregates survive the purge.

One transaction: the counts are added and the rows deleted together or not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from commutepass.domain.clock import BEIJING, local_date, local_midnight
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.store.tables import checks, daily_counts, itinerary, travel


def cutoff(app: App, now: datetime) -> datetime:
    """00:00 Beijing time, ``retention_days`` days before today: older rows go."""
    days = app.policies.in_force(now).retention_days
    return local_midnight(local_date(now) - timedelta(days=days))


def _add_counts(conn: Connection, kind: str, counts: Counter[tuple[date, str]]) -> None:
    if not counts:
        return
    rows = [
        {"kind": kind, "day": day, "bucket": bucket[:96], "count": n} for (day, bucket), n in counts.items()
    ]
    insert = (
        postgresql.insert(daily_counts) if conn.dialect.name == "postgresql" else sqlite.insert(daily_counts)
    )
    stmt = insert.on_conflict_do_update(
        index_elements=["kind", "day", "bucket"], set_={"count": daily_counts.c.count + insert.excluded.count}
    )
    conn.execute(stmt, rows)


def _count(rows: Iterable[Any], key: Any) -> Counter[tuple[date, str]]:
    counts: Counter[tuple[date, str]] = Counter()
    for row in rows:
        counts[key(row)] += 1
    return counts


def _stream(conn: Connection, table: Table, *where: Any) -> Any:
    # the option on the statement, not the connection: it would stay on the connection, and the
    # inserts that follow cannot run on a server-side cursor
    return conn.execute(select(table).where(*where).execution_options(yield_per=5000))


def run(app: App, *, now: datetime | None = None, actor: audit.Actor | None = None) -> dict[str, Any]:
    now = now or app.now()
    limit = cutoff(app, now)
    with app.transaction() as conn:
        travel_counts = _count(
            _stream(conn, travel, travel.c.event_time < limit),
            lambda r: (local_date(r.event_time), f"{r.direction}|{r.mode}|{r.county}"),
        )
        itinerary_counts = _count(
            _stream(conn, itinerary, itinerary.c.day < local_date(limit)), lambda r: (r.day, r.county)
        )
        check_counts = _count(
            _stream(conn, checks, checks.c.at < limit), lambda r: (local_date(r.at), f"{r.decision}|{r.site}")
        )
        _add_counts(conn, "travel", travel_counts)
        _add_counts(conn, "itinerary", itinerary_counts)
        _add_counts(conn, "checks", check_counts)
        deleted = {
            "travel": conn.execute(delete(travel).where(travel.c.event_time < limit)).rowcount,
            "itinerary": conn.execute(delete(itinerary).where(itinerary.c.day < local_date(limit))).rowcount,
            "checks": conn.execute(delete(checks).where(checks.c.at < limit)).rowcount,
        }
        summary = {
            "cutoff": limit.astimezone(BEIJING).isoformat(),
            "retention_days": app.policies.in_force(now).retention_days,
            "deleted": deleted,
            "counted": {
                "travel": sum(travel_counts.values()),
                "itinerary": sum(itinerary_counts.values()),
                "checks": sum(check_counts.values()),
            },
        }
        audit.record(
            conn,
            app,
            actor or audit.cli_actor(),
            "retention.run",
            None,
            f"rows before {summary['cutoff']}",
            **summary,
        )
    return summary
