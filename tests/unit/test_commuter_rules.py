"""The rule-based commuter identification (pure)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from commutepass.domain.clock import BEIJING
from commutepass.domain.commuters import Passage, classify
from commutepass.domain.policy import CommuterClass, Policy
from commutepass.domain.regions import RegionCatalog

AS_OF = date(2021, 11, 28)  # a Sunday; the window is 2021-11-01 .. 2021-11-28


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BEIJING)


def _days(first: date = date(2021, 11, 1), last: date = AS_OF) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_daily_commuter_with_evidence(p2021: Policy, catalog: RegionCatalog) -> None:
    passages = [
        p
        for i, d in enumerate(_days())
        if d.weekday() < 5 and i % 7 != 3  # misses some days
        for p in (Passage(_at(d, 7, 10), True, "131082"), Passage(_at(d, 19, 0), False, "131082"))
    ]
    result = classify(passages, AS_OF, p2021.commuters.identification, p2021.ring_area, catalog)
    assert result.commuter_class is CommuterClass.DAILY
    assert result.features.home_county == "131082"
    assert "三河市" in result.evidence_en and "workdays" in result.evidence_en
    assert "07:10" in result.evidence_en


def test_weekly_friday_to_sunday(p2021: Policy, catalog: RegionCatalog) -> None:
    passages = [
        Passage(_at(d, 19 if d.weekday() == 4 else 17), d.weekday() == 4, "120104")
        for d in _days()
        if d.weekday() in (4, 6)
    ]
    result = classify(passages, AS_OF, p2021.commuters.identification, p2021.ring_area, catalog)
    assert result.commuter_class is CommuterClass.WEEKLY
    assert "4" in result.evidence_en


def test_far_away_weekly_traveller_is_never_a_commuter(p2021: Policy, catalog: RegionCatalog) -> None:
    passages = [Passage(_at(d, 7), d.weekday() == 0, "130102") for d in _days() if d.weekday() in (0, 4)]
    result = classify(passages, AS_OF, p2021.commuters.identification, p2021.ring_area, catalog)
    assert result.commuter_class is None
    assert "ring area" in result.evidence_en


def test_stopped_commuting_lapses(p2021: Policy, catalog: RegionCatalog) -> None:
    passages = [Passage(_at(d, 7), True, "131082") for d in _days(last=date(2021, 11, 12)) if d.weekday() < 5]
    result = classify(passages, AS_OF, p2021.commuters.identification, p2021.ring_area, catalog)
    assert result.commuter_class is None
    assert "Last entry 16 days ago" in result.evidence_en


def test_new_joiner_is_judged_from_first_entry(p2021: Policy, catalog: RegionCatalog) -> None:
    passages = [
        Passage(_at(d, 7), True, "130681") for d in _days(first=date(2021, 11, 15)) if d.weekday() < 5
    ]
    result = classify(passages, AS_OF, p2021.commuters.identification, p2021.ring_area, catalog)
    assert result.commuter_class is CommuterClass.DAILY


def test_occasional_business_trips_are_not_commuting(p2021: Policy, catalog: RegionCatalog) -> None:
    passages = [
        Passage(_at(d, 9), True, "131082")
        for d in (date(2021, 11, 2), date(2021, 11, 10), date(2021, 11, 25))
    ]
    result = classify(passages, AS_OF, p2021.commuters.identification, p2021.ring_area, catalog)
    assert result.commuter_class is None
