"""Appeals (纠错): a person disputes a colour, a pop-up or a missing badge; a reviewer sees the
automated decision with its reasons and the rows behind it, and upholds it with an override
(a reason and an end date) or rejects it with a reason. Overrides are facts the domain applies,
so they flow into status and check. Response times are measured against the policy's targets."""

from __future__ import annotations

import json
import statistics
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from commutepass.accounts.access import check_citizen_may_see, id_number_of, masked_id
from commutepass.accounts.service import people_of
from commutepass.appeals import repository
from commutepass.checks import service as decide
from commutepass.checks.evidence import evidence
from commutepass.checks.repository import horizon_of_check
from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import Forbidden, InputError
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.roles import Role
from commutepass.domain.workflows import (
    AppealKind,
    AppealState,
    check_appeal_decision,
    override_until,
    require_reason,
)
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.sessions import User
from commutepass.notifications import service as notifications
from commutepass.store.tables import recorded_now


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(BEIJING).isoformat() if value is not None else None


def _row(conn: Connection, appeal_id: int) -> Any:
    row = repository.appeal(conn, appeal_id)
    if row is None:
        raise InputError("appeal_id", f"no appeal {appeal_id}", f"没有编号为 {appeal_id} 的纠错申请")
    return row


def _target_hours(app: App, kind: str, at: datetime) -> float:
    return app.policies.in_force(at).workflows.appeal_target_hours[kind]


def _view(conn: Connection, app: App, row: Any, now: datetime) -> dict[str, Any]:
    target = _target_hours(app, row.kind, row.filed_at)
    answered = row.decided_at or now
    hours = (answered - row.filed_at).total_seconds() / 3600
    return {
        "id": row.id,
        "person": masked_id(conn, row.person_id),
        "kind": row.kind,
        "status": row.status,
        "statement": row.statement,
        "disputed_at": _iso(row.disputed_at),
        "filed_at": _iso(row.filed_at),
        "decided_at": _iso(row.decided_at),
        "response": row.response,
        "target_hours": target,
        "hours_taken" if row.decided_at else "hours_waiting": round(hours, 2),
        "within_target": hours <= target,
    }


CHECK_SLACK = timedelta(minutes=1)
"""How near the disputed time a recorded check must be to be the decision disputed."""


def disputed_horizon(conn: Connection, person_id: int, disputed: datetime) -> datetime:
    """What the system knew when it decided what is disputed: the recorded-time horizon of the
    person's check at that time, else now (a status the person looked up as they filed)."""
    return horizon_of_check(conn, person_id, disputed, CHECK_SLACK) or recorded_now()


COMPARED = ("policy_version", "color", "popup", "commuter_badge", "commuter_class", "nat_valid_until")


def then_and_now(app: App, id_number: str, row: Any) -> dict[str, Any]:
    """The status at the disputed time as the system knew it then (the horizon the decision
    used) and as it knows it now, with the fields that differ (the reviewer's comparison)."""
    then = decide.status_of(app, id_number, row.disputed_at, row.known_at)
    now = decide.status_of(app, id_number, row.disputed_at)
    differences = [
        {"field": name, "then": then[name], "now": now[name]} for name in COMPARED if then[name] != now[name]
    ]
    codes_then = [r["code"] for r in then["reasons"]]
    codes_now = [r["code"] for r in now["reasons"]]
    if codes_then != codes_now:
        differences.append({"field": "reasons", "then": codes_then, "now": codes_now})
    return {
        "known_at": _iso(row.known_at),
        "then": then,
        "now": now,
        "differences": differences,
    }


def file(
    app: App, user: User, id_number: str, kind: AppealKind, statement: str, *, at: datetime | None = None
) -> dict[str, Any]:
    """Record the dispute with a snapshot of the automated decision it disputes."""
    now = app.now()
    disputed = at or now
    reason = require_reason(statement, "statement")
    resident = parse_resident_id(id_number)
    with app.transaction() as conn:
        person_id = app.ensure_person(conn, resident)
        check_citizen_may_see(conn, user, person_id)
        known_at = disputed_horizon(conn, person_id, disputed)
        snapshot = decide.status_of(app, id_number, disputed, known_at)
        appeal_id = repository.add_appeal(
            conn,
            person_id=person_id,
            kind=kind.value,
            status=AppealState.OPEN.value,
            statement=reason,
            disputed_at=disputed,
            snapshot=json.dumps(snapshot, ensure_ascii=False),
            filed_by=user.id,
            filed_at=now,
            known_at=known_at,
        )
        audit.record(
            conn, app, user.actor, "appeal.file", person_id, reason, appeal=appeal_id, kind=kind.value
        )
        return _view(conn, app, _row(conn, appeal_id), now)


