"""Aggregates for the analyst: counts only, never a person's rows.

Every function returns counts grouped by site, time bucket, day or reason code; no person id,
ID number or single swipe leaves this module. What the analyst page shows goes through ``view``:
the same small-cell suppression as ``GET /v1/stats`` (``domain.privacy.suppress``, k =
``analyst_min_cell``), so no figure tells about fewer than k people and no shown total minus its
shown parts gives a suppressed figure back. A suppressed figure is None.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import orjson

from commutepass.domain.clock import BEIJING, local_midnight
from commutepass.domain.policy import CommuterClass, Decision
from commutepass.domain.privacy import suppress
from commutepass.kit.context import App
from commutepass.oversight import repository

BUCKET_SECONDS = 300


@dataclass(frozen=True)
class SiteBuckets:
    site: str
    counts: dict[datetime, int | None]
    """Entries per 5-minute bucket (bucket start, Beijing time); None: suppressed."""

    @property
    def total(self) -> int:
        """The shown entries (the sites are ordered by it)."""
        return sum(n for n in self.counts.values() if n is not None)


@dataclass(frozen=True)
class DayHolders:
    day: date
    daily: int | None
    weekly: int | None


@dataclass(frozen=True)
class ReasonCount:
    code: str
    count: int | None


@dataclass(frozen=True)
class Totals:
    checks: int | None
    entered: int | None
    refused: int | None
    documents: int | None


def _day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return local_midnight(first), local_midnight(last + timedelta(days=1))


def entries_per_site(app: App, day: date) -> list[SiteBuckets]:
    """People let in, per checkpoint per 5 minutes, over one Beijing day; busiest site first."""
    start, end = _day_bounds(day, day)
    sites: dict[str, dict[datetime, int | None]] = {}
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


@dataclass(frozen=True)
class View:
    """The analyst page's figures, suppressed (None where a figure is withheld)."""

    totals: Totals
    sites: list[SiteBuckets]
    holders: list[DayHolders]
    refusals: list[ReasonCount]
    min_cell: int


def view(app: App, first: date, day: date) -> View:
    """The dashboard of the days ``first`` to ``day`` (entries per site: of ``day``), with every
    table suppressed by ``domain.privacy.suppress``:

    - entries: all the day's (site, 5-minute) cells are one table, whose total is the day's
      entered count (so with a one-day range the "entered" total is withheld with it);
    - totals: checks split into entered / refused / the rest (one table, the checks its total),
      and documents against the rest of the checks (a table of its own);
    - holders: each day's daily and weekly classes are a table (their sum is not shown);
    - refusals: the reason codes are one table (a check may carry several, no total is shown).
    """
    k = app.settings.analyst_min_cell
    raw_sites = entries_per_site(app, day)
    cells = [(site.site, moment, n) for site in raw_sites for moment, n in site.counts.items()]
    entries = suppress([n or 0 for _s, _m, n in cells], k)
    shown: dict[str, dict[datetime, int | None]] = {site.site: {} for site in raw_sites}
    for (site_name, moment, _n), c in zip(cells, entries.counts, strict=True):
        shown[site_name][moment] = c
    sites = sorted(
        (SiteBuckets(name, counts) for name, counts in shown.items()), key=lambda s: (-s.total, s.site)
    )

    raw = totals(app, first, day)
    assert raw.checks is not None and raw.entered is not None
    assert raw.refused is not None and raw.documents is not None
    split = suppress([raw.entered, raw.refused, max(0, raw.checks - raw.entered - raw.refused)], k)
    papers = suppress([raw.documents, raw.checks - raw.documents], k)
    entered = split.counts[0]
    if first == day and entries.total is None and cells:
        entered = None  # the day's entries table withheld its total: so is this one
    checks = split.total if papers.total is not None else None
    shown_totals = Totals(checks=checks, entered=entered, refused=split.counts[1], documents=papers.counts[0])

    holders = []
    for h in badge_holders(app, first, day):
        table = suppress([h.daily or 0, h.weekly or 0], k)
        holders.append(DayHolders(h.day, table.counts[0], table.counts[1]))

    raw_refusals = refusals_by_reason(app, first, day)
    reasons = suppress([r.count or 0 for r in raw_refusals], k)
    # shown counts first (largest first), then the suppressed codes by name: their order would
    # rank them otherwise
    refusals = sorted(
        (ReasonCount(r.code, c) for r, c in zip(raw_refusals, reasons.counts, strict=True)),
        key=lambda r: (r.count is None, -(r.count or 0), r.code),
    )
    return View(shown_totals, sites, holders, refusals, k)
