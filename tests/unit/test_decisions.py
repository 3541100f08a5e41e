"""Every rule of the two shipped policies, with its boundaries (issue: core, item 4)."""

from __future__ import annotations

from datetime import date

import pytest

from commutepass.domain.decisions import CheckOutcome, Mode
from commutepass.domain.errors import NoPolicyInForce
from commutepass.domain.facts import Source
from commutepass.domain.policy import Color, CommuterClass, Decision, Policy, PolicyBook
from commutepass.domain.reasons import explain_check, explain_status
from commutepass.domain.regions import RegionCatalog

from .conftest import Decide, T, codes, facts, member, negative, positive, risk_map


@pytest.fixture()
def d21(p2021: Policy, catalog: RegionCatalog) -> Decide:
    return Decide(p2021, catalog)


# --- 48 hours, counted from sampling ------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2021-11-20T06:59", Decision.ALLOW),
        ("2021-11-20T07:00", Decision.ALLOW),  # exactly 48 h: still counts
        ("2021-11-20T07:01", Decision.REFUSE),  # 48 h + 1 minute: no longer
    ],
)
def test_entry_nat_48_hours_boundary(d21: Decide, at: str, expected: Decision) -> None:
    person = facts(nats=[negative("2021-11-18T07:00", "2021-11-18T19:00")])
    outcome = d21.check(person, at)
    assert outcome.decision is expected
    assert ("NAT_ENTRY_VALID" in codes(outcome)) is (expected is Decision.ALLOW)
    if expected is Decision.REFUSE:
        assert "NAT_ENTRY_EXPIRED" in codes(outcome)


def test_a_result_not_yet_reported_does_not_count(d21: Decide) -> None:
    person = facts(nats=[negative("2021-11-19T20:00", "2021-11-20T09:00")])
    assert d21.check(person, "2021-11-20T08:00").decision is Decision.REFUSE
    assert d21.check(person, "2021-11-20T09:00").decision is Decision.ALLOW


def test_no_nat_at_all_is_refused_with_the_remedy(d21: Decide, p2021: Policy) -> None:
    outcome = d21.check(facts(), "2021-11-20T08:00")
    assert outcome.decision is Decision.REFUSE
    assert "NAT_ENTRY_MISSING" in codes(outcome)
    text = explain_check(outcome, p2021)
    assert "48" in text["zh"] and "48" in text["en"]
    assert "What to do" in text["en"] and "怎么办" in text["zh"]


# --- commuters: first check 48 h, later 14 days from the report date ---------------------------


def test_commuter_first_check_needs_48h(d21: Decide) -> None:
    # in the database, NAT reported 3 days ago, last entry before the policy took effect
    person = facts(
        membership=member("2021-11-10"),
        nats=[negative("2021-11-15T08:00", "2021-11-15T20:00")],
        last_entry="2021-11-16T07:30",
    )
    outcome = d21.check(person, "2021-11-18T07:30")
    assert outcome.decision is Decision.REFUSE
    assert "COMMUTER_FIRST_CHECK" in codes(outcome)
    assert "NAT_ENTRY_EXPIRED" in codes(outcome)


def test_commuter_first_check_passes_with_48h(d21: Decide) -> None:
    person = facts(
        membership=member("2021-11-10"), nats=[negative("2021-11-17T08:00")], last_entry="2021-11-16T07:30"
    )
    outcome = d21.check(person, "2021-11-18T07:30")
    assert outcome.decision is Decision.ALLOW
    assert {"COMMUTER_FIRST_CHECK", "NAT_ENTRY_VALID"} <= set(codes(outcome))


def test_commuter_later_check_accepts_14_day_nat(d21: Decide) -> None:
    person = facts(
        membership=member("2021-11-10"),
        nats=[negative("2021-11-15T08:00", "2021-11-15T20:00")],
        last_entry="2021-11-17T07:30",  # entered since the policy: first check done
    )
    outcome = d21.check(person, "2021-11-18T07:30")
    assert outcome.decision is Decision.ALLOW
    assert "COMMUTER_NAT_VALID" in codes(outcome)


