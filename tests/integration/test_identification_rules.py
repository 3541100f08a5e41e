"""The identification rules, person by person, run as the real job on DuckDB over a small lake."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from commutepass.commuters.identification import DuckDBEngine, Lake, features_of, run_job, write_travel
from commutepass.domain.commuters import Classification, Outcome, explain
from commutepass.domain.policy import CommuterClass, Policy
from commutepass.domain.regions import RegionCatalog, region_catalog
from commutepass.policies import builtin_policies

AS_OF = date(2021, 11, 28)  # a Sunday; the window is 2021-11-01 .. 2021-11-28 (no holidays)
Passage = tuple[datetime, bool, str]
"""(Beijing wall-clock time, entering?, county)."""


@pytest.fixture(scope="module")
def p2021() -> Policy:
    return builtin_policies().policies[-1]


@pytest.fixture(scope="module")
def catalog() -> RegionCatalog:
    return region_catalog()


@pytest.fixture(scope="module")
def engine() -> DuckDBEngine:
    return DuckDBEngine(threads=1)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute))


def _days(first: date = date(2021, 11, 1), last: date = AS_OF) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def classify(
    tmp_path: Path,
    engine: DuckDBEngine,
    passages: list[Passage],
    policy: Policy,
    catalog: RegionCatalog,
    as_of: date = AS_OF,
) -> Classification:
    """Run the job for one person and explain the outcome."""
    lake = Lake(tmp_path / "lake")
    table = pa.table(
        {
            "person_id": [1] * len(passages),
            "event_time": pa.array([p[0] for p in passages], pa.timestamp("us")),
            "direction": ["enter" if p[1] else "exit" for p in passages],
            "mode": ["road"] * len(passages),
            "site": ["白庙检查站"] * len(passages),
            "county": [p[2] for p in passages],
        }
    )
    write_travel(lake, table, "test")
    rules = policy.commuters.identification
    run = run_job(lake, engine, as_of, rules, policy.ring_area)
    rows = run.result.to_pylist()
    assert [r["person_id"] for r in rows] == [1]
    return explain(Outcome(rows[0]["outcome"]), features_of(rows[0], rules.window_days), rules, catalog)


def test_daily_commuter_with_evidence(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    passages = [
        p
        for i, d in enumerate(_days())
        if d.weekday() < 5 and i % 7 != 3  # misses some days
        for p in ((_at(d, 7, 10), True, "131082"), (_at(d, 19, 0), False, "131082"))
    ]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is CommuterClass.DAILY and result.outcome is Outcome.DAILY
    assert result.features.home_county == "131082"
    assert result.features.entry_workdays == 16 and result.features.span_workdays == 20
    assert (
        result.evidence_en
        == "Entered on 16 of the last 20 workdays, mostly between 07:10 and 07:10, from 三河市."
    )
    assert "20 个工作日中有 16 天进京" in result.evidence_zh


def test_duplicate_swipes_and_missing_exits_do_not_change_the_count(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    passages: list[Passage] = []
    for i, d in enumerate(d for d in _days() if d.weekday() < 5):
        passages.append((_at(d, 7, 10), True, "131082"))
        passages.append((_at(d, 7, 11), True, "131082"))  # the gate read the card twice
        if i % 3:
            passages.append((_at(d, 19), False, "131082"))  # and exits go missing
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is CommuterClass.DAILY
    assert result.features.entry_days == 20


def test_holidays_and_make_up_workdays_are_counted_by_the_calendar(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    # 2021-09-13 .. 2021-10-10: Mid-Autumn and National Day off, three weekend make-up workdays
    as_of = date(2021, 10, 10)
    from commutepass.domain.workdays import is_workday

    days = [d for d in _days(date(2021, 9, 13), as_of) if is_workday(d)]
    assert len(days) == 16 and date(2021, 9, 26) in days and date(2021, 10, 4) not in days
    passages = [(_at(d, 7, 30), True, "130681") for d in days[:-3]]  # 13 of 16 workdays
    result = classify(tmp_path, engine, passages, p2021, catalog, as_of)
    assert result.commuter_class is CommuterClass.DAILY
    assert (result.features.entry_workdays, result.features.span_workdays) == (13, 16)


def test_weekly_friday_to_sunday(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    passages = [
        (_at(d, 19 if d.weekday() == 4 else 17), d.weekday() == 4, "120104")
        for d in _days()
        if d.weekday() in (4, 6)
    ]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is CommuterClass.WEEKLY
    assert result.features.active_weeks == 4 and result.features.edge_entries == 4
    assert "in 4 weeks" in result.evidence_en


def test_weekly_monday_in_when_monday_is_a_holiday(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    # 2021-09-20 and 21 are off (中秋): the week's first workday is Wednesday the 22nd
    as_of = date(2021, 10, 3)
    entries = [date(2021, 9, 6), date(2021, 9, 13), date(2021, 9, 22), date(2021, 9, 27)]
    passages = [(_at(d, 7), True, "120114") for d in entries]
    passages += [(_at(d + timedelta(days=4), 18), False, "120114") for d in entries]
    result = classify(tmp_path, engine, passages, p2021, catalog, as_of)
    assert result.commuter_class is CommuterClass.WEEKLY
    assert result.features.edge_entries == 4


def test_shift_worker_four_on_four_off_is_a_daily_commuter(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    # on from Friday to Monday, Saturday to Tuesday, Sunday to Wednesday: 7 of 20 workdays
    passages = [(_at(d, 7, 30), True, "131024") for i, d in enumerate(_days()) if i % 8 >= 4]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.outcome is Outcome.SHIFT and result.commuter_class is CommuterClass.DAILY
    assert (
        "shift work" in result.evidence_en and "12 of the last 24 days" in result.evidence_en
    )  # judged from the first entry


def test_a_person_who_moved_counts_from_the_new_home(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    passages = [
        (_at(d, 7), True, "131082" if d < date(2021, 11, 20) else "130681")
        for d in _days()
        if d.weekday() < 5
    ]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is CommuterClass.DAILY
    assert result.features.home_county == "130681"
    assert "涿州市" in result.evidence_en


def test_far_away_weekly_traveller_is_never_a_commuter(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    passages = [(_at(d, 7), d.weekday() == 0, "130102") for d in _days() if d.weekday() in (0, 4)]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is None and result.outcome is Outcome.NOT_RING
    assert "ring area" in result.evidence_en


def test_stopped_commuting_lapses(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    passages = [(_at(d, 7), True, "131082") for d in _days(last=date(2021, 11, 12)) if d.weekday() < 5]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is None and result.outcome is Outcome.LAPSED
    assert "Last entry 16 days ago" in result.evidence_en


def test_new_joiner_is_judged_from_first_entry(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    passages = [(_at(d, 7), True, "130681") for d in _days(first=date(2021, 11, 15)) if d.weekday() < 5]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is CommuterClass.DAILY
    assert (result.features.entry_workdays, result.features.span_workdays) == (10, 10)


def test_occasional_business_trips_are_not_commuting(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    passages = [
        (_at(d, 9), True, "131082") for d in (date(2021, 11, 2), date(2021, 11, 10), date(2021, 11, 25))
    ]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is None and result.outcome is Outcome.IRREGULAR


def test_a_day_is_rebuilt_when_its_travel_files_change(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy
) -> None:
    lake = Lake(tmp_path / "lake")
    rules = p2021.commuters.identification
    one = pa.table(
        {
            "person_id": [1],
            "event_time": pa.array([_at(date(2021, 11, 26), 7)], pa.timestamp("us")),
            "direction": ["enter"],
            "mode": ["road"],
            "site": ["白庙检查站"],
            "county": ["131082"],
        }
    )
    write_travel(lake, one, "first")
    full = run_job(lake, engine, AS_OF, rules, p2021.ring_area)
    assert len(full.days_built) == 28
    again = run_job(lake, engine, AS_OF, rules, p2021.ring_area)
    assert again.days_built == [] and again.result.equals(full.result)
    write_travel(lake, one.set_column(0, "person_id", pa.array([2])), "second")
    changed = run_job(lake, engine, AS_OF, rules, p2021.ring_area)
    assert changed.days_built == [date(2021, 11, 26)]
    assert changed.result["person_id"].to_pylist() == [1, 2]
    next_day = run_job(lake, engine, AS_OF + timedelta(days=1), rules, p2021.ring_area)
    assert next_day.days_built == [AS_OF + timedelta(days=1)]


# ── the weekly rhythms (issue 13) ───────────────────────────────────────────────────────


def _weekly(days: list[date], hour: int) -> list[Passage]:
    """Ring home, work in Beijing: an entry on each of ``days`` at ``hour``, an exit four days on."""
    out: list[Passage] = [(_at(d, hour), True, "120114") for d in days]
    out += [(_at(d + timedelta(days=4), 18), False, "120114") for d in days if d + timedelta(days=4) <= AS_OF]
    return out


def test_sunday_evening_return_is_a_weekly_commuter_named_in_words(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    # seed 001 Q2: 工作日在京、周末回天津 — back on Sunday evening, home again on Friday evening
    sundays = [d for d in _days() if d.weekday() == 6]
    passages = [(_at(d, 20, 15), True, "120114") for d in sundays]
    passages += [
        (_at(d + timedelta(days=5), 18), False, "120114") for d in sundays if d + timedelta(days=5) <= AS_OF
    ]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is CommuterClass.WEEKLY
    assert (result.features.rhythm, result.features.rhythm_entries, result.features.rhythm_days) == (
        "eve",
        4,
        4,
    )
    assert result.evidence_en.startswith(
        "Returned on Sunday evening (the day off before the working week) in 4 of the last 4 weeks"
    )
    assert result.evidence_zh.startswith("近 4 周中有 4 周在周日（工作周前的休息日）晚间返京")


def test_sunday_evening_return_with_a_missed_week_and_a_late_monday(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    # 7 Nov missed, 14 Nov back only on Monday morning the 15th
    entries = [_at(date(2021, 11, 21), 20), _at(date(2021, 11, 28), 21), _at(date(2021, 11, 15), 7)]
    passages = [(t, True, "131082") for t in entries]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is CommuterClass.WEEKLY
    assert result.features.edge_entries == 3


def test_out_on_saturday_back_on_sunday(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    sundays = [d for d in _days() if d.weekday() == 6]
    passages = [(_at(d, 19), True, "131082") for d in sundays]
    passages += [(_at(d - timedelta(days=1), 10), False, "131082") for d in sundays]
    assert classify(tmp_path, engine, passages, p2021, catalog).commuter_class is CommuterClass.WEEKLY


def test_beijing_home_back_on_friday_out_on_monday_named_in_words(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    fridays = [d for d in _days() if d.weekday() == 4]
    passages = [(_at(d, 19, 30), True, "130681") for d in fridays]
    passages += [
        (_at(d + timedelta(days=3), 5, 40), False, "130681")
        for d in fridays
        if d + timedelta(days=3) <= AS_OF
    ]
    result = classify(tmp_path, engine, passages, p2021, catalog)
    assert result.commuter_class is CommuterClass.WEEKLY
    assert result.features.rhythm == "last"
    assert result.evidence_en.startswith(
        "Came back to Beijing on Friday evening (the last workday of the week) in 4 of the last 4 weeks"
    )


def test_sunday_evening_rhythm_follows_a_monday_holiday(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    # 20–21 Sep 2021 off: the week's first workday is Wednesday 22nd, so back on Tuesday evening
    as_of = date(2021, 9, 30)
    entries = [date(2021, 9, 5), date(2021, 9, 12), date(2021, 9, 21)]
    passages = [(_at(d, 20), True, "120114") for d in entries]
    result = classify(tmp_path, engine, passages, p2021, catalog, as_of)
    assert result.commuter_class is CommuterClass.WEEKLY
    assert (result.features.rhythm, result.features.rhythm_entries, result.features.active_weeks) == (
        "eve",
        3,
        3,
    )


def test_sunday_evening_rhythm_through_national_day(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    # window 13 Sep – 10 Oct 2021: back on Tuesday 21 (Mid-Autumn), on Saturday 25 for the make-up
    # Sunday, on Thursday 7 Oct for the make-up Friday and Saturday, and on Sunday 10 Oct
    as_of = date(2021, 10, 10)
    backs = [date(2021, 9, 21), date(2021, 9, 25), date(2021, 10, 7), date(2021, 10, 10)]
    passages = [(_at(d, 20), True, "120114") for d in backs]
    result = classify(tmp_path, engine, passages, p2021, catalog, as_of)
    assert result.commuter_class is CommuterClass.WEEKLY
    assert (result.features.active_weeks, result.features.rhythm, result.features.rhythm_entries) == (
        4,
        "eve",
        4,
    )
    # stayed home through the holiday (no return on 7 Oct): three working weeks remain
    passages = [(_at(d, 20), True, "120114") for d in backs if d != date(2021, 10, 7)]
    assert (
        classify(tmp_path / "2", engine, passages, p2021, catalog, as_of).commuter_class
        is CommuterClass.WEEKLY
    )


def test_two_random_trips_in_an_ordinary_window_are_not_weekly(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    # two Sunday-evening entries: fewer than three working weeks
    passages = [(_at(d, 20), True, "120114") for d in (date(2021, 11, 14), date(2021, 11, 21))]
    assert classify(tmp_path, engine, passages, p2021, catalog).commuter_class is None


def test_two_weeks_of_returns_around_national_day_make_a_weekly_commuter(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    # window 13 Sep – 10 Oct 2021 holds three full working weeks: back on Tuesday evening 21 Sep
    # (after Mid-Autumn) and on Saturday evening 25 Sep (the make-up Sunday), home on Friday 24 and
    # Thursday 30 Sep, then at home through National Day and the two make-up days: the last entry
    # is 15 days old, the last exit 10
    as_of = date(2021, 10, 10)
    passages: list[Passage] = [
        (_at(date(2021, 9, 21), 20), True, "120114"),
        (_at(date(2021, 9, 24), 18), False, "120114"),
        (_at(date(2021, 9, 25), 20), True, "120114"),
        (_at(date(2021, 9, 30), 18), False, "120114"),
    ]
    result = classify(tmp_path, engine, passages, p2021, catalog, as_of)
    assert result.commuter_class is CommuterClass.WEEKLY and result.outcome is Outcome.WEEKLY
    assert result.features.days_since_last_entry == 15
    assert result.features.days_since_last_passage == 10
    assert result.features.active_weeks == 2 and result.features.rhythm == "eve"
    # the same two weeks in an ordinary window (four full working weeks) are not enough
    ordinary = [(p[0] + timedelta(days=49), p[1], p[2]) for p in passages]  # 9 Nov … 18 Nov
    assert classify(tmp_path / "nov", engine, ordinary, p2021, catalog).commuter_class is None


def test_business_trips_around_national_day_are_not_weekly(
    tmp_path: Path, engine: DuckDBEngine, p2021: Policy, catalog: RegionCatalog
) -> None:
    as_of = date(2021, 10, 10)
    # in during office hours on the first workday after Mid-Autumn, and early on Monday 27 Sep but
    # gone again on Tuesday: neither is a return for the working week
    passages: list[Passage] = [
        (_at(date(2021, 9, 22), 10), True, "131082"),
        (_at(date(2021, 9, 23), 16), False, "131082"),
        (_at(date(2021, 9, 27), 8), True, "131082"),
        (_at(date(2021, 9, 28), 15), False, "131082"),
    ]
    result = classify(tmp_path, engine, passages, p2021, catalog, as_of)
    assert result.commuter_class is None and result.outcome is Outcome.IRREGULAR
    assert (result.features.edge_entries, result.features.days_since_last_passage) == (1, 12)
    # staying on through that week (home on Thursday 30 Sep) makes Monday a return: two weeks
    # would need a second one, and 22 Sep is in office hours
    stayed = [*passages[:3], (_at(date(2021, 9, 30), 18), False, "131082")]
    assert classify(tmp_path / "2", engine, stayed, p2021, catalog, as_of).commuter_class is None
    # one return at the end of a week (Friday evening) and one at the start of the next (Monday
    # morning, staying until Thursday): a commuter lives on one side, so these are not a rhythm
    mixed: list[Passage] = [
        (_at(date(2021, 9, 24), 18), True, "131082"),
        (_at(date(2021, 9, 25), 15), False, "131082"),
        (_at(date(2021, 9, 27), 7), True, "131082"),
        (_at(date(2021, 9, 30), 18), False, "131082"),
    ]
    two_sides = classify(tmp_path / "4", engine, mixed, p2021, catalog, as_of)
    assert two_sides.commuter_class is None
    assert (two_sides.features.end_returns, two_sides.features.stayed_starts) == (1, 1)
    # a lapse counts from the last crossing of either kind
    stopped = [(_at(date(2021, 9, 13), 7), True, "131082"), (_at(date(2021, 9, 24), 18), False, "131082")]
    lapsed = classify(tmp_path / "3", engine, stopped, p2021, catalog, as_of)
    assert lapsed.outcome is Outcome.LAPSED
    assert "last crossed 16 days ago" in lapsed.evidence_en
