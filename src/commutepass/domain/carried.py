"""The checkpoint decision from a status carried by a signed code (互认: a Tianjin code in Beijing).

A verifier reading a QR code has no facts about the holder: only the status the issuing region
computed (colour, pop-up, commuter badge, when the NAT stops counting). This applies the policy
in force where the code is checked to that status, with the same decisions, outcomes and reason
codes as ``decide_check``: a red code is refused, a pop-up takes the policy's outcome for that
kind of trip, the rail badge rule and the NAT window apply. What a status cannot tell (a
commuter's first check under the policy, companions of an infant) stays with the ID-card swipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from commutepass.domain.decisions import CheckOutcome, Mode, Reason, Status
from commutepass.domain.policy import Color, CommuterClass, Decision, Policy, RiskOutcome

POPUP_KINDS = {
    "POPUP_TRAVEL_CASE_COUNTY": "case_county",
    "POPUP_TRAVEL_SAME_CITY": "same_city",
    "POPUP_TRAVEL_BORDER_PORT": "border_port",
}
"""Pop-up codes a status may carry, and the kind of risky trip each speaks of."""


@dataclass(frozen=True, slots=True)
class CarriedStatus:
    """What a signed code says about its holder's health code when it was issued."""

    region: str
    """The issuing region (BJ, TJ, HE)."""
    issued_at: datetime
    policy_version: str
    """The policy the issuer assessed the status under."""
    color: Color
    popup: str | None
    commuter_badge: bool
    commuter_class: CommuterClass | None
    nat_valid_until: datetime | None
    masked_id: str
    birth_year: int
    masked_name: str | None = None


def _risk_outcome(policy: Policy, popup: str | None) -> RiskOutcome | None:
    kind = POPUP_KINDS.get(popup or "")
    if kind is None:
        return None
    outcome: RiskOutcome | None = getattr(policy.risk, kind)
    return outcome


def carried_status(carried: CarriedStatus, policy: Policy) -> Status:
    """The carried status as the policy in force shows it, with why."""
    reasons = [
        Reason.of(
            "CARRIED_CODE_" + carried.color.value.upper(),
            region=carried.region,
            issued=carried.issued_at,
            policy=carried.policy_version,
        )
    ]
    if carried.commuter_badge and policy.commuters.badge_enabled:
        until: dict[str, datetime] = {"until": carried.nat_valid_until} if carried.nat_valid_until else {}
        reasons.append(Reason.of("CARRIED_BADGE", **until) if until else Reason.of("CARRIED_BADGE_NO_NAT"))
    return Status(
        policy_version=policy.version,
        color=carried.color,
        popup=carried.popup if carried.popup in POPUP_KINDS else None,
        commuter_badge=carried.commuter_badge and policy.commuters.badge_enabled,
        commuter_class=carried.commuter_class,
        nat_valid_until=carried.nat_valid_until if policy.nat.required_for_entry else None,
        reasons=tuple(reasons),
    )


def decide_carried(carried: CarriedStatus, policy: Policy, at: datetime, *, mode: Mode) -> CheckOutcome:
    """What the checkpoint does with the holder of a valid code at ``at`` under ``policy``."""
    status = carried_status(carried, policy)
    reasons: list[Reason] = []
    manual: list[Reason] = [
        Reason.of("CHECK_HOLDER_ID", masked_id=carried.masked_id, birth_year=carried.birth_year)
    ]

    def done(decision: Decision) -> CheckOutcome:
        if decision is Decision.ALLOW_REPORT:
            manual.append(Reason.of("TELL_REPORT_TO_COMMUNITY"))
        return CheckOutcome(decision, status, tuple(reasons), tuple(manual))

    if carried.color is Color.RED:
        reasons.append(Reason.of("REFUSE_POSITIVE"))
        return done(Decision.REFUSE)
    risk = _risk_outcome(policy, status.popup) if policy.risk.enabled else None
    if risk is not None and risk.decision is Decision.REFUSE:
        reasons.append(Reason.of("REFUSE_RISK_TRAVEL", days=policy.risk.lookback_days))
        return done(Decision.REFUSE)
    commuter = carried.commuter_class is not None
    if not policy.nat.required_for_entry:
        if commuter and policy.commuters.observation_exempt:
            reasons.append(Reason.of("COMMUTER_ROUTINE_PASSAGE"))
            return done(Decision.ALLOW)
        if policy.default_decision is Decision.ALLOW_QUARANTINE:
            reasons.append(Reason.of("OBSERVATION_14D"))
        return done(policy.default_decision)
    after_nat = risk.decision if risk is not None and risk.decision else policy.default_decision
    if commuter and risk is not None and risk.needs_entry_nat:
        # the code carries the commuter's 14-day window, not the entry window that applies now
        reasons.append(Reason.of("COMMUTER_PRIVILEGE_SUSPENDED", hours=policy.nat.entry_window_hours))
        manual.append(Reason.of("CHECK_PAPER_NAT", hours=policy.nat.entry_window_hours))
        return done(Decision.DOCUMENTS)
    if commuter and mode is Mode.RAIL and policy.commuters.rail_badge_only:
        if status.commuter_badge:
            reasons.append(Reason.of("RAIL_BADGE_ONLY"))
            return done(Decision.ALLOW)
        reasons.append(Reason.of("RAIL_DOCUMENTS", days=policy.nat.commuter_valid_days))
        manual.append(Reason.of("CHECK_WORK_PROOF"))
        manual.append(Reason.of("CHECK_PAPER_NAT", hours=policy.nat.commuter_valid_days * 24))
        return done(policy.commuters.rail_without_badge)
    until = carried.nat_valid_until
    if until is None:
        reasons.append(Reason.of("CARRIED_NAT_MISSING"))
        return done(Decision.REFUSE)
    if at >= until:
        reasons.append(Reason.of("CARRIED_NAT_EXPIRED", ended=until))
        return done(Decision.REFUSE)
    reasons.append(Reason.of("CARRIED_NAT_VALID", until=until))
    if after_nat is Decision.ALLOW_REPORT:
        reasons.append(Reason.of("ALLOW_REPORT_TO_COMMUNITY"))
    return done(after_nat)


