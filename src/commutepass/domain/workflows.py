"""Applications and appeals as pure state machines, and the clocks the people are promised.

Applications (入库申请): submitted → approved | rejected | needs_more, and needs_more → submitted
once the applicant adds what was asked. Appeals (纠错): open → overridden | rejected. Every
transition carries a reason; the functions here decide whether a move is allowed and what the
deadlines are, the services store the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from commutepass.domain.clock import local_date, local_midnight
from commutepass.domain.decisions import Reason
from commutepass.domain.errors import InputError
from commutepass.domain.facts import Source
from commutepass.domain.identity import mask_ids_in_text
from commutepass.domain.policy import Policy


class Channel(StrEnum):
    CHECKPOINT = "checkpoint"  # 检查站现场办理
    HOTLINE = "hotline"  # 12345 热线登记
    ONLINE = "online"  # 网上申请
    COMMUNITY = "community"  # 社区代为申请 (seed 002: "可以找社区处理")


CHANNEL_SOURCE = {
    Channel.CHECKPOINT: Source.APPLICATION,
    Channel.HOTLINE: Source.HOTLINE,
    Channel.ONLINE: Source.APPLICATION,
    Channel.COMMUNITY: Source.APPLICATION,
}
"""The commuter-database source an approved application's entry carries."""


class AppState(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEEDS_MORE = "needs_more"  # 补充材料


APP_TRANSITIONS: dict[AppState, frozenset[AppState]] = {
    AppState.SUBMITTED: frozenset({AppState.APPROVED, AppState.REJECTED, AppState.NEEDS_MORE}),
    AppState.NEEDS_MORE: frozenset({AppState.SUBMITTED}),
    AppState.APPROVED: frozenset(),
    AppState.REJECTED: frozenset(),
}


def check_transition(current: AppState, target: AppState, reason: str) -> str:
    """The cleaned reason; InputError unless ``current → target`` is a move the workflow allows,
    with a reason."""
    if target not in APP_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in APP_TRANSITIONS[current])) or "none (final)"
        raise InputError(
            "status",
            f"an application that is {current.value} cannot become {target.value}; allowed: {allowed}",
            f"申请当前为“{current.value}”，不能改为“{target.value}”；允许：{allowed}",
        )
    return require_reason(reason)


def require_reason(reason: str, field: str = "reason") -> str:
    """A reason or statement, stripped, with any ID number in it masked (never stored raw)."""
    cleaned = mask_ids_in_text(reason.strip())
    if not cleaned:
        raise InputError(field, "is empty: say why", "不能为空：请说明理由")
    if len(cleaned) > 1000:
        raise InputError(field, "is longer than 1000 characters", "超过 1000 个字符")
    return cleaned


def effective_day(decided_at: datetime) -> date:
    """An approval takes effect at 00:00 of the next Beijing day (当日审批、次日入库)."""
    return local_date(decided_at) + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class QueueClock:
    """How long an application has waited and whether the same-day promise is at risk."""

    waited: timedelta
    deadline: datetime
    at_risk: bool
    overdue: bool


def queue_clock(waiting_since: datetime, now: datetime, warn_before: timedelta) -> QueueClock:
    """Decided the same Beijing day it was (re)submitted: the deadline is the next 00:00."""
    deadline = local_midnight(local_date(waiting_since) + timedelta(days=1))
    overdue = now >= deadline
    return QueueClock(now - waiting_since, deadline, overdue or deadline - now <= warn_before, overdue)


class AppealKind(StrEnum):
    COLOR = "color"  # the code's colour (红码/黄码)
    POPUP = "popup"  # a pop-up (弹窗)
    BADGE = "badge"  # a missing 通勤 badge


class AppealState(StrEnum):
    OPEN = "open"
    OVERRIDDEN = "overridden"
    REJECTED = "rejected"


OVERRIDE_VALUE = {AppealKind.COLOR: "green", AppealKind.POPUP: "none", AppealKind.BADGE: "commuter"}
"""What an upheld appeal restores: a green code, no pop-up, commuter standing."""


def check_appeal_decision(state: AppealState, target: AppealState, reason: str) -> str:
    """The cleaned reason; InputError unless an open appeal is being decided, with a reason."""
    if state is not AppealState.OPEN:
        raise InputError(
            "status",
            f"the appeal was already decided ({state.value})",
            f"该纠错申请已处理（{state.value}）",
        )
    if target is AppealState.OPEN:
        raise InputError("outcome", "must be overridden or rejected", "须为 overridden 或 rejected")
    return require_reason(reason)


def override_until(end_day: date, now: datetime) -> datetime:
    """An override ends at 00:00 after its end date, which may not lie in the past."""
    if end_day < local_date(now):
        raise InputError(
            "until",
            f"{end_day.isoformat()} is in the past",
            f"{end_day.isoformat()} 已经过去",
        )
    return local_midnight(end_day + timedelta(days=1))


MISSING_DOCUMENT_CODE = {
    "id_card": "APP_MISSING_ID_CARD",
    "work_proof": "APP_MISSING_WORK_PROOF",
    "residence_proof": "APP_MISSING_RESIDENCE_PROOF",
    "nat_proof": "APP_MISSING_NAT_PROOF",
    "other": "APP_MISSING_OTHER",
}
"""The reason code that names each missing document kind."""


def missing_for_approval(
    policy: Policy, home_county: str | None, work_county: str | None, document_kinds: Iterable[str]
) -> list[Reason]:
    """What an application still lacks before it may be approved, as the policy names it: the two
    ends of the commute (a ring-area county at one, Beijing at the other, home or work either
    way round) and the required documents. Empty: nothing is missing."""
    rules = policy.applications
    missing: list[Reason] = []
    if rules.require_ends:
        ring, beijing = policy.ring_area.contains, rules.in_beijing
        forward = bool(home_county and work_county and ring(home_county) and beijing(work_county))
        reverse = bool(home_county and work_county and beijing(home_county) and ring(work_county))
        if not (forward or reverse):
            if home_county is None:
                missing.append(Reason.of("APP_MISSING_HOME_COUNTY"))
            if work_county is None:
                missing.append(Reason.of("APP_MISSING_WORK_COUNTY"))
            given = [c for c in (home_county, work_county) if c]
            if not any(ring(c) for c in given) and (len(given) == 2 or any(not beijing(c) for c in given)):
                missing.append(Reason.of("APP_NO_RING_END"))
            elif len(given) == 2 and not any(beijing(c) for c in given):
                missing.append(Reason.of("APP_NO_BEIJING_END"))
    have = set(document_kinds)
    missing += [Reason.of(MISSING_DOCUMENT_CODE[k]) for k in rules.required_documents if k not in have]
    return missing
