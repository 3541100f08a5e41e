"""The decisions: a person's health-code status and the checkpoint decision, as pure functions.

Everything here is computed from a policy, the facts of one person (and of companions) and
the risk map. Each outcome carries reason codes with the facts that produced it, so the
explanation (``reasons.py``) can tell the person what applies, why, and what to do now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from commutepass.domain.clock import fmt_local, local_date, local_midnight
from commutepass.domain.facts import (
    Membership,
    NatResult,
    Override,
    PersonFacts,
    RiskLevel,
    RiskMap,
    Source,
    Visit,
)
from commutepass.domain.identity import age_on
from commutepass.domain.policy import Color, CommuterClass, Decision, Policy, RiskOutcome
from commutepass.domain.regions import RegionCatalog


class Mode(StrEnum):
    ROAD = "road"  # a road checkpoint into Beijing (进京检查站): the ID card is swiped
    RAIL = "rail"  # a rail station outside Beijing selling tickets to Beijing (远端查验)
    AIR = "air"  # an airport with flights to Beijing: the 48 h rule for everyone, no commuter path


ParamValue = str | int | date | datetime


@dataclass(frozen=True, slots=True)
class Pledge:
    """What the officer records from the sampling slip of a person who signs the pledge."""

    site: str
    sampled_at: datetime


def _display(value: ParamValue) -> str:
    if isinstance(value, datetime):
        return fmt_local(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True, slots=True)
class Reason:
    """A stable reason code and the facts it speaks of (times, days, places, counts).

    Values stay typed until shown: formatting is the explanation's job, not the decision's."""

    code: str
    params: tuple[tuple[str, ParamValue], ...] = ()

    @classmethod
    def of(cls, code: str, **params: ParamValue) -> Reason:
        return cls(code, tuple(params.items()))

    @property
    def values(self) -> dict[str, str]:
        """The parameters as display strings (Beijing time, ISO dates)."""
        return {name: _display(value) for name, value in self.params}


@dataclass(frozen=True, slots=True)
class Status:
    """The health code at a moment (北京健康宝)."""

    policy_version: str
    color: Color
    popup: str | None
    """Pop-up code (弹窗) or None."""
    commuter_badge: bool
    commuter_class: CommuterClass | None
    nat_valid_until: datetime | None
    """When the NAT that matters for this person stops counting (for the countdown)."""
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    decision: Decision
    status: Status
    reasons: tuple[Reason, ...]
    """Why this decision, in the order the rules were applied; status reasons not repeated."""
    manual_checks: tuple[Reason, ...] = ()
    """What the officer checks by hand (work proof, a paper NAT, the companions)."""


@dataclass(frozen=True, slots=True)
class Companion:
    """A person travelling with an infant: their masked ID and facts."""

    masked_id: str
    facts: PersonFacts


_SEVERITY = {Color.GREEN: 0, Color.YELLOW: 1, Color.RED: 2}


@dataclass(frozen=True, slots=True)
class _RiskHit:
    kind: str  # case_county | same_city | border_port
    visit: Visit
    risk_county: str
    outcome: RiskOutcome


@dataclass(slots=True)
class _Assessment:
    """Intermediate results shared by status and check (computed once per person and moment)."""

    policy: Policy
    at: datetime
    positive: NatResult | None = None
    hits: list[_RiskHit] = field(default_factory=list)
    entry_nat: NatResult | None = None
    entry_nat_until: datetime | None = None
    commuter_nat: NatResult | None = None
    commuter_nat_until: datetime | None = None
    latest_negative: NatResult | None = None
    member: Membership | None = None
    lapsed: bool = False
    overrides: list[Override] = field(default_factory=list)


def _place(catalog: RegionCatalog, code: str) -> str:
    county = catalog.get(code)
    return f"{county.full_name}（{code}）" if county else code


def entry_nat_window(nat: NatResult, policy: Policy) -> datetime:
    """When a NAT stops counting for ordinary entry (48 h from sampling by default)."""
    start = nat.sampled_at if policy.nat.entry_window_from == "sampled_at" else nat.reported_at
    return start + timedelta(hours=policy.nat.entry_window_hours)


def commuter_nat_window(nat: NatResult, policy: Policy) -> datetime:
    """When a NAT stops counting for a commuter: 00:00 on report date + N days.

    Reported on 11-09 with N = 14: counts through 11-22, stops at 11-23 00:00.
    """
    return local_midnight(local_date(nat.reported_at) + timedelta(days=policy.nat.commuter_valid_days))


def _assess(
    facts: PersonFacts, policy: Policy, at: datetime, risk: RiskMap, catalog: RegionCatalog
) -> _Assessment:
    result = _Assessment(policy=policy, at=at)
    red_since = at - timedelta(days=policy.nat.positive_red_days)
    from_sampling = policy.nat.entry_window_from == "sampled_at"
    entry_best: NatResult | None = None
    for nat in facts.nats:
        if nat.reported_at > at:
            continue
        if nat.positive:
            if nat.sampled_at >= red_since and (
                result.positive is None or nat.sampled_at > result.positive.sampled_at
            ):
                result.positive = nat
            continue
        # the latest report gives the longest commuter validity; the latest start the longest entry window
        if result.latest_negative is None or nat.reported_at > result.latest_negative.reported_at:
            result.latest_negative = nat
        start = nat.sampled_at if from_sampling else nat.reported_at
        if start <= at and (
            entry_best is None or start > (entry_best.sampled_at if from_sampling else entry_best.reported_at)
        ):
            entry_best = nat
    if entry_best is not None:
        until = entry_nat_window(entry_best, policy)
        if at <= until:
            result.entry_nat, result.entry_nat_until = entry_best, until
    if result.latest_negative is not None:
        until = commuter_nat_window(result.latest_negative, policy)
        if at < until:
            result.commuter_nat, result.commuter_nat_until = result.latest_negative, until
    if policy.risk.enabled and risk.unit_of and facts.visits:
        result.hits = _risk_hits(facts.visits, policy, at, risk, catalog)
    result.member = facts.membership
    if result.member is not None:
        result.lapsed = _lapsed(result.member, facts, policy, at)
    _apply_overrides(result, facts.overrides, at)
    return result


def _apply_overrides(a: _Assessment, overrides: Sequence[Override], at: datetime) -> None:
    """A reviewer upheld an appeal: the disputed facts stop counting until the override ends."""
    for override in overrides:
        if not override.valid_from <= at < override.valid_to:
            continue
        a.overrides.append(override)
        if override.field == "color":
            a.positive = None
            a.hits = []
        elif override.field == "popup":
            a.hits = []
        elif override.field == "badge":
            a.lapsed = False
            if a.member is None:
                a.member = Membership(CommuterClass.DAILY, Source.MANUAL, override.valid_from)


_OVERRIDE_CODES = {"color": "OVERRIDE_COLOR", "popup": "OVERRIDE_POPUP", "badge": "OVERRIDE_BADGE"}


def _override_reasons(a: _Assessment) -> list[Reason]:
    return [
        Reason.of(
            _OVERRIDE_CODES[o.field],
            reason=o.reason,
            since=o.valid_from,
            until=o.valid_to,
            appeal=o.appeal_id if o.appeal_id is not None else "-",
        )
        for o in a.overrides
    ]


def _risk_hits(
    visits: Sequence[Visit], policy: Policy, at: datetime, risk: RiskMap, catalog: RegionCatalog
) -> list[_RiskHit]:
    """Trips in the look-back window (today and the N-1 days before) that meet a risk period."""
    rules = policy.risk
    today = local_date(at)
    first_day = today - timedelta(days=rules.lookback_days - 1)
    hits: list[_RiskHit] = []
    for visit in visits:
        unit = risk.unit_of.get(visit.county)
        if unit is None or not first_day <= visit.day <= today or visit.county[:2] in rules.ignore_provinces:
            continue
        # A case found after the visit still counts: the visit may have been an exposure.
        for period in risk.by_county.get(visit.county, ()):
            if period.overlaps(visit.day, today):
                if period.level is RiskLevel.CASE and rules.case_county is not None:
                    hits.append(_RiskHit("case_county", visit, visit.county, rules.case_county))
                elif period.level is RiskLevel.BORDER_PORT and rules.border_port is not None:
                    hits.append(_RiskHit("border_port", visit, visit.county, rules.border_port))
        if rules.same_city is None:
            continue
        for period in risk.cases_by_unit.get(unit, ()):
            if period.county != visit.county and period.overlaps(visit.day, today):
                hits.append(_RiskHit("same_city", visit, period.county, rules.same_city))
                break
    return hits


def _lapsed(member: Membership, facts: PersonFacts, policy: Policy, at: datetime) -> bool:
    """Recent travel no longer fits the commuter rules (the badge lapses by itself)."""
    rules = policy.commuters
    if member.source is not Source.AUTO:
        grace_end = member.valid_from + timedelta(days=rules.application_grace_days)
        if at < grace_end:
            return False
    reference = facts.last_entry_at or member.valid_from
    return at - reference > timedelta(days=rules.lapse_after_days_without_entry)


def _nat_params(nat: NatResult) -> dict[str, ParamValue]:
    return {
        "sampled": nat.sampled_at,
        "reported": nat.reported_at,
        "reported_date": local_date(nat.reported_at),
    }


def _grouped_hits(hits: Sequence[_RiskHit]) -> list[tuple[_RiskHit, Visit, Visit]]:
    """One line per (kind, county, risk county): the first and the last day of the stays."""
    groups: dict[tuple[str, str, str], tuple[_RiskHit, Visit, Visit]] = {}
    for hit in hits:
        key = (hit.kind, hit.visit.county, hit.risk_county)
        if key not in groups:
            groups[key] = (hit, hit.visit, hit.visit)
        else:
            first, firstv, lastv = groups[key]
            groups[key] = (
                first,
                hit.visit if hit.visit.day < firstv.day else firstv,
                hit.visit if hit.visit.day > lastv.day else lastv,
            )
    return list(groups.values())


_POPUP_RANK = {"border_port": 0, "same_city": 1, "case_county": 2}
_HIT_CODES = {
    "case_county": "TRAVEL_CASE_COUNTY",
    "same_city": "TRAVEL_SAME_CITY",
    "border_port": "TRAVEL_BORDER_PORT",
}


def _color_and_popup(a: _Assessment, catalog: RegionCatalog) -> tuple[Color, str | None, list[Reason]]:
    reasons: list[Reason] = []
    color = Color.GREEN
    popup: str | None = None
    if a.positive is not None:
        color = Color.RED
        reasons.append(
            Reason.of(
                "NAT_POSITIVE",
                **_nat_params(a.positive),
                red_until=a.positive.sampled_at + timedelta(days=a.policy.nat.positive_red_days),
            )
        )
    popup_rank = -1
    for hit, first, last in _grouped_hits(a.hits):
        code = _HIT_CODES[hit.kind]
        reasons.append(
            Reason.of(
                code,
                place=_place(catalog, hit.visit.county),
                first_day=first.day,
                last_day=last.day,
                risk_place=_place(catalog, hit.risk_county),
                until=last.day + timedelta(days=a.policy.risk.lookback_days),
            )
        )
        if _SEVERITY[hit.outcome.color] > _SEVERITY[color]:
            color = hit.outcome.color
        # the pop-up speaks of the most severe trip, whatever the order of the visits
        if hit.outcome.popup and _POPUP_RANK[hit.kind] > popup_rank:
            popup, popup_rank = "POPUP_" + code, _POPUP_RANK[hit.kind]
    if not reasons:
        reasons.append(Reason.of("CODE_GREEN"))
    return color, popup, reasons


def _badge(a: _Assessment, color: Color, popup: str | None) -> tuple[bool, list[Reason]]:
    policy = a.policy
    member = a.member
    if member is None:
        return False, [Reason.of("NOT_IN_COMMUTER_DB")] if policy.commuters.badge_enabled else []
    since: dict[str, ParamValue] = {"since": local_date(member.valid_from), "source": member.source.value}
    reasons = [Reason.of("IN_COMMUTER_DB", commuter_class=member.commuter_class.value, **since)]
    if not policy.commuters.badge_enabled:
        return False, reasons
    if a.lapsed:
        reasons.append(
            Reason.of("COMMUTER_PATTERN_LAPSED", days=policy.commuters.lapse_after_days_without_entry)
        )
        return False, reasons
    suspending = [h for h in a.hits if h.kind in ("case_county", "border_port")]
    if suspending or color is not Color.GREEN or popup is not None:
        reasons.append(Reason.of("BADGE_SUSPENDED_RISK"))
        return False, reasons
    if a.commuter_nat is None or a.commuter_nat_until is None:
        if a.latest_negative is not None:
            ended = commuter_nat_window(a.latest_negative, policy)
            reasons.append(Reason.of("BADGE_NAT_EXPIRED", **_nat_params(a.latest_negative), ended=ended))
        else:
            reasons.append(Reason.of("BADGE_NO_NAT", days=policy.nat.commuter_valid_days))
        return False, reasons
    reasons.append(Reason.of("BADGE_SHOWN", **_nat_params(a.commuter_nat), until=a.commuter_nat_until))
    return True, reasons


def _status(a: _Assessment, catalog: RegionCatalog) -> Status:
    color, popup, reasons = _color_and_popup(a, catalog)
    badge, badge_reasons = _badge(a, color, popup)
    reasons[:0] = _override_reasons(a)
    reasons.extend(badge_reasons)
    privileged = a.member is not None and not a.lapsed and a.policy.commuters.badge_enabled
    until = a.commuter_nat_until if privileged else a.entry_nat_until
    return Status(
        policy_version=a.policy.version,
        color=color,
        popup=popup,
        commuter_badge=badge,
        commuter_class=a.member.commuter_class if a.member else None,
        nat_valid_until=until if a.policy.nat.required_for_entry else None,
        reasons=tuple(reasons),
    )


def assess_status(
    facts: PersonFacts, policy: Policy, at: datetime, risk: RiskMap, catalog: RegionCatalog
) -> Status:
    """The person's health code at ``at`` under ``policy``."""
    return _status(_assess(facts, policy, at, risk, catalog), catalog)


