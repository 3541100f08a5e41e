"""Commuter rules: who the travel records say is a daily or weekly ring-area commuter.

A first, rule-based version over one look-back window; thresholds come from the policy
(``commuters.identification``). Every classification carries its evidence in plain words,
so the explanation and an appeal can show it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from commutepass.domain.clock import BEIJING, local_date
from commutepass.domain.policy import CommuterClass, IdentificationRules, RingArea
from commutepass.domain.regions import RegionCatalog


@dataclass(frozen=True, slots=True)
class Passage:
    at: datetime
    entering: bool
    county: str
    """The county outside Beijing the passage connects to (where the trip came from / went to)."""


@dataclass(frozen=True, slots=True)
class Features:
    workdays: int
    """Workdays from the first entry in the window (or the window's start) to the as-of day."""
    entry_workdays: int
    entry_days: int
    active_weeks: int
    """Weeks (Monday to Sunday) with at least one entry."""
    entry_days_per_active_week: float
    weekday_share: float
    """Share of entry days that fall on the most common weekday (weekly commuters are regular)."""
    days_since_last_entry: int | None
    ring_share: float
    home_county: str | None
    first_entry_hour: str | None
    last_entry_hour: str | None


@dataclass(frozen=True, slots=True)
class Classification:
    commuter_class: CommuterClass | None
    features: Features
    evidence_zh: str
    evidence_en: str


def workdays_between(first: date, last: date) -> int:
    """Monday to Friday in [first, last]. (Public holidays come with the big-data job.)"""
    return sum(1 for n in range((last - first).days + 1) if (first + timedelta(days=n)).weekday() < 5)


def features_of(passages: Sequence[Passage], as_of: date, window_days: int, ring: RingArea) -> Features:
    first = as_of - timedelta(days=window_days - 1)
    inside = [p for p in passages if first <= local_date(p.at) <= as_of]
    entry_dates = sorted({local_date(p.at) for p in inside if p.entering})
    entry_weeks = Counter(d.isocalendar()[:2] for d in entry_dates)
    weekdays = Counter(d.weekday() for d in entry_dates)
    ring_passages = [p for p in inside if ring.contains(p.county)]
    counties = Counter(p.county for p in ring_passages)
    hours = sorted(p.at.astimezone(BEIJING).strftime("%H:%M") for p in inside if p.entering)
    # A new joiner is judged from their first entry on, once they have a week of history.
    span_start = first
    if entry_dates and workdays_between(entry_dates[0], as_of) >= 5:
        span_start = entry_dates[0]
    return Features(
        workdays=workdays_between(span_start, as_of),
        entry_workdays=sum(1 for d in entry_dates if d.weekday() < 5),
        entry_days=len(entry_dates),
        active_weeks=len(entry_weeks),
        entry_days_per_active_week=(len(entry_dates) / len(entry_weeks)) if entry_weeks else 0.0,
        weekday_share=(weekdays.most_common(1)[0][1] / len(entry_dates)) if entry_dates else 0.0,
        days_since_last_entry=(as_of - entry_dates[-1]).days if entry_dates else None,
        ring_share=(len(ring_passages) / len(inside)) if inside else 0.0,
        home_county=counties.most_common(1)[0][0] if counties else None,
        first_entry_hour=hours[len(hours) // 10] if hours else None,
        last_entry_hour=hours[(len(hours) * 9) // 10] if hours else None,
    )


def classify(
    passages: Sequence[Passage],
    as_of: date,
    rules: IdentificationRules,
    ring: RingArea,
    catalog: RegionCatalog,
) -> Classification:
    f = features_of(passages, as_of, rules.window_days, ring)
    home = catalog.get(f.home_county) if f.home_county else None
    place = home.name if home else "—"
    recent = (
        f.days_since_last_entry is not None and f.days_since_last_entry <= rules.max_days_since_last_entry
    )
    if f.entry_days == 0:
        return Classification(None, f, "观察期内没有进京记录。", "No entry into Beijing in the window.")
    if f.ring_share < rules.ring_share_min:
        return Classification(
            None,
            f,
            f"仅 {f.ring_share:.0%} 的进出京记录往返环京地区（需 ≥ {rules.ring_share_min:.0%}）。",
            f"Only {f.ring_share:.0%} of passages connect to the ring area (needs ≥ {rules.ring_share_min:.0%}).",
        )
    if not recent:
        return Classification(
            None,
            f,
            f"最近一次进京在 {f.days_since_last_entry} 天前（需 ≤ {rules.max_days_since_last_entry} 天）。",
            f"Last entry {f.days_since_last_entry} days ago (needs ≤ {rules.max_days_since_last_entry}).",
        )
    hours_zh = f"{f.first_entry_hour}—{f.last_entry_hour}"
    if f.workdays and f.entry_workdays / f.workdays >= rules.daily_min_workday_share:
        return Classification(
            CommuterClass.DAILY,
            f,
            f"近 {rules.window_days} 天的 {f.workdays} 个工作日中有 {f.entry_workdays} 天进京，"
            f"多在 {hours_zh} 从{place}进京。",
            f"Entered on {f.entry_workdays} of the last {f.workdays} workdays, mostly between "
            f"{f.first_entry_hour} and {f.last_entry_hour}, from {place}.",
        )
    if (
        f.active_weeks >= rules.weekly_min_weeks
        and f.entry_days_per_active_week <= rules.weekly_max_entry_days_per_week
        and f.weekday_share >= rules.weekly_min_weekday_share
    ):
        return Classification(
            CommuterClass.WEEKLY,
            f,
            f"近 {rules.window_days} 天中有 {f.active_weeks} 周往返{place}与北京，每周进京约 "
            f"{f.entry_days_per_active_week:.1f} 天。",
            f"Travelled between {place} and Beijing in {f.active_weeks} weeks of the last "
            f"{rules.window_days} days, entering on about {f.entry_days_per_active_week:.1f} days a week.",
        )
    return Classification(
        None,
        f,
        f"进京 {f.entry_days} 天、往返 {f.active_weeks} 周，频次不符合通勤规则。",
        f"Entered on {f.entry_days} days over {f.active_weeks} weeks: not a commuting pattern.",
    )
