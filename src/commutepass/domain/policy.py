"""The policy model: what a versioned policy file may say, validated on load.

A policy is data. The engine in ``decisions.py`` reads these parameters and never hard-codes
a number that a policy could change. Every parameter the seeds left open is named here and
documented in ``docs/policy.md``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from commutepass.domain.errors import InputError, NoPolicyInForce


class Decision(StrEnum):
    """What the checkpoint does with a person."""

    ALLOW = "allow"
    ALLOW_REPORT = "allow_report"  # enter, then report to the community at once (报到)
    ALLOW_QUARANTINE = "allow_quarantine"  # enter into 14 days of home or central observation
    DOCUMENTS = "documents"  # show work proof + NAT + green code by hand
    ALLOW_PLEDGE = "allow_pledge"  # sampled at a service-area test point, result pending: the pledge (承诺书)
    REFUSE = "refuse"


class Color(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class CommuterClass(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RingArea(_Frozen):
    """The ring-Beijing area (环京地区), explicitly: whole provinces and whole prefectures."""

    provinces: tuple[str, ...] = ()
    prefectures: tuple[str, ...] = ()
    note: str = ""

    def contains(self, county_code: str) -> bool:
        return county_code[:2] in self.provinces or county_code[:4] in self.prefectures


class NatRules(_Frozen):
    required_for_entry: bool
    """Whether entry needs a negative nucleic-acid test (核酸) at all."""
    entry_window_hours: int = Field(48, gt=0)
    entry_window_from: Literal["sampled_at", "reported_at"] = "sampled_at"
    """The seeds say "48小时内核酸" without saying from when; we count from sampling."""
    commuter_valid_days: int = Field(14, gt=0)
    """A commuter's NAT counts for this many calendar days from its report date (报告日期)."""
    positive_red_days: int = Field(14, gt=0)
    """A positive result sampled within this many days makes the code red."""


class RiskOutcome(_Frozen):
    """What one kind of risky trip does to the code and to entry."""

    color: Color
    popup: bool
    decision: Decision | None = None
    """Decision when the person is otherwise fit to enter; ``None``: the ordinary rules apply."""
    needs_entry_nat: bool = True
    """Commuter privileges are suspended: a NAT within the entry window is required."""


class RiskRules(_Frozen):
    enabled: bool
    lookback_days: int = Field(14, gt=0)
    ignore_provinces: tuple[str, ...] = ("11",)
    """Trips inside Beijing itself are not entry risks (the city manages those in place)."""
    case_county: RiskOutcome | None = None
    same_city: RiskOutcome | None = None
    border_port: RiskOutcome | None = None

    @model_validator(mode="after")
    def _outcomes_when_enabled(self) -> RiskRules:
        if self.enabled and None in (self.case_county, self.same_city, self.border_port):
            raise ValueError("risk.enabled needs case_county, same_city and border_port outcomes")
        return self