def _entry_nat_reason(a: _Assessment) -> tuple[bool, Reason]:
    """Is there a negative NAT inside the entry window (48 h)? With the reason either way."""
    hours = a.policy.nat.entry_window_hours
    if a.entry_nat is not None and a.entry_nat_until is not None:
        return True, Reason.of(
            "NAT_ENTRY_VALID",
            hours=hours,
            **_nat_params(a.entry_nat),
            until=a.entry_nat_until,
        )
    if a.latest_negative is not None:
        ended = entry_nat_window(a.latest_negative, a.policy)
        return False, Reason.of(
            "NAT_ENTRY_EXPIRED",
            hours=hours,
            **_nat_params(a.latest_negative),
            ended=ended,
        )
    return False, Reason.of("NAT_ENTRY_MISSING", hours=hours)


def _pledge_reason(
    pledge: Pledge, facts: PersonFacts, policy: Policy, at: datetime, mode: Mode
) -> tuple[bool, Reason]:
    """Is this pending sample accepted for the pledge (seed 003)? With the reason either way."""
    rules = policy.pledge
    hours = rules.pending_hours
    params: dict[str, ParamValue] = {"site": pledge.site, "sampled": pledge.sampled_at, "hours": hours}
    if not rules.enabled:
        return False, Reason.of("PLEDGE_NOT_IN_POLICY")
    if mode is not Mode.ROAD:
        return False, Reason.of("PLEDGE_ROAD_ONLY")
    if pledge.site not in rules.sites:
        return False, Reason.of("PLEDGE_SITE_NOT_LISTED", **params)
    if pledge.sampled_at > at or at - pledge.sampled_at > timedelta(hours=hours):
        return False, Reason.of("PLEDGE_SAMPLE_TOO_OLD", **params)
    if any(n.sampled_at >= pledge.sampled_at and n.reported_at <= at for n in facts.nats):
        return False, Reason.of("PLEDGE_RESULT_ALREADY_IN", **params)
    return True, Reason.of("PLEDGE_ACCEPTED", **params)


