"""What the engine needs to know about a person at one moment: a bounded slice, never a history.

The store fetches exactly these facts with indexed, windowed queries (see
``store/facts.py``); the engine decides from them alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from commutepass.domain.policy import CommuterClass
from commutepass.domain.regions import RegionCatalog


class RiskLevel(StrEnum):
    CASE = "case"  # ≥ 1 local case in the county (本土病例)
    BORDER_PORT = "border_port"  # a county with a land border port (陆路边境口岸)


class Source(StrEnum):
    """How a person came into the commuter database."""

    AUTO = "auto"  # identified from travel records (大数据)
    APPLICATION = "application"  # applied at a road checkpoint
    HOTLINE = "hotline"  # registered through the 12345 hotline
    MANUAL = "manual"  # entered by the police who run the database


@dataclass(frozen=True, slots=True)
class NatResult:
    sampled_at: datetime
    reported_at: datetime
    positive: bool
    lab: str = ""


@dataclass(frozen=True, slots=True)
class Membership:
    """The commuter-database entry in force at the moment asked about."""

    commuter_class: CommuterClass
    source: Source
    valid_from: datetime
    home_county: str | None = None
    evidence: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """A day the trip card (行程卡) places the person in a county."""

    day: date
    county: str


@dataclass(frozen=True, slots=True)
class RiskPeriod:
    county: str
    level: RiskLevel
    start: date
    end: date | None  # None: ongoing

    def overlaps(self, first: date, last: date) -> bool:
        return self.start <= last and (self.end is None or self.end >= first)


@dataclass(frozen=True, slots=True)
class Override:
    """A reviewer's correction after an appeal (纠错): in force from ``valid_from`` until ``valid_to``.

    ``field`` is what was disputed: ``color`` (restores a green code), ``popup`` (removes the
    pop-up and the trips behind it) or ``badge`` (restores commuter standing; the NAT rule still
    applies)."""

    field: str
    valid_from: datetime
    valid_to: datetime
    reason: str
    appeal_id: int | None = None


@dataclass(frozen=True, slots=True)
class PersonFacts:
    birth_date: date
    membership: Membership | None = None
    nats: tuple[NatResult, ...] = ()
    """Results reported by the moment asked about, within the longest window any rule reads."""
    visits: tuple[Visit, ...] = ()
    """Itinerary days within the risk look-back window."""
    last_entry_at: datetime | None = None
    """The last recorded entry into Beijing before the moment asked about."""
    entered_under_policy: bool = False
    """An entry was recorded since the policy in force took effect (its first check is done)."""
    overrides: tuple[Override, ...] = ()
    """Reviewers' corrections in force at the moment asked about."""


@dataclass(slots=True)
class RiskMap:
    """Risk periods indexed by county and by risk unit, built once per change of the table."""

    by_county: dict[str, list[RiskPeriod]] = field(default_factory=dict)
    cases_by_unit: dict[str, list[RiskPeriod]] = field(default_factory=dict)
    unit_of: dict[str, str] = field(default_factory=dict)
    """Risk unit of every county that could be hit: where a visit outside this map cannot matter."""

    @classmethod
    def build(cls, periods: Iterable[RiskPeriod], catalog: RegionCatalog) -> RiskMap:
        by_county: dict[str, list[RiskPeriod]] = defaultdict(list)
        by_unit: dict[str, list[RiskPeriod]] = defaultdict(list)
        for period in periods:
            by_county[period.county].append(period)
            county = catalog.get(period.county)
            if period.level is RiskLevel.CASE and county is not None:
                by_unit[county.risk_unit].append(period)
        unit_of = {
            c.code: c.risk_unit for c in catalog.counties() if c.code in by_county or c.risk_unit in by_unit
        }
        return cls(dict(by_county), dict(by_unit), unit_of)
