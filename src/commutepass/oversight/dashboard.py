"""Aggregates for the analyst: counts only, never a person's rows.

Every function returns counts grouped by site, time bucket, day or reason code; no person id,
ID number or single swipe leaves this module.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import orjson

from commutepass.domain.clock import BEIJING, local_midnight
from commutepass.domain.policy import CommuterClass, Decision
from commutepass.kit.context import App
from commutepass.oversight import repository

BUCKET_SECONDS = 300


@dataclass(frozen=True)
class SiteBuckets:
    site: str
    counts: dict[datetime, int]
    """Entries per 5-minute bucket (bucket start, Beijing time)."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class DayHolders:
    day: date
    daily: int
    weekly: int


@dataclass(frozen=True)
class ReasonCount:
    code: str
    count: int


@dataclass(frozen=True)
class Totals:
    checks: int
    entered: int
    refused: int
    documents: int


def _day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return local_midnight(first), local_midnight(last + timedelta(days=1))


def entries_per_site(app: App, day: date) -> list[SiteBuckets]:
    """People let in, per checkpoint per 5 minutes, over one Beijing day; busiest site first."""
    start, end = _day_bounds(day, day)
    sites: dict[str, dict[datetime, int]] = {}
    with app.engine.connect() as conn:
        for site, bucket, n in repository.entries_by_bucket(conn, start, end, BUCKET_SECONDS):
            moment = datetime.fromtimestamp(bucket * BUCKET_SECONDS, BEIJING)
            sites.setdefault(site, {})[moment] = n
    listed = [SiteBuckets(site, dict(sorted(counts.items()))) for site, counts in sites.items()]
    return sorted(listed, key=lambda s: (-s.total, s.site))


def badge_holders(app: App, first: date, last: date) -> list[DayHolders]:
    """People in the commuter database at 12:00 of each day, by class."""
    if last < first:
        return []
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    result = []
    with app.engine.connect() as conn:
        for day in days:
            noon = local_midnight(day) + timedelta(hours=12)
            counts = repository.database_size_by_class(conn, noon)
            result.append(
                DayHolders(
                    day,
                    int(counts.get(CommuterClass.DAILY.value, 0)),
                    int(counts.get(CommuterClass.WEEKLY.value, 0)),
                )
            )
    return result


def refusals_by_reason(app: App, first: date, last: date) -> list[ReasonCount]:
    """Reason codes of the refused checks in the days, most frequent first."""
    start, end = _day_bounds(first, last)
    counter: Counter[str] = Counter()
    with app.engine.connect() as conn:
        for reasons in repository.refused_reasons(conn, start, end):
            counter.update(orjson.loads(reasons) if isinstance(reasons, str | bytes) else reasons)
    return [ReasonCount(code, n) for code, n in counter.most_common()]


def totals(app: App, first: date, last: date) -> Totals:
    start, end = _day_bounds(first, last)
    with app.engine.connect() as conn:
        rows = repository.decisions_between(conn, start, end)
    all_checks = sum(int(n) for _d, _e, n in rows)
    return Totals(
        checks=all_checks,
        entered=sum(int(n) for _d, entered, n in rows if entered),
        refused=sum(int(n) for decision, _e, n in rows if decision == Decision.REFUSE.value),
        documents=sum(int(n) for decision, _e, n in rows if decision == Decision.DOCUMENTS.value),
    )


def latest_day(app: App, until: datetime) -> date | None:
    """The Beijing day of the last check at or before ``until`` (the dashboard opens on it)."""
    with app.engine.connect() as conn:
        last = repository.last_check_at(conn, until)
    if last is None:
        return None
    moment = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
    return moment.replace(tzinfo=moment.tzinfo or UTC).astimezone(BEIJING).date()