def _companions_decision(
    companions: Sequence[Companion],
    policy: Policy,
    at: datetime,
    risk: RiskMap,
    catalog: RegionCatalog,
) -> tuple[Decision, list[Reason], list[Reason]]:
    age = policy.special.infant_max_age
    if not companions:
        return Decision.REFUSE, [Reason.of("INFANT_NEEDS_COMPANION", age=age)], []
    reasons = [Reason.of("INFANT_COMPANIONS_CHECKED", age=age)]
    decision = Decision.ALLOW
    for companion in companions:
        ca = _assess(companion.facts, policy, at, risk, catalog)
        if ca.positive is not None:
            decision = Decision.REFUSE
            reasons.append(Reason.of("COMPANION_NAT_POSITIVE", companion=companion.masked_id))
            continue
        ok, nat_reason = _entry_nat_reason(ca)
        if not ok:
            decision = Decision.REFUSE
            reasons.append(
                Reason.of(
                    "COMPANION_NAT_MISSING",
                    companion=companion.masked_id,
                    hours=policy.nat.entry_window_hours,
                )
            )
        else:
            reasons.append(
                Reason.of("COMPANION_NAT_VALID", companion=companion.masked_id, **nat_reason.values)
            )
    return decision, reasons, [Reason.of("CHECK_COMPANIONS", count=len(companions))]


