"""The pure workflow rules: every application and appeal transition, the same-day clock,
override end dates, and overrides applied by the decision engine to status and check."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from commutepass.domain.errors import InputError
from commutepass.domain.facts import Override, PersonFacts
from commutepass.domain.policy import Color, Decision, Policy
from commutepass.domain.reasons import explain_status, render
from commutepass.domain.regions import RegionCatalog
from commutepass.domain.workflows import (
    APP_TRANSITIONS,
    AppealState,
    AppState,
    check_appeal_decision,
    check_transition,
    effective_day,
    missing_for_approval,
    override_until,
    queue_clock,
)

from .conftest import Decide, T, codes, facts, member, negative, positive, risk_map

ALLOWED = {
    (AppState.SUBMITTED, AppState.APPROVED),
    (AppState.SUBMITTED, AppState.REJECTED),
    (AppState.SUBMITTED, AppState.NEEDS_MORE),
    (AppState.NEEDS_MORE, AppState.SUBMITTED),
}


@pytest.mark.parametrize(("current", "target"), [(a, b) for a in AppState for b in AppState])
def test_every_application_transition(current: AppState, target: AppState) -> None:
    if (current, target) in ALLOWED:
        check_transition(current, target, "a reason")
        with pytest.raises(InputError) as no_reason:
            check_transition(current, target, "   ")
        assert no_reason.value.field == "reason"
    else:
        with pytest.raises(InputError) as refused:
            check_transition(current, target, "a reason")
        assert refused.value.field == "status" and refused.value.zh
    assert {(a, b) for a, targets in APP_TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.mark.parametrize("state", list(AppealState))
@pytest.mark.parametrize("target", list(AppealState))
def test_every_appeal_transition(state: AppealState, target: AppealState) -> None:
    if state is AppealState.OPEN and target is not AppealState.OPEN:
        check_appeal_decision(state, target, "checked with the carrier")
        with pytest.raises(InputError):
            check_appeal_decision(state, target, "")
    else:
        with pytest.raises(InputError):
            check_appeal_decision(state, target, "checked with the carrier")


def test_approval_takes_effect_at_the_next_beijing_midnight() -> None:
    # 23:30 Beijing is 15:30 UTC on the same day: the next Beijing day, not the next UTC day
    assert effective_day(T("2021-11-20T23:30")) == date(2021, 11, 21)
    assert effective_day(T("2021-11-20T00:00")) == date(2021, 11, 21)


@pytest.mark.parametrize(
    ("now", "at_risk", "overdue"),
    [
        ("2021-11-20T09:30", False, False),
        ("2021-11-20T21:59", False, False),
        ("2021-11-20T22:00", True, False),  # two hours before the end of the day
        ("2021-11-20T23:59", True, False),
        ("2021-11-21T00:00", True, True),  # the promise is missed
    ],
)
def test_the_same_day_clock(now: str, at_risk: bool, overdue: bool) -> None:
    clock = queue_clock(T("2021-11-20T09:00"), T(now), timedelta(hours=2))
    assert (clock.at_risk, clock.overdue) == (at_risk, overdue)
    assert clock.deadline == T("2021-11-21T00:00")
    assert clock.waited == T(now) - T("2021-11-20T09:00")


def test_an_override_ends_after_its_end_date_and_not_in_the_past() -> None:
    assert override_until(date(2021, 11, 27), T("2021-11-20T10:00")) == T("2021-11-28T00:00")
    with pytest.raises(InputError) as past:
        override_until(date(2021, 11, 19), T("2021-11-20T10:00"))
    assert past.value.field == "until"


# --- overrides in the decision engine ------------------------------------------------------------


def _with(
    person: PersonFacts, field: str, start: str = "2021-11-20T00:00", end: str = "2021-11-28T00:00"
) -> PersonFacts:
    return dataclasses.replace(person, overrides=(Override(field, T(start), T(end), "data error", 7),))


def test_a_popup_override_clears_the_trip_in_status_and_check(p2021: Policy, catalog: RegionCatalog) -> None:
    d = Decide(p2021, catalog, risk_map(catalog, ("130821", "case", "2021-11-15", None)))
    person = facts(
        membership=member(),
        nats=[negative("2021-11-21T08:00")],
        visits=[("2021-11-20", "130821")],
        last_entry="2021-11-19T07:00",
    )
    assert d.check(person, "2021-11-22T07:00").decision is Decision.REFUSE
    fixed = _with(person, "popup")
    status = d.status(fixed, "2021-11-22T07:00")
    assert (status.color, status.popup, status.commuter_badge) == (Color.GREEN, None, True)
    assert codes(status)[0] == "OVERRIDE_POPUP" and "TRAVEL_CASE_COUNTY" not in codes(status)
    assert "data error" in explain_status(status, p2021)["en"]
    assert d.check(fixed, "2021-11-22T07:00").decision is Decision.ALLOW
    # before it starts and from its end on, the data decides again
    assert (
        d.check(_with(person, "popup", start="2021-11-23T00:00"), "2021-11-22T07:00").decision
        is Decision.REFUSE
    )
    assert (
        d.check(_with(person, "popup", end="2021-11-22T07:00"), "2021-11-22T07:00").decision
        is Decision.REFUSE
    )


def test_a_colour_override_clears_a_wrong_positive(p2021: Policy, catalog: RegionCatalog) -> None:
    d = Decide(p2021, catalog)
    person = facts(nats=[positive("2021-11-19T08:00"), negative("2021-11-21T08:00")])
    assert d.status(person, "2021-11-22T07:00").color is Color.RED
    fixed = _with(person, "color")
    assert d.status(fixed, "2021-11-22T07:00").color is Color.GREEN
    outcome = d.check(fixed, "2021-11-22T07:00")
    assert outcome.decision is Decision.ALLOW and "OVERRIDE_COLOR" in codes(outcome)


def test_a_badge_override_restores_commuter_standing_but_not_the_nat_rule(
    p2021: Policy, catalog: RegionCatalog
) -> None:
    d = Decide(p2021, catalog)
    with_nat = facts(nats=[negative("2021-11-15T08:00")], last_entry="2021-11-18T07:00")
    assert d.status(with_nat, "2021-11-22T07:00").commuter_badge is False
    fixed = d.status(_with(with_nat, "badge"), "2021-11-22T07:00")
    assert fixed.commuter_badge is True and codes(fixed)[0] == "OVERRIDE_BADGE"
    # the 14-day commuter NAT counts for a restored commuter at the checkpoint
    assert d.check(_with(with_nat, "badge"), "2021-11-22T07:00").decision is Decision.ALLOW
    no_nat = d.status(_with(facts(), "badge"), "2021-11-22T07:00")
    assert no_nat.commuter_badge is False and "BADGE_NO_NAT" in codes(no_nat)


def test_no_override_changes_nothing(p2021: Policy, catalog: RegionCatalog) -> None:
    d = Decide(p2021, catalog)
    person = facts(membership=member(), nats=[negative("2021-11-21T08:00")], last_entry="2021-11-19T07:00")
    assert d.status(person, "2021-11-22T07:00") == d.status(
        dataclasses.replace(person, overrides=()), "2021-11-22T07:00"
    )


# --- what approval requires (policy [applications]) ---------------------------------------------

ALL_DOCUMENTS = ("id_card", "work_proof", "residence_proof", "nat_proof")


@pytest.mark.parametrize(
    ("home", "work", "expected"),
    [
        ("131082", "110105", []),  # home in Sanhe (ring area), work in Chaoyang
        ("110105", "120114", []),  # the reverse commuter: home in Beijing, work in Tianjin
        ("131082", None, ["APP_MISSING_WORK_COUNTY"]),
        (None, "110105", ["APP_MISSING_HOME_COUNTY"]),
        (None, None, ["APP_MISSING_HOME_COUNTY", "APP_MISSING_WORK_COUNTY"]),
        ("131082", "120114", ["APP_NO_BEIJING_END"]),  # both ends in the ring area
        ("110105", "110106", ["APP_NO_RING_END"]),  # both ends in Beijing
        ("310101", "110105", ["APP_NO_RING_END"]),  # Shanghai is not the ring area
        ("310101", None, ["APP_MISSING_WORK_COUNTY", "APP_NO_RING_END"]),
        ("131082", "310101", ["APP_NO_BEIJING_END"]),
    ],
)
def test_approval_needs_the_ring_area_at_one_end_and_beijing_at_the_other(
    p2021: Policy, home: str | None, work: str | None, expected: list[str]
) -> None:
    found = missing_for_approval(p2021, home, work, ALL_DOCUMENTS)
    assert [r.code for r in found] == expected


def test_approval_needs_the_documents_the_policy_names(p2021: Policy) -> None:
    found = missing_for_approval(p2021, "131082", "110105", ["work_proof", "other"])
    assert [r.code for r in found] == [
        "APP_MISSING_ID_CARD",
        "APP_MISSING_RESIDENCE_PROOF",
        "APP_MISSING_NAT_PROOF",
    ]
    lighter = p2021.model_copy(
        update={"applications": p2021.applications.model_copy(update={"required_documents": ("work_proof",)})}
    )
    assert missing_for_approval(lighter, "131082", "110105", ["work_proof"]) == []
    no_ends = p2021.model_copy(
        update={"applications": p2021.applications.model_copy(update={"require_ends": False})}
    )
    assert missing_for_approval(no_ends, None, None, ALL_DOCUMENTS) == []


def test_every_missing_item_has_a_remedy_in_both_languages(p2021: Policy) -> None:
    found = missing_for_approval(p2021, "310101", None, [])
    assert len(found) == 6
    for reason in found:
        shown = render(reason, p2021)
        assert shown.zh and shown.en and shown.remedy_zh and shown.remedy_en
        assert "{" not in shown.zh + shown.en + shown.remedy_zh + shown.remedy_en
