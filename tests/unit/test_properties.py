"""Property tests of the engine (hypothesis): whatever the facts, decisions are well-formed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commutepass.domain.clock import BEIJING
from commutepass.domain.decisions import Mode
from commutepass.domain.facts import Membership, NatResult, PersonFacts, Source, Visit
from commutepass.domain.identity import age_on
from commutepass.domain.policy import Color, CommuterClass, Decision
from commutepass.domain.reasons import CATALOG, explain_check, explain_status, text_of
from commutepass.domain.regions import region_catalog
from commutepass.policies import builtin_policies

from .conftest import Decide, risk_map

BOOK = builtin_policies()
CATALOG_REGIONS = region_catalog()
RISK = risk_map(
    CATALOG_REGIONS,
    ("131028", "case", "2021-11-10", None),
    ("120116", "case", "2021-11-01", "2021-11-15"),
    ("152501", "border_port", "2020-01-01", None),
)
COUNTIES = ["131028", "131082", "131024", "120116", "120114", "152501", "110105", "370212"]
BASE = datetime(2021, 11, 20, 7, 30, tzinfo=BEIJING)

moments = st.builds(lambda h: BASE + timedelta(minutes=h), st.integers(-60 * 24 * 640, 60 * 24 * 40))
offsets = st.integers(-60 * 24 * 40, 60 * 24 * 2)


@st.composite
def nat_results(draw: st.DrawFn, around: datetime) -> NatResult:
    sampled = around + timedelta(minutes=draw(offsets))
    reported = sampled + timedelta(minutes=draw(st.integers(0, 60 * 48)))
    return NatResult(sampled, reported, draw(st.booleans()) if draw(st.integers(0, 9)) == 0 else False)


@st.composite
def person_facts(draw: st.DrawFn, at: datetime) -> PersonFacts:
    birth = date(2021, 11, 20) - timedelta(days=draw(st.integers(0, 90 * 365)))
    membership = None
    if draw(st.booleans()):
        membership = Membership(
            draw(st.sampled_from(CommuterClass)),
            draw(st.sampled_from(Source)),
            at - timedelta(days=draw(st.integers(0, 90))),
        )
    nats = tuple(draw(st.lists(nat_results(at), max_size=6)))
    visits = tuple(
        Visit((at - timedelta(days=draw(st.integers(0, 20)))).date(), draw(st.sampled_from(COUNTIES)))
        for _ in range(draw(st.integers(0, 5)))
    )
    last_entry = at - timedelta(minutes=draw(st.integers(1, 60 * 24 * 30))) if draw(st.booleans()) else None
    policy = BOOK.in_force(at)
    return PersonFacts(
        birth_date=birth,
        membership=membership,
        nats=nats,
        visits=visits,
        last_entry_at=last_entry,
        entered_under_policy=last_entry is not None and last_entry >= policy.effective_from,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[datetime, PersonFacts, Mode, bool, list[PersonFacts]]:
    at = draw(moments)
    return (
        at,
        draw(person_facts(at)),
        draw(st.sampled_from(Mode)),
        draw(st.booleans()),
        draw(st.lists(person_facts(at), max_size=2)),
    )


def _decide(at: datetime, facts: PersonFacts, mode: Mode, smartphone: bool, companions: list[PersonFacts]):  # type: ignore[no-untyped-def]
    policy = BOOK.in_force(at)
    d = Decide(policy, CATALOG_REGIONS, RISK)
    return policy, d.check(facts, at.isoformat(), mode=mode, smartphone=smartphone, companions=companions)


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scenarios())
def test_every_outcome_is_well_formed_and_explained(
    scenario: tuple[datetime, PersonFacts, Mode, bool, list[PersonFacts]],
) -> None:
    policy, outcome = _decide(*scenario)
    assert outcome.decision in Decision
    assert outcome.reasons, "a decision always says why"
    for reason in (*outcome.reasons, *outcome.status.reasons, *outcome.manual_checks):
        assert reason.code in CATALOG
        rendered = text_of(reason, policy)  # every template renders with the facts and the policy
        assert rendered["zh"] and rendered["en"]
        assert "{" not in rendered["zh"] + rendered["en"]
    text = explain_check(outcome, policy)
    assert text["zh"] and text["en"]
    assert explain_status(outcome.status, policy)["en"]


@FAST
@given(scenarios())
def test_badge_implies_membership_green_and_no_popup(
    scenario: tuple[datetime, PersonFacts, Mode, bool, list[PersonFacts]],
) -> None:
    _policy, outcome = _decide(*scenario)
    status = outcome.status
    if status.commuter_badge:
        assert scenario[1].membership is not None
        assert status.color is Color.GREEN and status.popup is None
    assert (status.commuter_class is None) is (scenario[1].membership is None)


@FAST
@given(scenarios())
def test_red_or_case_county_is_refused_unless_an_infant(
    scenario: tuple[datetime, PersonFacts, Mode, bool, list[PersonFacts]],
) -> None:
    at, facts, *_ = scenario
    policy, outcome = _decide(*scenario)
    infant = (
        policy.nat.required_for_entry and age_on(facts.birth_date, at.date()) <= policy.special.infant_max_age
    )
    if infant:
        return
    codes = {r.code for r in outcome.status.reasons}
    if outcome.status.color is Color.RED or "TRAVEL_CASE_COUNTY" in codes:
        assert outcome.decision is Decision.REFUSE


@FAST
@given(scenarios())
def test_a_fresh_negative_nat_never_makes_things_worse(
    scenario: tuple[datetime, PersonFacts, Mode, bool, list[PersonFacts]],
) -> None:
    at, facts, mode, smartphone, companions = scenario
    _policy, before = _decide(at, facts, mode, smartphone, companions)
    fresh = NatResult(at - timedelta(hours=3), at - timedelta(hours=1), positive=False)
    better = PersonFacts(
        birth_date=facts.birth_date,
        membership=facts.membership,
        nats=(*facts.nats, fresh),
        visits=facts.visits,
        last_entry_at=facts.last_entry_at,
        entered_under_policy=facts.entered_under_policy,
    )
    _policy, after = _decide(at, better, mode, smartphone, companions)
    if before.decision is not Decision.REFUSE:
        assert after.decision is not Decision.REFUSE


@FAST
@given(scenarios())
def test_2020_policy_only_observes_or_allows(
    scenario: tuple[datetime, PersonFacts, Mode, bool, list[PersonFacts]],
) -> None:
    policy, outcome = _decide(*scenario)
    if policy.version == "2020-02-14":
        assert outcome.decision in (Decision.ALLOW, Decision.ALLOW_QUARANTINE, Decision.REFUSE)
        if outcome.decision is Decision.REFUSE:
            assert outcome.status.color is Color.RED