def test_entry_before_joining_the_database_counts_as_first_check(d21: Decide) -> None:
    """Whether or not they were in the database yet, an entry under the policy is the first check."""
    person = facts(
        membership=member("2021-11-19"),
        nats=[negative("2021-11-15T08:00", "2021-11-15T20:00")],
        last_entry="2021-11-18T07:30",
    )
    assert d21.check(person, "2021-11-20T07:30").decision is Decision.ALLOW


@pytest.mark.parametrize(
    ("at", "valid"),
    [
        ("2021-11-22T23:59", True),  # day 14 counting the report date as day 1
        ("2021-11-23T00:00", False),  # day 15
    ],
)
def test_commuter_nat_14_days_from_report_date(d21: Decide, p2021: Policy, at: str, valid: bool) -> None:
    person = facts(
        membership=member("2021-11-10"),
        nats=[negative("2021-11-08T18:00", "2021-11-09T10:00")],
        last_entry="2021-11-22T07:30",
    )
    outcome = d21.check(person, at)
    assert (outcome.decision is Decision.ALLOW) is valid
    assert outcome.status.commuter_badge is valid
    if not valid:
        assert "COMMUTER_NAT_EXPIRED" in codes(outcome)
        assert "BADGE_NAT_EXPIRED" in codes(outcome)
        en = explain_status(outcome.status, p2021)["en"]
        assert "reported on 2021-11-09" in en and "2021-11-23 00:00" in en
        assert "badge returns when the result arrives" in en


# --- the badge ----------------------------------------------------------------------------------


def test_badge_shows_with_database_and_14_day_nat(d21: Decide) -> None:
    status = d21.status(
        facts(membership=member("2021-11-10"), nats=[negative("2021-11-15T08:00")]), "2021-11-18T07:00"
    )
    assert status.commuter_badge
    assert status.commuter_class is CommuterClass.DAILY
    assert status.color is Color.GREEN and status.popup is None
    assert status.nat_valid_until == T("2021-11-29T00:00")
    assert "BADGE_SHOWN" in codes(status)


def test_no_badge_outside_the_database(d21: Decide) -> None:
    status = d21.status(facts(nats=[negative("2021-11-15T08:00")]), "2021-11-18T07:00")
    assert not status.commuter_badge and status.commuter_class is None
    assert "NOT_IN_COMMUTER_DB" in codes(status)


def test_no_badge_in_the_database_without_any_nat(d21: Decide) -> None:
    status = d21.status(facts(membership=member("2021-11-10")), "2021-11-18T07:00")
    assert not status.commuter_badge
    assert status.commuter_class is CommuterClass.DAILY  # the class shows even without the badge
    assert "BADGE_NO_NAT" in codes(status)


def test_badge_lapses_when_travel_no_longer_fits(d21: Decide) -> None:
    person = facts(
        membership=member("2021-10-01"), nats=[negative("2021-11-15T08:00")], last_entry="2021-11-03T07:00"
    )
    status = d21.status(person, "2021-11-18T07:00")  # 15 days since the last entry
    assert not status.commuter_badge
    assert "COMMUTER_PATTERN_LAPSED" in codes(status)
    outcome = d21.check(person, "2021-11-18T07:00")
    assert outcome.decision is Decision.REFUSE  # ordinary rule: no 48 h NAT
    assert "NAT_ENTRY_EXPIRED" in codes(outcome)


def test_lapse_boundary_14_days(d21: Decide) -> None:
    person = facts(
        membership=member("2021-10-01"), nats=[negative("2021-11-15T08:00")], last_entry="2021-11-04T07:00"
    )
    assert d21.status(person, "2021-11-18T07:00").commuter_badge  # exactly 14 days
    assert not d21.status(person, "2021-11-18T07:01").commuter_badge


def test_application_has_a_grace_period_before_pattern_rules(d21: Decide) -> None:
    enrolled = member("2021-11-10", source=Source.APPLICATION)
    person = facts(membership=enrolled, nats=[negative("2021-11-15T08:00")])
    assert d21.status(person, "2021-12-09T23:00").commuter_badge is False  # NAT expired, but…
    status = d21.status(facts(membership=enrolled, nats=[negative("2021-12-05T08:00")]), "2021-12-09T23:00")
    assert status.commuter_badge  # …not lapsed: 29 days < 30-day grace, no entries yet
    late = d21.status(facts(membership=enrolled, nats=[negative("2021-12-12T08:00")]), "2021-12-13T07:00")
    assert "COMMUTER_PATTERN_LAPSED" in codes(late)


