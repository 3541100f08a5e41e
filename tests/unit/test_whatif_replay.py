"""The what-if replay's pure part: facts survive the trip through the lake's JSON unchanged, and a
replayed item decides exactly as ``decide_check`` does on the same facts (one statement of the rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from commutepass.domain.decisions import Mode, decide_check
from commutepass.domain.facts import Membership, NatResult, Override, PersonFacts, Source, Visit
from commutepass.domain.policy import CommuterClass
from commutepass.domain.regions import region_catalog
from commutepass.policies import builtin_policies
from commutepass.whatif.replay import (
    Item,
    RiskHistory,
    RiskVersionRow,
    as_replacing,
    facts_from_json,
    facts_json,
    items_of,
    items_table,
    redecide,
)

AT = datetime(2021, 11, 23, 1, 0, tzinfo=UTC)
FACTS = PersonFacts(
    birth_date=date(1985, 5, 5),
    membership=Membership(
        CommuterClass.WEEKLY, Source.AUTO, datetime(2021, 11, 1, tzinfo=UTC), "131082", "证据"
    ),
    nats=(
        NatResult(
            datetime(2021, 11, 15, 0, tzinfo=UTC), datetime(2021, 11, 15, 10, tzinfo=UTC), False, "廊坊"
        ),
    ),
    visits=(Visit(date(2021, 11, 20), "130821"),),
    last_entry_at=datetime(2021, 11, 18, tzinfo=UTC),
    entered_under_policy=True,
    overrides=(
        Override("popup", datetime(2021, 11, 21, tzinfo=UTC), datetime(2021, 11, 30, tzinfo=UTC), "纠错", 3),
    ),
)


def test_facts_round_trip_through_json() -> None:
    assert facts_from_json(facts_json(FACTS)) == FACTS
    assert facts_from_json(facts_json(PersonFacts(birth_date=date(2000, 1, 1)))) == PersonFacts(
        date(2000, 1, 1)
    )


def test_a_replayed_check_decides_as_decide_check_does() -> None:
    book = builtin_policies()
    base = book.by_version("2021-11-17")
    cand = base.model_copy(
        update={"version": "cand", "nat": base.nat.model_copy(update={"commuter_valid_days": 7})}
    )
    catalog = region_catalog()
    rows = [RiskVersionRow(datetime(2021, 11, 20, tzinfo=UTC), "130821", "case", date(2021, 11, 20), None)]
    risk = RiskHistory(rows, catalog)
    item = Item(
        "check",
        "check:1",
        1,
        "abcd",
        AT,
        "白庙检查站",
        "road",
        True,
        "allow",
        base.version,
        risk.prefix(AT),
        facts_json(FACTS),
        facts_json(FACTS),
    )
    assert items_of(items_table([item])) == [item]
    row = redecide(item, base, as_replacing(cand, base), risk, catalog)
    live = risk.at_prefix(item.risk_prefix)
    assert live.by_county  # the case period recorded before the check is seen
    for policy, prefix in ((base, "base"), (as_replacing(cand, base), "cand")):
        outcome = decide_check(FACTS, policy, AT, live, catalog, mode=Mode.ROAD)
        assert row[f"{prefix}_decision"] == outcome.decision.value
        assert row[f"{prefix}_badge"] == outcome.status.commuter_badge
        assert row[f"{prefix}_reasons"] == ",".join(
            r.code for r in (*outcome.reasons, *outcome.status.reasons)
        )
    assert as_replacing(cand, base).effective_from == base.effective_from


def test_risk_is_as_known_at_the_horizon() -> None:
    catalog = region_catalog()
    recorded = datetime(2021, 11, 22, 7, tzinfo=UTC)
    rows = [
        RiskVersionRow(recorded, "130821", "case", date(2021, 11, 20), None),
        RiskVersionRow(recorded.replace(hour=9), "130821", "case", date(2021, 11, 20), date(2021, 11, 21)),
    ]
    risk = RiskHistory(rows, catalog)
    assert risk.prefix(recorded.replace(hour=6)) == 0 and risk.at_prefix(0).by_county == {}
    ongoing = risk.at_prefix(risk.prefix(recorded.replace(hour=8)))
    assert ongoing.by_county["130821"][0].end is None
    ended = risk.at_prefix(risk.prefix(recorded.replace(hour=10)))
    assert ended.by_county["130821"][0].end == date(2021, 11, 21)
