"""Retention: travel, itinerary and swipe rows older than the policy's retention period are
deleted; their daily counts are kept (``daily_counts``), so aggregates survive the purge.

One transaction: the counts are added and the rows deleted together or not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from commutepass.domain.clock import BEIJING, local_date, local_midnight
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.oversight import repository


def cutoff(app: App, now: datetime) -> datetime:
    """00:00 Beijing time, ``retention_days`` days before today: older rows go."""
    days = app.policies.in_force(now).retention_days
    return local_midnight(local_date(now) - timedelta(days=days))


def _add_counts(conn: Connection, kind: str, counts: Counter[tuple[date, str]]) -> None:
    rows = [
        {"kind": kind, "day": day, "bucket": bucket[:96], "count": n} for (day, bucket), n in counts.items()
    ]
    repository.add_daily_counts(conn, kind, rows)


def _count(rows: Iterable[Any], key: Any) -> Counter[tuple[date, str]]:
    counts: Counter[tuple[date, str]] = Counter()
    for row in rows:
        counts[key(row)] += 1
    return counts


def run(app: App, *, now: datetime | None = None, actor: audit.Actor | None = None) -> dict[str, Any]:
    now = now or app.now()
    limit = cutoff(app, now)
    with app.transaction() as conn:
        travel_counts = _count(
            repository.travel_before(conn, limit),
            lambda r: (local_date(r.event_time), f"{r.direction}|{r.mode}|{r.county}"),
        )
        itinerary_counts = _count(
            repository.itinerary_before(conn, local_date(limit)), lambda r: (r.day, r.county)
        )
        check_counts = _count(
            repository.checks_before(conn, limit), lambda r: (local_date(r.at), f"{r.decision}|{r.site}")
        )
        _add_counts(conn, "travel", travel_counts)
        _add_counts(conn, "itinerary", itinerary_counts)
        _add_counts(conn, "checks", check_counts)
        deleted = repository.delete_before(conn, limit, local_date(limit))
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