# --- risk travel: county, prefecture city, municipality, sub-provincial city -----------------------


def test_case_county_trip_is_refused(catalog: RegionCatalog, p2021: Policy) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, ("131028", "case", "2021-11-10", None)))
    person = facts(nats=[negative("2021-11-19T08:00")], visits=[("2021-11-15", "131028")])
    outcome = d.check(person, "2021-11-20T07:00")
    assert outcome.decision is Decision.REFUSE
    assert outcome.status.popup == "POPUP_TRAVEL_CASE_COUNTY"
    assert {"TRAVEL_CASE_COUNTY", "REFUSE_RISK_TRAVEL"} <= set(codes(outcome))


@pytest.mark.parametrize(("visit_day", "hit"), [("2021-11-07", True), ("2021-11-06", False)])
def test_trip_day_14_counts_day_15_does_not(
    catalog: RegionCatalog, p2021: Policy, visit_day: str, hit: bool
) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, ("131028", "case", "2021-11-01", None)))
    person = facts(nats=[negative("2021-11-19T08:00")], visits=[(visit_day, "131028")])
    outcome = d.check(person, "2021-11-20T07:00")
    assert (outcome.decision is Decision.REFUSE) is hit


def test_case_found_after_the_visit_still_counts(catalog: RegionCatalog, p2021: Policy) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, ("131028", "case", "2021-11-15", None)))
    person = facts(nats=[negative("2021-11-19T08:00")], visits=[("2021-11-10", "131028")])
    assert d.check(person, "2021-11-20T07:00").decision is Decision.REFUSE


def test_case_period_ended_before_the_visit_does_not_count(catalog: RegionCatalog, p2021: Policy) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, ("131028", "case", "2021-11-01", "2021-11-09")))
    person = facts(nats=[negative("2021-11-19T08:00")], visits=[("2021-11-10", "131028")])
    assert d.check(person, "2021-11-20T07:00").decision is Decision.ALLOW


def test_ordinary_prefecture_counts_as_a_whole(catalog: RegionCatalog, p2021: Policy) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, ("131028", "case", "2021-11-10", None)))  # 大厂
    with_nat = facts(nats=[negative("2021-11-19T08:00")], visits=[("2021-11-15", "131082")])  # 三河
    outcome = d.check(with_nat, "2021-11-20T07:00")
    assert outcome.decision is Decision.ALLOW_REPORT
    assert outcome.status.color is Color.YELLOW
    assert outcome.status.popup == "POPUP_TRAVEL_SAME_CITY"
    assert [r.code for r in outcome.manual_checks] == ["TELL_REPORT_TO_COMMUNITY"]
    without_nat = facts(visits=[("2021-11-15", "131082")])
    assert d.check(without_nat, "2021-11-20T07:00").decision is Decision.REFUSE


def test_same_city_suspends_commuter_privileges(catalog: RegionCatalog, p2021: Policy) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, ("131028", "case", "2021-11-10", None)))
    commuter = facts(
        membership=member("2021-11-01"),
        nats=[negative("2021-11-15T08:00")],  # 14-day NAT only
        visits=[("2021-11-15", "131082")],
        last_entry="2021-11-19T07:00",
    )
    outcome = d.check(commuter, "2021-11-20T07:00")
    assert outcome.decision is Decision.REFUSE
    assert "COMMUTER_PRIVILEGE_SUSPENDED" in codes(outcome)
    assert not outcome.status.commuter_badge


@pytest.mark.parametrize(
    ("case_county", "visited", "name"),
    [
        ("120116", "120114", "Tianjin municipality: 滨海新区 case, 武清区 visited"),
        ("370212", "370202", "Qingdao sub-provincial: 崂山区 case, 市南区 visited"),
        ("110105", "110101", "Beijing itself is not an entry risk"),
    ],
)
def test_municipality_and_sub_provincial_count_by_district(
    catalog: RegionCatalog, p2021: Policy, case_county: str, visited: str, name: str
) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, (case_county, "case", "2021-11-10", None)))
    person = facts(nats=[negative("2021-11-19T08:00")], visits=[("2021-11-15", visited)])
    outcome = d.check(person, "2021-11-20T07:00")
    assert outcome.decision is Decision.ALLOW, name
    assert outcome.status.popup is None


