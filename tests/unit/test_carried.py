"""The decision on a status carried by a signed code (a Tianjin code at a Beijing checkpoint)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from commutepass.domain.carried import CarriedStatus, decide_carried
from commutepass.domain.decisions import Mode
from commutepass.domain.policy import Color, CommuterClass, Decision, Policy
from tests.unit.conftest import T

GREEN = CarriedStatus(
    region="TJ",
    issued_at=T("2021-11-29T07:00"),
    policy_version="2021-11-17",
    color=Color.GREEN,
    popup=None,
    commuter_badge=False,
    commuter_class=None,
    nat_valid_until=T("2021-11-30T08:00"),
    masked_id="120***********0013",
    birth_year=1990,
)
AT = T("2021-11-29T08:00")


def _codes(reasons: tuple[object, ...]) -> list[str]:
    return [r.code for r in reasons]  # type: ignore[attr-defined]


def test_green_code_with_a_valid_nat_is_allowed_and_the_holder_matched(p2021: Policy) -> None:
    outcome = decide_carried(GREEN, p2021, AT, mode=Mode.ROAD)
    assert outcome.decision is Decision.ALLOW
    assert _codes(outcome.reasons) == ["CARRIED_NAT_VALID"]
    assert _codes(outcome.status.reasons) == ["CARRIED_CODE_GREEN"]
    holder = outcome.manual_checks[0]
    assert holder.code == "CHECK_HOLDER_ID"
    assert holder.values == {"masked_id": "120***********0013", "birth_year": "1990"}


def test_the_nat_window_is_checked_at_the_time_of_the_check(p2021: Policy) -> None:
    outcome = decide_carried(GREEN, p2021, T("2021-11-30T08:00"), mode=Mode.ROAD)
    assert outcome.decision is Decision.REFUSE
    assert _codes(outcome.reasons) == ["CARRIED_NAT_EXPIRED"]
    missing = decide_carried(replace(GREEN, nat_valid_until=None), p2021, AT, mode=Mode.ROAD)
    assert (missing.decision, _codes(missing.reasons)) == (Decision.REFUSE, ["CARRIED_NAT_MISSING"])


def test_red_code_is_refused(p2021: Policy) -> None:
    outcome = decide_carried(replace(GREEN, color=Color.RED), p2021, AT, mode=Mode.ROAD)
    assert (outcome.decision, _codes(outcome.reasons)) == (Decision.REFUSE, ["REFUSE_POSITIVE"])


@pytest.mark.parametrize(
    ("popup", "decision", "last_reason"),
    [
        ("POPUP_TRAVEL_CASE_COUNTY", Decision.REFUSE, "REFUSE_RISK_TRAVEL"),
        ("POPUP_TRAVEL_SAME_CITY", Decision.ALLOW_REPORT, "ALLOW_REPORT_TO_COMMUNITY"),
    ],
)
def test_a_pop_up_takes_the_policys_outcome_for_that_trip(
    p2021: Policy, popup: str, decision: Decision, last_reason: str
) -> None:
    outcome = decide_carried(replace(GREEN, color=Color.YELLOW, popup=popup), p2021, AT, mode=Mode.ROAD)
    assert outcome.decision is decision
    assert _codes(outcome.reasons)[-1] == last_reason
    assert outcome.status.popup == popup


def test_rail_badge_alone_is_enough_and_without_it_documents(p2021: Policy) -> None:
    commuter = replace(GREEN, commuter_badge=True, commuter_class=CommuterClass.DAILY)
    with_badge = decide_carried(commuter, p2021, AT, mode=Mode.RAIL)
    assert (with_badge.decision, _codes(with_badge.reasons)) == (Decision.ALLOW, ["RAIL_BADGE_ONLY"])
    no_badge = decide_carried(replace(commuter, commuter_badge=False), p2021, AT, mode=Mode.RAIL)
    assert no_badge.decision is Decision.DOCUMENTS
    assert "CHECK_WORK_PROOF" in _codes(no_badge.manual_checks)


def test_the_2020_policy_applies_observation_or_routine_passage(p2020: Policy) -> None:
    at = T("2020-03-10T08:00")
    ordinary = decide_carried(replace(GREEN, nat_valid_until=None), p2020, at, mode=Mode.ROAD)
    assert (ordinary.decision, _codes(ordinary.reasons)) == (Decision.ALLOW_QUARANTINE, ["OBSERVATION_14D"])
    commuter = decide_carried(replace(GREEN, commuter_class=CommuterClass.DAILY), p2020, at, mode=Mode.ROAD)
    assert (commuter.decision, _codes(commuter.reasons)) == (Decision.ALLOW, ["COMMUTER_ROUTINE_PASSAGE"])
