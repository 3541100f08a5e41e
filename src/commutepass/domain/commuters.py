"""Commuter rules in words: what identification found about a person, and why, in zh and en.

The rules themselves run as one job definition on DuckDB or Spark
(``commutepass.commuters.identification``), with every threshold from the policy
(``commuters.identification``). This module turns one person's features and outcome into
the evidence stored on the entry, so the explanation and an appeal can show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from commutepass.domain.policy import CommuterClass, IdentificationRules
from commutepass.domain.regions import RegionCatalog


class Outcome(StrEnum):
    """Which rule decided (the job's ``outcome`` column)."""

    DAILY = "daily"
    """Entered on enough of the workdays (by the holiday calendar)."""
    SHIFT = "shift"
    """Entered on enough of all days, workdays or not (shift work: four on, four off)."""
    WEEKLY = "weekly"
    NO_ENTRY = "no_entry"
    NOT_RING = "not_ring"
    LAPSED = "lapsed"
    IRREGULAR = "irregular"

    @property
    def commuter_class(self) -> CommuterClass | None:
        if self in (Outcome.DAILY, Outcome.SHIFT):
            return CommuterClass.DAILY
        if self is Outcome.WEEKLY:
            return CommuterClass.WEEKLY
        return None


@dataclass(frozen=True, slots=True)
class Features:
    """One person's features over the look-back window (a row of the job's output)."""

    window_days: int
    span_days: int
    """Days judged: the window, or from the first entry on for a new joiner."""
    span_workdays: int
    entry_days: int
    entry_workdays: int
    active_weeks: int
    edge_entries: int
    """Returns at commuting time at the start of the working week (the day off before it, or its
    first workday before office hours) or at its end (its last workday after office hours, or the
    day off after it), whichever is more."""
    days_since_last_entry: int | None
    passages: int
    ring_passages: int
    home_county: str | None
    """The ring county of the most recent entry (a person who moved counts from the new home)."""
    entry_from: str | None
    """Usual entry time: the mean ± 1.28 standard deviations of the first entry of each day
    (about its 10th–90th percentile), within the earliest and latest entry seen (HH:MM)."""
    entry_to: str | None
    rhythm: str | None = None
    """The weekly rhythm the entries follow most: ``eve`` (the day off before the working week,
    usually Sunday), ``first`` (its first workday, usually Monday), ``last`` (its last workday,
    usually Friday), ``after`` (the day off after it, usually Saturday)."""
    rhythm_entries: int | None = None
    """Entries on the rhythm's days in the window."""
    rhythm_days: int | None = None
    """The rhythm's days in the window (one a week)."""
    days_since_last_passage: int | None = None
    """Days since the person last crossed (an entry or an exit): the pattern lapses on this."""
    stayed_starts: int | None = None
    """Returns at the start of the working week after which the person stayed through it."""
    end_returns: int | None = None
    """Returns at the end of the working week (after work on its last workday, or the day off after)."""


RHYTHM_WORDS: dict[str, tuple[str, str, str, str]] = {
    # kind: (zh verb, zh day, en verb, en day)
    "eve": (
        "返京",
        "周日（工作周前的休息日）",
        "returned",
        "on Sunday (the day off before the working week)",
    ),
    "first": ("返京", "周一（一周的首个工作日）", "returned", "on Monday (the first workday of the week)"),
    "last": (
        "回京",
        "周五（一周的末个工作日）",
        "came back to Beijing",
        "on Friday (the last workday of the week)",
    ),
    "after": (
        "回京",
        "周六（工作周后的休息日）",
        "came back to Beijing",
        "on Saturday (the day off after the working week)",
    ),
}


def _part_of_day(entry_from: str | None, entry_to: str | None) -> tuple[str, str]:
    """Morning, afternoon or evening by the middle of the usual entry time."""
    if not entry_from or not entry_to:
        return "", ""
    a, b = (int(t[:2]) * 60 + int(t[3:]) for t in (entry_from, entry_to))
    middle = (a + b) / 2
    if middle < 12 * 60:
        return "上午", " morning"
    if middle < 17 * 60:
        return "下午", " afternoon"
    return "晚间", " evening"


def rhythm_sentence(f: Features) -> tuple[str, str] | None:
    """The weekly rhythm in words, e.g. "returned on Sunday evening … in 4 of the last 4 weeks"."""
    if f.rhythm not in RHYTHM_WORDS or f.rhythm_entries is None or not f.rhythm_days:
        return None
    verb_zh, day_zh, verb_en, day_en = RHYTHM_WORDS[f.rhythm]
    part_zh, part_en = _part_of_day(f.entry_from, f.entry_to)
    on, _space, rest = day_en.partition(" (")
    zh = f"近 {f.rhythm_days} 周中有 {f.rhythm_entries} 周在{day_zh}{part_zh}{verb_zh}"
    en = f"{verb_en} {on}{part_en} ({rest} in {f.rhythm_entries} of the last {f.rhythm_days} weeks"
    return zh, en


@dataclass(frozen=True, slots=True)
class Classification:
    commuter_class: CommuterClass | None
    outcome: Outcome
    features: Features
    evidence_zh: str
    evidence_en: str


def explain(
    outcome: Outcome, f: Features, rules: IdentificationRules, catalog: RegionCatalog
) -> Classification:
    """The evidence for an outcome, in plain words, with the numbers the rule used."""
    home = catalog.get(f.home_county) if f.home_county else None
    place_zh = home.name if home else "—"
    place_en = home.name if home else "—"
    ring_share = f.ring_passages / f.passages if f.passages else 0.0
    hours = f"{f.entry_from}—{f.entry_to}"
    zh: str
    en: str
    if outcome is Outcome.DAILY:
        zh = (
            f"近 {f.span_days} 天的 {f.span_workdays} 个工作日中有 {f.entry_workdays} 天进京，"
            f"多在 {hours} 从{place_zh}进京。"
        )
        en = (
            f"Entered on {f.entry_workdays} of the last {f.span_workdays} workdays, mostly between "
            f"{f.entry_from} and {f.entry_to}, from {place_en}."
        )
    elif outcome is Outcome.SHIFT:
        zh = f"近 {f.span_days} 天中有 {f.entry_days} 天进京（轮班），多在 {hours} 从{place_zh}进京。"
        en = (
            f"Entered on {f.entry_days} of the last {f.span_days} days (shift work), mostly between "
            f"{f.entry_from} and {f.entry_to}, from {place_en}."
        )
    elif outcome is Outcome.WEEKLY:
        per_week = f.entry_days / f.active_weeks if f.active_weeks else 0.0
        zh = (
            f"近 {f.window_days} 天中有 {f.active_weeks} 周往返{place_zh}与北京，每周进京约 "
            f"{per_week:.1f} 天，{f.edge_entries} 次在工作周的首尾（前后的休息日或首个、末个工作日）。"
        )
        en = (
            f"Travelled between {place_en} and Beijing in {f.active_weeks} weeks of the last "
            f"{f.window_days} days, entering on about {per_week:.1f} days a week, {f.edge_entries} "
            "times at the start or end of the working week (the day off before or after it, or its "
            "first or last workday)."
        )
        said = rhythm_sentence(f)
        if said:
            zh = f"{said[0]}，多在 {hours} 从{place_zh}方向进京。" + zh
            en = (
                f"{said[1][0].upper()}{said[1][1:]}, mostly between {f.entry_from} and {f.entry_to}, from {place_en}. "
                + en
            )
    elif outcome is Outcome.NO_ENTRY:
        zh, en = "观察期内没有进京记录。", "No entry into Beijing in the window."
    elif outcome is Outcome.NOT_RING:
        zh = f"仅 {ring_share:.0%} 的进出京记录往返环京地区（需 ≥ {rules.ring_share_min:.0%}）。"
        en = f"Only {ring_share:.0%} of passages connect to the ring area (needs ≥ {rules.ring_share_min:.0%})."
    elif outcome is Outcome.LAPSED:
        seen = f.days_since_last_entry if f.days_since_last_passage is None else f.days_since_last_passage
        zh = (
            f"最近一次进京在 {f.days_since_last_entry} 天前，"
            f"最近一次进出京在 {seen} 天前（需 ≤ {rules.max_days_since_last_entry} 天）。"
        )
        en = (
            f"Last entry {f.days_since_last_entry} days ago; last crossed {seen} days ago "
            f"(needs ≤ {rules.max_days_since_last_entry})."
        )
    else:
        zh = f"进京 {f.entry_days} 天、往返 {f.active_weeks} 周，频次不符合通勤规则。"
        en = f"Entered on {f.entry_days} days over {f.active_weeks} weeks: not a commuting pattern."
    return Classification(outcome.commuter_class, outcome, f, zh, en)