def test_the_case_district_itself_still_counts_in_a_municipality(
    catalog: RegionCatalog, p2021: Policy
) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, ("120116", "case", "2021-11-10", None)))
    person = facts(nats=[negative("2021-11-19T08:00")], visits=[("2021-11-15", "120116")])
    assert d.check(person, "2021-11-20T07:00").decision is Decision.REFUSE


def test_border_port_trip_hides_badge_and_needs_48h(catalog: RegionCatalog, p2021: Policy) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, ("152501", "border_port", "2020-01-01", None)))
    commuter = facts(
        membership=member("2021-11-01"),
        nats=[negative("2021-11-15T08:00")],
        visits=[("2021-11-12", "152501")],
        last_entry="2021-11-19T07:00",
    )
    outcome = d.check(commuter, "2021-11-20T07:00")
    assert outcome.status.color is Color.GREEN and outcome.status.popup is None
    assert not outcome.status.commuter_badge
    assert outcome.decision is Decision.REFUSE
    assert {"TRAVEL_BORDER_PORT", "BADGE_SUSPENDED_RISK", "COMMUTER_PRIVILEGE_SUSPENDED"} <= set(
        codes(outcome)
    )
    with_48h = facts(
        membership=member("2021-11-01"),
        nats=[negative("2021-11-19T08:00")],
        visits=[("2021-11-12", "152501")],
        last_entry="2021-11-19T07:00",
    )
    assert d.check(with_48h, "2021-11-20T07:00").decision is Decision.ALLOW


# --- positive results ---------------------------------------------------------------------------


def test_positive_is_red_and_refused(d21: Decide) -> None:
    person = facts(
        membership=member("2021-11-01"), nats=[positive("2021-11-18T08:00"), negative("2021-11-19T08:00")]
    )
    outcome = d21.check(person, "2021-11-20T07:00")
    assert outcome.status.color is Color.RED
    assert outcome.decision is Decision.REFUSE
    assert not outcome.status.commuter_badge
    assert {"NAT_POSITIVE", "REFUSE_POSITIVE"} <= set(codes(outcome))


def test_positive_older_than_the_red_period_no_longer_counts(d21: Decide) -> None:
    person = facts(nats=[positive("2021-11-01T08:00"), negative("2021-11-19T08:00")])
    assert d21.status(person, "2021-11-20T07:00").color is Color.GREEN


# --- rail stations outside Beijing --------------------------------------------------------------


def test_rail_badge_only(d21: Decide) -> None:
    person = facts(
        membership=member("2021-11-01"), nats=[negative("2021-11-15T08:00")], last_entry="2021-11-19T07:00"
    )
    outcome = d21.check(person, "2021-11-20T07:00", mode=Mode.RAIL)
    assert outcome.decision is Decision.ALLOW
    assert "RAIL_BADGE_ONLY" in codes(outcome)


def test_rail_commuter_without_badge_shows_documents(d21: Decide) -> None:
    person = facts(
        membership=member("2021-11-01"), nats=[negative("2021-11-01T08:00")], last_entry="2021-11-19T07:00"
    )
    outcome = d21.check(person, "2021-11-20T07:00", mode=Mode.RAIL)
    assert outcome.decision is Decision.DOCUMENTS
    assert [r.code for r in outcome.manual_checks] == [
        "CHECK_WORK_PROOF",
        "CHECK_PAPER_NAT",
        "CHECK_GREEN_CODE",
    ]


def test_rail_non_commuter_needs_48h_or_the_three_proofs(d21: Decide) -> None:
    assert (
        d21.check(facts(nats=[negative("2021-11-19T08:00")]), "2021-11-20T07:00", mode=Mode.RAIL).decision
        is Decision.ALLOW
    )
    # seed 001 Q4 (issue 13): without a 48 h test, a ring-area commuter outside the database
    # boards on three proofs checked by hand: work proof, a 14-day test and a green code
    three = d21.check(facts(nats=[negative("2021-11-15T08:00")]), "2021-11-20T07:00", mode=Mode.RAIL)
    assert three.decision is Decision.DOCUMENTS
    assert "RAIL_THREE_PROOFS" in codes(three)
    assert [r.code for r in three.manual_checks] == [
        "CHECK_RING_COMMUTE",
        "CHECK_WORK_PROOF",
        "CHECK_PAPER_NAT",
        "CHECK_GREEN_CODE",
    ]
    assert "三项证明" in explain_check(three, d21.policy)["zh"]
    # a test older than 14 days: refused, as before
    assert (
        d21.check(facts(nats=[negative("2021-11-05T08:00")]), "2021-11-20T07:00", mode=Mode.RAIL).decision
        is Decision.REFUSE
    )
    # at a road checkpoint the three proofs are not a path: the 48 h rule applies
    road = d21.check(facts(nats=[negative("2021-11-15T08:00")]), "2021-11-20T07:00", mode=Mode.ROAD)
    assert road.decision is Decision.REFUSE