def get(app: App, user: User, appeal_id: int) -> dict[str, Any]:
    """A reviewer gets the automated decision, its reasons and the evidence rows (audited); the
    person (or whoever filed it) gets the status, the response and the decision disputed."""
    now = app.now()
    with app.transaction() as conn:
        row = _row(conn, appeal_id)
        view = _view(conn, app, row, now)
        view["automated_decision"] = json.loads(row.snapshot)
        if user.role is Role.REVIEWER:
            view["evidence"] = evidence(conn, app, row.person_id, row.disputed_at)
            view["knowledge"] = then_and_now(app, id_number_of(conn, app, row.person_id), row)
            audit.record(conn, app, user.actor, "appeal.read", row.person_id, "review", appeal=row.id)
            return view
        if row.filed_by == user.id or (user.role is Role.CITIZEN and row.person_id in people_of(conn, user)):
            return view
    raise Forbidden("this appeal is not yours to see", "您无权查看此纠错申请")


def mine(app: App, user: User) -> list[dict[str, Any]]:
    now = app.now()
    with app.engine.connect() as conn:
        rows = repository.appeals_of(conn, people_of(conn, user), user.id)
        return [_view(conn, app, r, now) for r in rows]


def queue(app: App) -> list[dict[str, Any]]:
    """Open appeals, oldest first, each with its target and how long it has waited."""
    now = app.now()
    with app.engine.connect() as conn:
        rows = repository.open_appeals(conn)
        return [_view(conn, app, r, now) for r in rows]


def decide_appeal(
    app: App,
    user: User,
    appeal_id: int,
    outcome: AppealState,
    reason: str,
    *,
    until: date | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or app.now()
    with app.transaction() as conn:
        row = _row(conn, appeal_id)
        why = check_appeal_decision(AppealState(row.status), outcome, reason)
        if outcome is AppealState.OVERRIDDEN:
            if until is None:
                raise InputError("until", "an override needs an end date", "人工更正须有截止日期")
            repository.add_override(
                conn,
                person_id=row.person_id,
                appeal_id=row.id,
                field=row.kind,
                valid_from=now,
                valid_to=override_until(until, now),
                reason=why,
                created_by=user.id,
                created_at=now,
            )
        repository.close_appeal(conn, row.id, outcome, now, user.id, why)
        audit.record(
            conn,
            app,
            user.actor,
            "appeal.decide",
            row.person_id,
            why,
            appeal=row.id,
            outcome=outcome.value,
            until=until.isoformat() if until else None,
        )
        view = _view(conn, app, _row(conn, row.id), now)
    notifications.refresh(app, now=now, person_ids=[row.person_id])  # the appellant is told
    return view


def response_times(app: App) -> list[dict[str, Any]]:
    """Per appeal type: the target, how many were answered and how fast, and how many wait."""
    now = app.now()
    with app.engine.connect() as conn:
        rows = repository.answer_times(conn)
    out = []
    for kind in AppealKind:
        target = _target_hours(app, kind.value, now)
        taken = sorted(
            (r.decided_at - r.filed_at).total_seconds() / 3600
            for r in rows
            if r.kind == kind.value and r.decided_at
        )
        waiting = [now - r.filed_at for r in rows if r.kind == kind.value and r.decided_at is None]
        out.append(
            {
                "kind": kind.value,
                "target_hours": target,
                "answered": len(taken),
                "answered_within_target": sum(1 for h in taken if h <= target),
                "median_hours": round(statistics.median(taken), 2) if taken else None,
                "slowest_hours": round(taken[-1], 2) if taken else None,
                "open": len(waiting),
                "open_past_target": sum(1 for w in waiting if w > timedelta(hours=target)),
            }
        )
    return out