class IdentificationRules(_Frozen):
    """Thresholds of the automatic commuter identification (大数据识别)."""

    window_days: int = Field(28, gt=6)
    daily_min_workday_share: float = Field(0.6, gt=0, le=1)
    """Share of the window's workdays with an entry for a daily commuter."""
    weekly_min_weeks: int = Field(3, gt=0)
    """Distinct working weeks with an entry for a weekly commuter. A working week is a run of
    consecutive workdays by the holiday calendar (usually Monday–Friday), with the day off
    before it (Sunday evening back)."""
    weekly_max_entry_days_per_week: float = Field(3.0, gt=0)
    weekly_min_weekday_share: float = Field(0.6, gt=0, le=1)
    """Share of entries at the start or the end of the working week: the day off before it
    (Sunday evening back), its first workday (Monday morning back), its last workday (Friday
    home to Beijing) or the day off after it (Saturday), by the holiday calendar, so a Monday
    holiday or a make-up Sunday moves the day rather than breaking the pattern."""
    daily_min_entry_days: int = Field(5, gt=0)
    """Entry days a daily commuter needs at least (a few business trips in a short span are not commuting)."""
    daily_min_day_share: float = Field(0.4, gt=0, le=1)
    """Share of all days (workdays or not) with an entry that also makes a daily commuter, over
    at least ``weekly_min_weeks`` active weeks: shift work (four days on, four off)."""
    new_joiner_min_workdays: int = Field(5, gt=0)
    """A person whose first entry in the window is at least this many workdays back is judged
    from that entry on (a new joiner), not over the whole window."""
    max_days_since_last_entry: int = Field(14, gt=0)
    """The pattern lapses when the person was last seen crossing — an entry, or an exit (the way
    home after the last working week before a long holiday) — more than this many days ago."""
    weekly_office_start_hour: int = Field(9, ge=0, le=24)
    """Office hours (Beijing time, whole hours) for the weekly rhythms: a return counts at the
    start of the working week on its first workday only before this hour (Monday morning back),
    at its end on its last workday only from ``weekly_office_end_hour`` on (Friday evening back to
    a Beijing home); on the days off around the week any time counts. A business trip arrives in
    office hours."""
    weekly_office_end_hour: int = Field(17, ge=0, le=24)
    weekly_full_week_min_workdays: int = Field(3, gt=0)
    """A working week with at least this many workdays in the window is a full one. A window with
    no more full working weeks than ``weekly_min_weeks`` (a long holiday, make-up days) is judged
    with ``weekly_short_window_min_weeks``."""
    weekly_short_window_min_weeks: int = Field(2, gt=0)
    """In such a window: returns at commuting time in at least this many working weeks make a
    weekly commuter, if each return at the start of the week stayed through it (no exit before its
    last workday) and all but ``weekly_short_window_other_entries`` of the entries are such returns."""
    weekly_short_window_other_entries: int = Field(1, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> IdentificationRules:
        if self.weekly_office_start_hour >= self.weekly_office_end_hour:
            raise ValueError("weekly_office_start_hour must be before weekly_office_end_hour")
        if self.weekly_short_window_min_weeks > self.weekly_min_weeks:
            raise ValueError("weekly_short_window_min_weeks cannot exceed weekly_min_weeks")
        return self

    ring_share_min: float = Field(0.8, gt=0, le=1)
    """Share of a person's passages that must connect to the ring area."""


class CommuterRules(_Frozen):
    observation_exempt: bool
    """2020: ring-area commuters in the database pass as daily routine (日常通行)."""
    badge_enabled: bool
    """2021: the 通勤 badge on the health code."""
    first_check_needs_entry_nat: bool
    """2021: a commuter's first entry under the policy needs the ordinary 48 h NAT."""
    lapse_after_days_without_entry: int = Field(14, gt=0)
    """An automatically identified commuter whose last entry is older than this has lapsed."""
    application_grace_days: int = Field(30, ge=0)
    """Days after enrolment by application/hotline/manual before pattern rules may revoke."""
    rail_badge_only: bool = True
    """At a rail station, a badge holder shows only the badge (免查其他证明)."""
    rail_without_badge: Decision = Decision.DOCUMENTS
    rail_three_proofs: bool = False
    """2021 (seed 001 Q4): at a rail station, a ring-area commuter not in the database (or whose
    entry lapsed) without a 48 h test passes on three proofs checked by hand (``documents``):
    work proof, a negative test within ``nat.commuter_valid_days`` and a green code."""
    hotline: str = Field("12345", min_length=1, max_length=32)
    """Where people register or appeal by telephone (named in the reasons' remedies)."""
    identification: IdentificationRules = IdentificationRules()


class SpecialGroups(_Frozen):
    infant_max_age: int = Field(3, ge=0)
    """Infants this age and under (3岁及以下): only their companions' NATs are checked."""
    elderly_min_age: int = Field(60, gt=0)
    child_max_age: int = Field(14, ge=0)
    no_smartphone_nat_only: bool = True
    """No smartphone: a NAT within the entry window only, no health-code check."""


class OfflineRules(_Frozen):
    snapshot_max_age_hours: int = Field(24, gt=0)
    """A checkpoint deciding without the central service refuses a snapshot older than this."""
    clock_skew_minutes: int = Field(5, ge=0)
    """How far a checkpoint's clock may lag the service's: a snapshot taken up to this long
    after the swipe's time (by the checkpoint's clock) is still used."""
    trust_list_warn_hours: int = Field(24, ge=0)
    """A verifier warns this long before its trust or revocation list expires."""
    trust_list_stale_hours: int = Field(24, ge=0)
    """How long after its expiry a trust or revocation list is still accepted (a checkpoint that
    cannot fetch a new one, offline), with a warning; beyond, codes are not verified with it."""


class HcertRules(_Frozen):
    """EU Digital COVID Certificates (``HC1:``) shown at a checkpoint."""

    accepted_issuers: tuple[str, ...] = ()
    """Issuing countries (ISO 3166-1 alpha-2, the ``iss`` claim) whose nucleic-acid test
    results count as the NAT entry needs. Empty (the default): none counts; the certificate is
    still verified and its test shown, and the officer checks a NAT by hand."""

    @field_validator("accepted_issuers")
    @classmethod
    def _country_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if len(v) != 2 or not v.isascii() or not v.isalpha() or not v.isupper()]
        if bad:
            raise ValueError(f"accepted_issuers takes ISO 3166-1 alpha-2 codes such as AT: {bad}")
        return value