def test_rail_three_proofs_not_with_a_risky_trip(d21: Decide) -> None:
    person = facts(nats=[negative("2021-11-15T08:00")], visits=[("2021-11-18", "130821")])
    risky = Decide(d21.policy, d21.catalog, risk_map(d21.catalog, ("130821", "case", "2021-11-10", None)))
    outcome = risky.check(person, "2021-11-20T07:00", mode=Mode.RAIL)
    assert outcome.decision is Decision.REFUSE
    assert "RAIL_THREE_PROOFS" not in codes(outcome)


def test_air_applies_the_48_hour_rule_to_commuters_too(d21: Decide) -> None:
    commuter = facts(
        membership=member("2021-11-01"), nats=[negative("2021-11-15T08:00")], last_entry="2021-11-19T07:00"
    )
    assert d21.check(commuter, "2021-11-20T07:00").decision is Decision.ALLOW  # road: the 14-day test
    air = d21.check(commuter, "2021-11-20T07:00", mode=Mode.AIR)
    assert air.decision is Decision.REFUSE
    assert codes(air)[:2] == ["AIR_NO_COMMUTER_PATH", "NAT_ENTRY_EXPIRED"]
    assert "48" in explain_check(air, d21.policy)["en"]
    fresh = facts(membership=member("2021-11-01"), nats=[negative("2021-11-19T08:00")])
    assert d21.check(fresh, "2021-11-20T07:00", mode=Mode.AIR).decision is Decision.ALLOW
    # no three-proof path at an airport
    assert (
        d21.check(facts(nats=[negative("2021-11-15T08:00")]), "2021-11-20T07:00", mode=Mode.AIR).decision
        is Decision.REFUSE
    )


# --- infants, and people without a smartphone ------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "infant"), [(date(2018, 11, 20), True), (date(2017, 11, 20), False), (date(2017, 11, 21), True)]
)
def test_infant_exactly_three(d21: Decide, birth: date, infant: bool) -> None:
    """3岁及以下: an infant who turned 3 today is still checked through the companions only."""
    companion = facts(nats=[negative("2021-11-19T08:00")])
    baby = facts(birth=birth)  # no NAT of their own
    outcome = d21.check(baby, "2021-11-20T07:00", companions=[companion])
    assert (outcome.decision is Decision.ALLOW) is infant
    assert ("INFANT_COMPANIONS_CHECKED" in codes(outcome)) is infant


def test_infant_without_companion_is_refused(d21: Decide) -> None:
    outcome = d21.check(facts(birth=date(2020, 5, 1)), "2021-11-20T07:00")
    assert outcome.decision is Decision.REFUSE
    assert "INFANT_NEEDS_COMPANION" in codes(outcome)


def test_infant_refused_when_a_companion_lacks_48h(d21: Decide) -> None:
    good = facts(nats=[negative("2021-11-19T08:00")])
    stale = facts(nats=[negative("2021-11-10T08:00")])
    outcome = d21.check(facts(birth=date(2020, 5, 1)), "2021-11-20T07:00", companions=[good, stale])
    assert outcome.decision is Decision.REFUSE
    assert codes(outcome).count("COMPANION_NAT_VALID") == 1
    assert "COMPANION_NAT_MISSING" in codes(outcome)
    sick = facts(nats=[positive("2021-11-19T08:00")])
    assert (
        d21.check(facts(birth=date(2020, 5, 1)), "2021-11-20T07:00", companions=[sick]).decision
        is Decision.REFUSE
    )


