"""Applications to the commuter database (入库申请) at a checkpoint, through the 12345 hotline or
online: documents, the reviewer's queue with its same-day clock, decisions with reasons, and
approval into the database from 00:00 the next Beijing day."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from commutepass.accounts.access import check_citizen_may_see, id_number_of, masked_id
from commutepass.accounts.service import people_of
from commutepass.applications import documents, repository
from commutepass.commuters.service import add_commuter
from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import Forbidden, InputError
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.policy import CommuterClass, Policy
from commutepass.domain.reasons import reason_json, render
from commutepass.domain.roles import Role
from commutepass.domain.workflows import (
    CHANNEL_SOURCE,
    AppState,
    Channel,
    check_transition,
    effective_day,
    missing_for_approval,
    queue_clock,
    require_reason,
)
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.sessions import User
from commutepass.notifications import service as notifications

ROLE_CHANNEL = {
    Role.OFFICER: Channel.CHECKPOINT,
    Role.HOTLINE: Channel.HOTLINE,
    Role.CITIZEN: Channel.ONLINE,
    Role.COMMUNITY: Channel.COMMUNITY,
}
"""Where an application comes in is who registers it; a reviewer names the channel. A community
worker (社区工作人员) submits for residents and sees only what they submitted."""

OPEN_STATES = (AppState.SUBMITTED.value, AppState.NEEDS_MORE.value)


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(BEIJING).isoformat() if value is not None else None


def _not_found(application_id: int) -> InputError:
    return InputError(
        "application_id", f"no application {application_id}", f"没有编号为 {application_id} 的申请"
    )


def _row(conn: Connection, application_id: int) -> Any:
    row = repository.application(conn, application_id)
    if row is None:
        raise _not_found(application_id)
    return row


def _may_see(conn: Connection, user: User, row: Any) -> None:
    if user.role is Role.REVIEWER or row.submitted_by == user.id:
        return
    if user.role is Role.CITIZEN and row.person_id in people_of(conn, user):
        return
    raise Forbidden("this application is not yours to see", "您无权查看此申请")


def _event(
    conn: Connection, application_id: int, old: str | None, new: str, reason: str, user: User, at: datetime
) -> None:
    repository.add_event(conn, application_id, old, new, reason, user.id, at)


def submit(
    app: App,
    user: User,
    id_number: str,
    *,
    statement: str,
    commuter_class: CommuterClass = CommuterClass.DAILY,
    home_county: str | None = None,
    work_county: str | None = None,
    channel: Channel | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or app.now()
    resident = parse_resident_id(id_number)
    chosen = (
        ROLE_CHANNEL.get(user.role) if user.role is not Role.REVIEWER else (channel or Channel.CHECKPOINT)
    )
    if chosen is None:
        raise Forbidden("this role does not register applications", "此角色不能登记申请")
    if channel is not None and channel is not chosen:
        raise InputError(
            "channel",
            f"a {user.role.value} registers {chosen.value} applications",
            f"该角色只能登记 {chosen.value} 渠道的申请",
        )
    reason = require_reason(statement, "statement")
    for field, code in (("home_county", home_county), ("work_county", work_county)):
        if code is not None:
            app.catalog.county(code, field)  # a county that exists; which end is which: at approval
    with app.transaction() as conn:
        person_id = app.ensure_person(conn, resident)
        check_citizen_may_see(conn, user, person_id)
        waiting = repository.open_application_of(conn, person_id, OPEN_STATES)
        if waiting is not None:
            raise InputError(
                "id_number",
                f"application {waiting} for this person is still open",
                f"此人已有未办结的申请（编号 {waiting}）",
            )
        application_id = repository.add_application(
            conn,
            person_id=person_id,
            channel=chosen.value,
            status=AppState.SUBMITTED.value,
            reason=reason,
            commuter_class=commuter_class.value,
            home_county=home_county,
            work_county=work_county,
            submitted_by=user.id,
            submitted_at=now,
            waiting_since=now,
        )
        _event(conn, application_id, None, AppState.SUBMITTED.value, reason, user, now)
        audit.record(
            conn,
            app,
            user.actor,
            "application.submit",
            person_id,
            reason,
            application=application_id,
            channel=chosen.value,
        )
        return _view(conn, _row(conn, application_id), now, app.policies.in_force(now))


def missing_items(policy: Policy, row: Any, document_kinds: list[str]) -> list[dict[str, object]]:
    """What the application still lacks before approval (the policy's [applications] rules), each
    with its remedy in both languages: shown to the reviewer and the applicant alike."""
    found = missing_for_approval(policy, row.home_county, row.work_county, document_kinds)
    return [reason_json(render(r, policy)) for r in found]


def _view(
    conn: Connection, row: Any, now: datetime, policy: Policy, *, history: bool = True
) -> dict[str, Any]:
    docs = repository.documents_of(conn, row.id)
    view: dict[str, Any] = {
        "id": row.id,
        "person": masked_id(conn, row.person_id),
        "channel": row.channel,
        "status": row.status,
        "reason": row.reason,
        "commuter_class": row.commuter_class,
        "home_county": row.home_county,
        "work_county": row.work_county,
        "submitted_at": _iso(row.submitted_at),
        "decided_at": _iso(row.decided_at),
        "effective_from": _iso(row.effective_from),
        "missing": missing_items(policy, row, [d.kind for d in docs]) if row.status in OPEN_STATES else [],
    }
    if history:
        events = repository.events_of(conn, row.id)
        view["history"] = [
            {"from": e.from_status, "to": e.to_status, "reason": e.reason, "at": _iso(e.at)} for e in events
        ]
        view["documents"] = [
            {
                "kind": d.kind,
                "sha256": d.sha256,
                "media_type": d.media_type,
                "size": d.size,
                "uploaded_at": _iso(d.uploaded_at),
            }
            for d in docs
        ]
    return view


def get(app: App, user: User, application_id: int) -> dict[str, Any]:
    with app.transaction() as conn:
        row = _row(conn, application_id)
        _may_see(conn, user, row)
        if user.role is Role.REVIEWER:
            audit.record(
                conn, app, user.actor, "application.read", row.person_id, "review", application=row.id
            )
        return _view(conn, row, app.now(), app.policies.in_force(app.now()))


def mine(app: App, user: User) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = repository.applications_of(conn, people_of(conn, user), user.id)
        now = app.now()
        return [_view(conn, r, now, app.policies.in_force(now), history=False) for r in rows]


def add_document(
    app: App, user: User, application_id: int, kind: str, content: bytes, *, now: datetime | None = None
) -> dict[str, Any]:
    now = now or app.now()
    documents.check_kind(kind)
    with app.engine.connect() as conn:
        row = _row(conn, application_id)
        _may_see(conn, user, row)
    if row.status not in OPEN_STATES:
        raise InputError(
            "application_id", f"the application is already {row.status}", f"申请已办结（{row.status}）"
        )
    stored = documents.store(app.settings.data_dir, content)
    with app.transaction() as conn:
        exists = repository.document(conn, application_id, stored.sha256)
        if exists is None:
            repository.add_document(
                conn,
                application_id=application_id,
                kind=kind,
                sha256=stored.sha256,
                media_type=stored.media_type,
                size=stored.size,
                uploaded_by=user.id,
                uploaded_at=now,
            )
        audit.record(
            conn,
            app,
            user.actor,
            "application.document",
            row.person_id,
            kind,
            application=application_id,
            sha256=stored.sha256,
        )
    return {
        "kind": kind,
        "sha256": stored.sha256,
        "media_type": stored.media_type,
        "size": stored.size,
        "new": exists is None,
    }


def document(app: App, user: User, application_id: int, sha256: str) -> tuple[bytes, str]:
    with app.transaction() as conn:
        row = _row(conn, application_id)
        _may_see(conn, user, row)
        doc = repository.document(conn, application_id, sha256)
        if doc is None:
            raise InputError("sha256", "no such document on this application", "此申请没有该材料")
        audit.record(
            conn,
            app,
            user.actor,
            "application.document.read",
            row.person_id,
            "review",
            application=application_id,
            sha256=sha256,
        )
    return documents.read(app.settings.data_dir, sha256), str(doc.media_type)


def queue(app: App, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Applications waiting for a decision, longest-waiting first, with the same-day clock."""
    now = now or app.now()
    with app.engine.connect() as conn:
        rows = repository.waiting(conn)
        out = []
        for row in rows:
            warn = timedelta(hours=app.policies.in_force(now).workflows.application_warn_hours)
            clock = queue_clock(row.waiting_since, now, warn)
            out.append(
                {
                    **_view(conn, row, now, app.policies.in_force(now), history=False),
                    "waiting_minutes": int(clock.waited.total_seconds() // 60),
                    "deadline": _iso(clock.deadline),
                    "at_risk": clock.at_risk,
                    "overdue": clock.overdue,
                }
            )
    return out


def decide(
    app: App, user: User, application_id: int, target: AppState, reason: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """A reviewer's decision. Approval enrols the person from 00:00 the next Beijing day, in the
    same transaction as the decision."""
    now = now or app.now()
    with app.transaction() as conn:
        row = _row(conn, application_id)
        why = check_transition(AppState(row.status), target, reason)
        values: dict[str, Any] = {
            "status": target.value,
            "reason": why,
            "decided_at": now,
            "decided_by": user.id,
        }
        if target is AppState.APPROVED:
            policy = app.policies.in_force(now)
            kinds = [d.kind for d in repository.documents_of(conn, row.id)]
            missing = missing_items(policy, row, kinds)
            if missing:
                raise InputError(
                    "status",
                    "cannot approve, the application still lacks: "
                    + "; ".join(str(m["en"]) for m in missing)
                    + " (ask for more instead)",
                    "尚不能批准，申请仍缺少："
                    + "".join(str(m["zh"]) for m in missing)
                    + "（可要求补充材料）",
                )
            ring_end = row.home_county
            if row.home_county and policy.applications.in_beijing(row.home_county):
                ring_end = row.work_county  # a reverse commuter: the entry names the ring-area end
            since = effective_day(now)
            entry = add_commuter(
                app,
                id_number_of(conn, app, row.person_id),
                since=since,
                source=CHANNEL_SOURCE[Channel(row.channel)],
                commuter_class=CommuterClass(row.commuter_class),
                home_county=ring_end,
                reason=f"application {row.id} ({row.channel}) approved: {why}",
                by=user.actor,
                conn=conn,
            )
            values["effective_from"] = datetime.fromisoformat(entry["valid_from"])
        repository.set_application(conn, row.id, row.status, **values)
        _event(conn, row.id, row.status, target.value, why, user, now)
        audit.record(
            conn,
            app,
            user.actor,
            "application.decide",
            row.person_id,
            why,
            application=row.id,
            status=target.value,
        )
        view = _view(conn, _row(conn, row.id), now, app.policies.in_force(now))
    notifications.refresh(app, now=now, person_ids=[row.person_id])  # the applicant is told
    return view


def resubmit(
    app: App, user: User, application_id: int, reason: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """The applicant (or whoever registered it) sends back what was asked: needs_more → submitted,
    and the same-day clock starts again."""
    now = now or app.now()
    with app.transaction() as conn:
        row = _row(conn, application_id)
        _may_see(conn, user, row)
        if user.role is Role.REVIEWER:
            raise Forbidden("the applicant resubmits, not the reviewer", "应由申请人补充后重新提交")
        why = check_transition(AppState(row.status), AppState.SUBMITTED, reason)
        repository.set_application(
            conn, row.id, None, status=AppState.SUBMITTED.value, reason=why, waiting_since=now
        )
        _event(conn, row.id, row.status, AppState.SUBMITTED.value, why, user, now)
        audit.record(conn, app, user.actor, "application.resubmit", row.person_id, why, application=row.id)
        return _view(conn, _row(conn, row.id), now, app.policies.in_force(now))