class PledgeRules(_Frozen):
    """Seed 003: people sampled at the test points of the service areas next to Beijing
    (临京服务区检测点) need not wait for the result: they sign the pledge (《进（返）京人员承诺书》)
    and enter after the check."""

    enabled: bool = False
    sites: tuple[str, ...] = ()
    """The test points whose pending samples are accepted (names as on the sampling slip)."""
    pending_hours: int = Field(24, gt=0)
    """How long after sampling a sample without a result is accepted."""


class RetentionPeriods(_Frozen):
    """How long each kind of personal data is kept (days, from 00:00 Beijing time); the
    retention job (``retention run``) removes what is older and keeps the daily aggregates.
    Unset travel/lake/itinerary/checks periods take the policy's ``retention_days``."""

    travel_days: int | None = Field(None, gt=0)
    """Travel rows in the store."""
    lake_days: int | None = Field(None, gt=0)
    """The identification copy (lake): travel files, daily activity and rolling states."""
    itinerary_days: int | None = Field(None, gt=0)
    checks_days: int | None = Field(None, gt=0)
    nat_days: int = Field(30, gt=0)
    """Test results, by the report time."""
    documents_days: int = Field(90, gt=0)
    """Uploaded documents of an application decided this long ago (rows and files)."""
    applications_days: int = Field(365, gt=0)
    """Decided applications with their history, by the decision time (open ones are kept)."""
    sessions_days: int = Field(30, gt=0)
    """Sign-in sessions that ended (expired or signed out) this long ago."""
    notifications_days: int = Field(90, gt=0)
    """The citizen's messages (by when they were made) and the outbox rows delivered."""
    audit_days: int = Field(1825, gt=0)
    """The audit log's own, longer period. The log is a hash chain: the retention job does not
    cut it (see docs/audit.md); this names the period the log is kept for."""


DocumentKind = Literal["id_card", "work_proof", "residence_proof", "nat_proof", "other"]


class ApplicationRules(_Frozen):
    """What approving an application to the commuter database requires (seed 001 Q3, seed 002):
    a ring-area county at one end of the commute (home or work) and Beijing at the other, and
    the documents named here. What is missing is listed for the reviewer and the applicant."""

    beijing_provinces: tuple[str, ...] = ("11",)
    """Province codes (first two digits of a county code) that count as Beijing."""
    require_ends: bool = True
    """Approval needs the home and work counties: one in the ring area, the other in Beijing."""
    required_documents: tuple[DocumentKind, ...] = ("id_card", "work_proof", "residence_proof", "nat_proof")
    """Documents an application must carry before it is approved (身份证、工作证明、居住证明、核酸证明)."""

    def in_beijing(self, county_code: str) -> bool:
        return county_code[:2] in self.beijing_provinces


