"""Fixtures for the pure domain: no database, no files."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pytest

from commutepass.domain.clock import parse_time
from commutepass.domain.decisions import CheckOutcome, Companion, Mode, Status, assess_status, decide_check
from commutepass.domain.facts import (
    Membership,
    NatResult,
    PersonFacts,
    RiskLevel,
    RiskMap,
    RiskPeriod,
    Source,
    Visit,
)
from commutepass.domain.policy import CommuterClass, Policy, PolicyBook
from commutepass.domain.regions import RegionCatalog, region_catalog
from commutepass.policies import builtin_policies
from tests.helpers import make_id

__all__ = ["make_id"]


T = parse_time


@pytest.fixture(scope="session")
def catalog() -> RegionCatalog:
    return region_catalog()


@pytest.fixture(scope="session")
def book() -> PolicyBook:
    return builtin_policies()


@pytest.fixture(scope="session")
def p2021(book: PolicyBook) -> Policy:
    return book.by_version("2021-11-17")


@pytest.fixture(scope="session")
def p2020(book: PolicyBook) -> Policy:
    return book.by_version("2020-02-14")


def negative(sampled: str, reported: str | None = None) -> NatResult:
    s = T(sampled)
    return NatResult(s, T(reported) if reported else s + timedelta(hours=8), positive=False)


def positive(sampled: str, reported: str | None = None) -> NatResult:
    s = T(sampled)
    return NatResult(s, T(reported) if reported else s + timedelta(hours=8), positive=True)


def member(
    since: str = "2021-11-01", source: Source = Source.AUTO, cls: CommuterClass = CommuterClass.DAILY
) -> Membership:
    return Membership(cls, source, T(since), home_county="131082")


def facts(
    *,
    birth: date = date(1990, 3, 7),
    membership: Membership | None = None,
    nats: Sequence[NatResult] = (),
    visits: Sequence[tuple[str, str]] = (),
    last_entry: str | None = None,
    policy_start: str = "2021-11-17T00:00",
) -> PersonFacts:
    last = T(last_entry) if last_entry else None
    return PersonFacts(
        birth_date=birth,
        membership=membership,
        nats=tuple(nats),
        visits=tuple(Visit(date.fromisoformat(d), c) for d, c in visits),
        last_entry_at=last,
        entered_under_policy=last is not None and last >= T(policy_start),
    )


def risk_map(catalog: RegionCatalog, *periods: tuple[str, str, str, str | None]) -> RiskMap:
    return RiskMap.build(
        [
            RiskPeriod(
                county, RiskLevel(level), date.fromisoformat(start), date.fromisoformat(end) if end else None
            )
            for county, level, start, end in periods
        ],
        catalog,
    )


class Decide:
    """Shorthand for the decisions under a given policy and risk map."""

    def __init__(self, policy: Policy, catalog: RegionCatalog, risk: RiskMap | None = None) -> None:
        self.policy = policy
        self.catalog = catalog
        self.risk = risk or RiskMap()

    def status(self, f: PersonFacts, at: str) -> Status:
        return assess_status(f, self.policy, T(at), self.risk, self.catalog)

    def check(
        self,
        f: PersonFacts,
        at: str,
        mode: Mode = Mode.ROAD,
        smartphone: bool = True,
        companions: Sequence[PersonFacts] = (),
    ) -> CheckOutcome:
        return decide_check(
            f,
            self.policy,
            T(at),
            self.risk,
            self.catalog,
            mode=mode,
            smartphone=smartphone,
            companions=[Companion(f"companion-{i}", c) for i, c in enumerate(companions)],
        )


def codes(outcome: CheckOutcome | Status) -> list[str]:
    if isinstance(outcome, CheckOutcome):
        return [r.code for r in (*outcome.reasons, *outcome.status.reasons)]
    return [r.code for r in outcome.reasons]


def at_plus(at: str, **delta: float) -> str:
    return (T(at) + timedelta(**delta)).isoformat()


def iso(moment: datetime) -> str:
    return moment.isoformat()