def test_no_smartphone_needs_only_48h_nat(d21: Decide) -> None:
    elderly = facts(birth=date(1950, 1, 1), nats=[negative("2021-11-19T08:00")])
    outcome = d21.check(elderly, "2021-11-20T07:00", smartphone=False)
    assert outcome.decision is Decision.ALLOW
    assert "NO_SMARTPHONE_NAT_ONLY" in codes(outcome)
    assert "CONFIRM_NO_SMARTPHONE_GROUP" not in [r.code for r in outcome.manual_checks]
    without = facts(birth=date(1950, 1, 1), nats=[negative("2021-11-10T08:00")])
    assert d21.check(without, "2021-11-20T07:00", smartphone=False).decision is Decision.REFUSE


def test_no_smartphone_adult_must_be_confirmed_by_hand(d21: Decide) -> None:
    adult = facts(birth=date(1990, 1, 1), nats=[negative("2021-11-19T08:00")])
    outcome = d21.check(adult, "2021-11-20T07:00", smartphone=False)
    assert outcome.decision is Decision.ALLOW
    assert "CONFIRM_NO_SMARTPHONE_GROUP" in [r.code for r in outcome.manual_checks]


def test_no_smartphone_commuter_recognised_by_id_swipe_on_road_only(d21: Decide) -> None:
    person = facts(
        birth=date(1950, 1, 1),
        membership=member("2021-11-01"),
        nats=[negative("2021-11-15T08:00")],
        last_entry="2021-11-19T07:00",
    )
    road = d21.check(person, "2021-11-20T07:00", smartphone=False)
    assert road.decision is Decision.ALLOW
    assert {"NO_SMARTPHONE_COMMUTER_ID_SWIPE", "COMMUTER_NAT_VALID"} <= set(codes(road))
    assert d21.check(person, "2021-11-20T07:00", mode=Mode.RAIL, smartphone=False).decision is Decision.REFUSE


# --- the 2020 policy ------------------------------------------------------------------------------


def test_2020_commuter_passes_as_routine(p2020: Policy, catalog: RegionCatalog) -> None:
    d = Decide(p2020, catalog)
    commuter = facts(membership=member("2020-02-21"), last_entry="2020-03-26T07:00")
    outcome = d.check(commuter, "2020-03-27T09:00")
    assert outcome.decision is Decision.ALLOW
    assert "COMMUTER_ROUTINE_PASSAGE" in codes(outcome)
    assert not outcome.status.commuter_badge  # there was no badge in 2020
    assert outcome.status.commuter_class is CommuterClass.DAILY
    assert outcome.status.nat_valid_until is None


def test_2020_everyone_else_is_observed_14_days(p2020: Policy, catalog: RegionCatalog) -> None:
    outcome = Decide(p2020, catalog).check(facts(), "2020-03-27T09:00")
    assert outcome.decision is Decision.ALLOW_QUARANTINE
    assert "OBSERVATION_14D" in codes(outcome)
    assert "14" in explain_check(outcome, p2020)["zh"]


def test_2020_lapsed_commuter_is_observed(p2020: Policy, catalog: RegionCatalog) -> None:
    commuter = facts(membership=member("2020-02-21"), last_entry="2020-03-01T07:00")
    outcome = Decide(p2020, catalog).check(commuter, "2020-03-27T09:00")
    assert outcome.decision is Decision.ALLOW_QUARANTINE
    assert "COMMUTER_PATTERN_LAPSED" in codes(outcome)


def test_policy_in_force_switches_at_midnight(book: PolicyBook) -> None:
    assert book.in_force(T("2021-11-16T23:59")).version == "2020-02-14"
    assert book.in_force(T("2021-11-17T00:00")).version == "2021-11-17"
    assert book.in_force(T("2020-02-14T00:00")).version == "2020-02-14"
    with pytest.raises(NoPolicyInForce):
        book.in_force(T("2020-02-13T23:59"))


# --- every decision explains itself ---------------------------------------------------------------