HCERT_NAAT = "LP6464-4"


@dataclass(frozen=True, slots=True)
class CarriedTest:
    """What a verified EU Digital COVID Certificate says that a checkpoint can use."""

    issuer: str
    """The issuing country (``iss``)."""
    kinds: str
    """``test``, ``vaccination``, ``recovery``."""
    name: str
    birth_date: str
    sampled_at: datetime | None = None
    """The test's sample time; ``None`` for a certificate without a test."""
    result: str = ""
    """``negative``, ``positive`` or the unknown code."""
    test_type: str = ""


def decide_hcert(
    test: CarriedTest, policy: Policy, at: datetime
) -> tuple[Decision, list[Reason], list[Reason]]:
    """Decision, reasons and what to check by hand for the holder of a verified EU certificate.

    Its test is shown; it counts as the entry NAT only when the policy accepts its issuer
    (``hcert.accepted_issuers``) and it is a nucleic-acid test, negative, within the entry window
    from sampling. The certificate carries no health code: the officer checks a green code by
    hand (``documents``); without a NAT that counts, a NAT as well."""
    manual = [Reason.of("CHECK_HCERT_HOLDER", name=test.name or "-", birth_date=test.birth_date or "-")]
    hours = policy.nat.entry_window_hours
    by_hand = [Reason.of("CHECK_PAPER_NAT", hours=hours), Reason.of("CHECK_GREEN_CODE")]
    if test.sampled_at is None:
        return (
            Decision.DOCUMENTS,
            [Reason.of("HCERT_NO_TEST", issuer=test.issuer, kinds=test.kinds)],
            manual + by_hand,
        )
    shown: dict[str, str | datetime] = {
        "issuer": test.issuer,
        "test_type": test.test_type or "-",
        "sampled": test.sampled_at,
    }
    if test.result == "negative":
        reasons = [Reason.of("HCERT_TEST_NEGATIVE", **shown)]
    elif test.result == "positive":
        reasons = [Reason.of("HCERT_TEST_POSITIVE", **shown)]
    else:
        reasons = [Reason.of("HCERT_TEST_UNREADABLE", issuer=test.issuer, result=test.result)]
    if test.issuer not in policy.hcert.accepted_issuers:
        reasons.append(Reason.of("HCERT_ISSUER_NOT_ACCEPTED", issuer=test.issuer))
        return Decision.DOCUMENTS, reasons, manual + by_hand
    if test.test_type != HCERT_NAAT:
        reasons.append(Reason.of("HCERT_NOT_NAAT", test_type=test.test_type or "-"))
        return Decision.DOCUMENTS, reasons, manual + by_hand
    if test.result == "positive":
        reasons.append(Reason.of("REFUSE_POSITIVE"))
        return Decision.REFUSE, reasons, manual
    if test.result != "negative":
        return Decision.DOCUMENTS, reasons, manual + by_hand
    if not policy.nat.required_for_entry:
        if policy.default_decision is Decision.ALLOW_QUARANTINE:
            reasons.append(Reason.of("OBSERVATION_14D"))
        return policy.default_decision, reasons, manual
    until = test.sampled_at + timedelta(hours=hours)
    if at >= until or at < test.sampled_at:
        reasons.append(Reason.of("HCERT_NAT_EXPIRED", ended=until, hours=hours))
        return Decision.REFUSE, reasons, manual
    reasons.append(Reason.of("HCERT_NAT_VALID", until=until, hours=hours))
    return Decision.DOCUMENTS, reasons, [*manual, Reason.of("CHECK_GREEN_CODE")]