class WorkflowRules(_Frozen):
    """Promises to people: how fast applications and appeals are answered."""

    application_warn_hours: float = Field(2.0, gt=0)
    """An application still waiting this close to the end of its day is flagged at risk of
    missing the same-day promise (当日申请、当日审批)."""
    appeal_target_hours: dict[str, float] = Field(
        default_factory=lambda: {"color": 6.0, "popup": 8.0, "badge": 8.0}
    )
    """Response-time target per appeal type (Hunan's health code promised 6–8 hours)."""

    @field_validator("appeal_target_hours")
    @classmethod
    def _every_kind(cls, value: dict[str, float]) -> dict[str, float]:
        missing = {"color", "popup", "badge"} - value.keys()
        if missing or any(v <= 0 for v in value.values()):
            raise ValueError("appeal_target_hours needs a positive target for color, popup and badge")
        return value


class Policy(_Frozen):
    version: str
    title_zh: str
    title_en: str
    effective_from: datetime
    sources: tuple[str, ...] = ()
    """Where the rules come from (seed documents), for whoever audits the policy."""
    default_decision: Decision
    """Decision for a person fit to enter under the ordinary rules."""
    ring_area: RingArea
    nat: NatRules
    risk: RiskRules
    commuters: CommuterRules
    special: SpecialGroups = SpecialGroups()
    offline: OfflineRules = OfflineRules()
    observation_days: int = Field(14, gt=0)
    """Days of home or central observation after entering (``allow_quarantine``)."""
    hcert: HcertRules = HcertRules()
    retention_days: int = Field(30, gt=0)
    """Travel, itinerary and swipe rows older than this are deleted by the retention job;
    their daily aggregates stay (the default of the per-kind periods in ``retention``)."""
    retention: RetentionPeriods = RetentionPeriods()
    pledge: PledgeRules = PledgeRules()
    workflows: WorkflowRules = WorkflowRules()
    applications: ApplicationRules = ApplicationRules()

    @field_validator("effective_from")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("effective_from needs a UTC offset, e.g. 2021-11-17T00:00:00+08:00")
        return value

    def kept_days(self, kind: str) -> int:
        """The retention period of one kind of data (see ``RetentionPeriods``)."""
        value = getattr(self.retention, f"{kind}_days")
        return int(value) if value is not None else self.retention_days

    @model_validator(mode="after")
    def _identification_can_read_its_window(self) -> Policy:
        window = self.commuters.identification.window_days
        for kind in ("travel", "lake"):
            if self.kept_days(kind) < window:
                raise ValueError(
                    f"retention.{kind}_days ({self.kept_days(kind)}) is shorter than the identification "
                    f"window ({window} days): identification could not read its window"
                )
        return self

    @field_validator("default_decision")
    @classmethod
    def _entry_decision(cls, value: Decision) -> Decision:
        if value not in (Decision.ALLOW, Decision.ALLOW_QUARANTINE):
            raise ValueError("default_decision must be allow or allow_quarantine")
        return value


class PolicyBook:
    """All policy versions, each in force from its effective time until the next one's."""

    def __init__(self, policies: list[Policy]) -> None:
        if not policies:
            raise ValueError("no policy versions")
        ordered = sorted(policies, key=lambda p: p.effective_from)
        versions = [p.version for p in ordered]
        if len(set(versions)) != len(versions):
            raise ValueError(f"duplicate policy versions: {versions}")
        starts = [p.effective_from for p in ordered]
        if len(set(starts)) != len(starts):
            raise ValueError("two policy versions take effect at the same time")
        self.policies: tuple[Policy, ...] = tuple(ordered)

    def in_force(self, at: datetime) -> Policy:
        current: Policy | None = None
        for policy in self.policies:
            if policy.effective_from <= at:
                current = policy
        if current is None:
            first = self.policies[0]
            raise NoPolicyInForce(
                f"no policy is in force at {at.isoformat()}; the first takes effect "
                f"{first.effective_from.isoformat()}"
            )
        return current

    def effective_to(self, policy: Policy) -> datetime | None:
        index = self.policies.index(policy)
        if index + 1 < len(self.policies):
            return self.policies[index + 1].effective_from
        return None

    def by_version(self, version: str) -> Policy:
        for policy in self.policies:
            if policy.version == version:
                return policy
        raise InputError(
            "policy",
            f"no policy version '{version}'; known: {', '.join(p.version for p in self.policies)}",
            f"没有政策版本“{version}”",
        )

    def latest(self) -> Policy:
        return self.policies[-1]