def test_every_decision_has_reasons_and_both_languages(d21: Decide, p2021: Policy) -> None:
    people = [
        facts(),
        facts(nats=[negative("2021-11-19T08:00")]),
        facts(
            membership=member("2021-11-01"),
            nats=[negative("2021-11-15T08:00")],
            last_entry="2021-11-19T07:00",
        ),
        facts(nats=[positive("2021-11-19T08:00")]),
    ]
    for person in people:
        for mode in Mode:
            outcome = d21.check(person, "2021-11-20T07:00", mode=mode)
            assert outcome.reasons and outcome.status.reasons
            text = explain_check(outcome, p2021)
            assert text["zh"].startswith("适用政策：2021-11-17")
            assert text["en"].startswith("Policy in force: 2021-11-17")
            assert "结论" in text["zh"] and "Decision:" in text["en"]


# --- the pledge at service-area test points (seed 003, issue 13) ----------------------------------

SITE = "京哈高速临京服务区检测点"


def test_a_pending_sample_at_a_listed_test_point_enters_on_the_pledge(d21: Decide) -> None:
    from commutepass.domain.decisions import Pledge

    pledge = Pledge(SITE, T("2021-11-20T05:30"))
    outcome = decide_with_pledge(d21, facts(), "2021-11-20T07:00", pledge)
    assert outcome.decision is Decision.ALLOW_PLEDGE
    assert "PLEDGE_ACCEPTED" in codes(outcome)
    assert [r.code for r in outcome.manual_checks] == ["CHECK_SAMPLING_SLIP", "CHECK_PLEDGE_FORM"]
    text = explain_check(outcome, d21.policy)
    assert "承诺书" in text["zh"] and "pledge" in text["en"]
    # without the pledge: refused, as before
    assert d21.check(facts(), "2021-11-20T07:00").decision is Decision.REFUSE


@pytest.mark.parametrize(
    ("site", "sampled", "mode", "code"),
    [
        ("某服务区", "2021-11-20T05:30", Mode.ROAD, "PLEDGE_SITE_NOT_LISTED"),
        (SITE, "2021-11-19T06:59", Mode.ROAD, "PLEDGE_SAMPLE_TOO_OLD"),
        (SITE, "2021-11-20T07:30", Mode.ROAD, "PLEDGE_SAMPLE_TOO_OLD"),  # sampled after the check
        (SITE, "2021-11-20T05:30", Mode.RAIL, "PLEDGE_ROAD_ONLY"),
    ],
)
def test_a_pledge_that_does_not_fit_is_refused_saying_why(
    d21: Decide, site: str, sampled: str, mode: Mode, code: str
) -> None:
    from commutepass.domain.decisions import Pledge

    outcome = decide_with_pledge(d21, facts(), "2021-11-20T07:00", Pledge(site, T(sampled)), mode)
    assert outcome.decision is Decision.REFUSE
    assert code in codes(outcome)


def test_a_result_already_in_decides_not_the_pledge(d21: Decide) -> None:
    from commutepass.domain.decisions import Pledge

    pledge = Pledge(SITE, T("2021-11-20T05:30"))
    back = facts(nats=[negative("2021-11-20T05:30", "2021-11-20T06:30")])
    assert decide_with_pledge(d21, back, "2021-11-20T07:00", pledge).decision is Decision.ALLOW
    red = facts(nats=[positive("2021-11-20T05:30", "2021-11-20T06:30")])
    assert decide_with_pledge(d21, red, "2021-11-20T07:00", pledge).decision is Decision.REFUSE


def test_a_commuter_whose_test_ran_out_may_enter_on_the_pledge(d21: Decide) -> None:
    from commutepass.domain.decisions import Pledge

    commuter = facts(
        membership=member("2021-11-01"), nats=[negative("2021-11-01T08:00")], last_entry="2021-11-19T07:00"
    )
    assert d21.check(commuter, "2021-11-20T07:00").decision is Decision.REFUSE
    pledged = decide_with_pledge(d21, commuter, "2021-11-20T07:00", Pledge(SITE, T("2021-11-20T06:00")))
    assert pledged.decision is Decision.ALLOW_PLEDGE


def test_no_pledge_under_the_2020_policy(p2020: Policy, catalog: RegionCatalog) -> None:

    assert not p2020.pledge.enabled


def decide_with_pledge(d: Decide, f: object, at: str, pledge: object, mode: Mode = Mode.ROAD) -> CheckOutcome:
    from commutepass.domain.decisions import decide_check

    return decide_check(f, d.policy, T(at), d.risk, d.catalog, mode=mode, pledge=pledge)  # type: ignore[arg-type]