def decide_check(
    facts: PersonFacts,
    policy: Policy,
    at: datetime,
    risk: RiskMap,
    catalog: RegionCatalog,
    *,
    mode: Mode,
    smartphone: bool = True,
    companions: Sequence[Companion] = (),
    pledge: Pledge | None = None,
) -> CheckOutcome:
    """What the checkpoint does with this person at ``at`` (entry into Beijing)."""
    a = _assess(facts, policy, at, risk, catalog)
    status = _status(a, catalog)
    reasons: list[Reason] = []
    manual: list[Reason] = []

    def done(decision: Decision) -> CheckOutcome:
        if decision is Decision.ALLOW_REPORT:
            manual.append(Reason.of("TELL_REPORT_TO_COMMUNITY"))
        return CheckOutcome(decision, status, tuple(reasons), tuple(manual))

    def refused_for_want_of_a_test() -> CheckOutcome:
        """No test that counts: the pledge, when the person brings one that is accepted."""
        if pledge is not None:
            accepted, why = _pledge_reason(pledge, facts, policy, at, mode)
            reasons.append(why)
            if accepted:
                manual.append(Reason.of("CHECK_SAMPLING_SLIP", site=pledge.site, sampled=pledge.sampled_at))
                manual.append(Reason.of("CHECK_PLEDGE_FORM"))
                return done(Decision.ALLOW_PLEDGE)
        return done(Decision.REFUSE)

    special = policy.special
    age = age_on(facts.birth_date, local_date(at))
    if policy.nat.required_for_entry and age <= special.infant_max_age:
        decision, infant_reasons, infant_manual = _companions_decision(companions, policy, at, risk, catalog)
        reasons.extend(infant_reasons)
        manual.extend(infant_manual)
        return done(decision)

    relaxed = False
    if not smartphone:
        if special.no_smartphone_nat_only and policy.nat.required_for_entry:
            relaxed = True
            reasons.append(Reason.of("NO_SMARTPHONE_NAT_ONLY", hours=policy.nat.entry_window_hours))
            if special.child_max_age < age < special.elderly_min_age:
                manual.append(Reason.of("CONFIRM_NO_SMARTPHONE_GROUP", age=age))
            manual.append(Reason.of("CHECK_PAPER_NAT", hours=policy.nat.entry_window_hours))
        else:
            reasons.append(Reason.of("NO_SMARTPHONE_NOT_APPLICABLE"))

    if status.color is Color.RED:
        reasons.append(Reason.of("REFUSE_POSITIVE"))
        return done(Decision.REFUSE)

    refusing = [h for h in a.hits if h.outcome.decision is Decision.REFUSE]
    if refusing:
        reasons.append(Reason.of("REFUSE_RISK_TRAVEL", days=policy.risk.lookback_days))
        return done(Decision.REFUSE)

    member = a.member
    privileged = member is not None and not a.lapsed
    if member is not None and mode is Mode.AIR and policy.nat.required_for_entry:
        # nobody commutes by air: the ordinary entry rules apply to everyone
        reasons.append(Reason.of("AIR_NO_COMMUTER_PATH", hours=policy.nat.entry_window_hours))
        privileged = False
    elif member is not None and a.lapsed:
        reasons.append(
            Reason.of("COMMUTER_PATTERN_LAPSED", days=policy.commuters.lapse_after_days_without_entry)
        )
    after_nat = next((h.outcome.decision for h in a.hits if h.outcome.decision), policy.default_decision)

    if relaxed:
        # No code to show: a NAT within the entry window is enough. Failing that, a commuter at a
        # road checkpoint is still recognised by the ID-card swipe, which needs no phone.
        ok, nat_reason = _entry_nat_reason(a)
        reasons.append(nat_reason)
        if ok:
            return done(after_nat)
        if not (privileged and mode is Mode.ROAD and not a.hits):
            return done(Decision.REFUSE)
        reasons.append(Reason.of("NO_SMARTPHONE_COMMUTER_ID_SWIPE"))

    if not policy.nat.required_for_entry:
        if privileged and policy.commuters.observation_exempt:
            reasons.append(Reason.of("COMMUTER_ROUTINE_PASSAGE"))
            return done(Decision.ALLOW)
        if policy.default_decision is Decision.ALLOW_QUARANTINE:
            reasons.append(Reason.of("OBSERVATION_14D"))
        return done(policy.default_decision)

    suspended = [h for h in a.hits if h.outcome.needs_entry_nat]
    if privileged and suspended:
        reasons.append(Reason.of("COMMUTER_PRIVILEGE_SUSPENDED", hours=policy.nat.entry_window_hours))
        privileged = False

    if privileged and mode is Mode.RAIL and policy.commuters.rail_badge_only:
        if status.commuter_badge:
            reasons.append(Reason.of("RAIL_BADGE_ONLY"))
            return done(Decision.ALLOW)
        reasons.append(Reason.of("RAIL_DOCUMENTS", days=policy.nat.commuter_valid_days))
        manual.append(Reason.of("CHECK_WORK_PROOF"))
        manual.append(Reason.of("CHECK_PAPER_NAT", hours=policy.nat.commuter_valid_days * 24))
        manual.append(Reason.of("CHECK_GREEN_CODE"))
        return done(policy.commuters.rail_without_badge)

    if privileged and not (policy.commuters.first_check_needs_entry_nat and not facts.entered_under_policy):
        if a.commuter_nat is not None and a.commuter_nat_until is not None:
            reasons.append(
                Reason.of(
                    "COMMUTER_NAT_VALID",
                    days=policy.nat.commuter_valid_days,
                    **_nat_params(a.commuter_nat),
                    until=a.commuter_nat_until,
                )
            )
            return done(after_nat)
        if a.latest_negative is not None:
            ended = commuter_nat_window(a.latest_negative, policy)
            reasons.append(
                Reason.of(
                    "COMMUTER_NAT_EXPIRED",
                    days=policy.nat.commuter_valid_days,
                    **_nat_params(a.latest_negative),
                    ended=ended,
                )
            )
        else:
            reasons.append(Reason.of("COMMUTER_NAT_MISSING", days=policy.nat.commuter_valid_days))
        return refused_for_want_of_a_test()

    if privileged:
        reasons.append(
            Reason.of(
                "COMMUTER_FIRST_CHECK",
                hours=policy.nat.entry_window_hours,
                since=policy.effective_from,
            )
        )
    ok, nat_reason = _entry_nat_reason(a)
    reasons.append(nat_reason)
    if (
        not ok
        and mode is Mode.RAIL
        and policy.commuters.rail_three_proofs
        and a.commuter_nat is not None
        and a.commuter_nat_until is not None
        and not a.hits
    ):
        # seed 001 Q4: a ring-area commuter not (yet) in the database passes a rail station on
        # three proofs: work proof, a negative test within the commuter window and a green code
        reasons.append(
            Reason.of(
                "RAIL_THREE_PROOFS",
                days=policy.nat.commuter_valid_days,
                **_nat_params(a.commuter_nat),
                until=a.commuter_nat_until,
            )
        )
        manual.append(Reason.of("CHECK_RING_COMMUTE"))
        manual.append(Reason.of("CHECK_WORK_PROOF"))
        manual.append(Reason.of("CHECK_PAPER_NAT", hours=policy.nat.commuter_valid_days * 24))
        manual.append(Reason.of("CHECK_GREEN_CODE"))
        return done(Decision.DOCUMENTS)
    if not ok:
        return refused_for_want_of_a_test()
    if after_nat is Decision.ALLOW_REPORT:
        reasons.append(Reason.of("ALLOW_REPORT_TO_COMMUNITY"))
    return done(after_nat)
