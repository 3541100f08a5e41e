"""Telling the citizen (issue 13, item 3): one use case, ``refresh``, makes the messages — the
badge lapses at T (the NAT turning N days old, 48 h and 24 h ahead), the badge lapsed and why,
the database entry added or ended with the evidence in words and the date, an application or
appeal decided — into the person's inbox and, in the same transaction, onto the outbound
channel's outbox (``outbox.py``; a webhook sender delivers it). Each event is told once (a key per
person and event), so ``refresh`` may run as often as wanted: after every identification run and
every load, on every decision, and from the sender's loop.

A citizen sees their own and their family members' messages (``GET /v1/me/inbox``, the citizen
page) and may turn the reminders (the 48 h / 24 h notices) off; the other messages always go.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from commutepass.accounts.service import household_of
from commutepass.domain.clock import BEIJING, local_date, local_midnight, to_utc
from commutepass.domain.decisions import Reason, Status, assess_status
from commutepass.domain.errors import Forbidden, NoPolicyInForce
from commutepass.domain.policy import Policy
from commutepass.domain.reasons import render
from commutepass.domain.roles import Role
from commutepass.kit import audit, outbox
from commutepass.kit.context import App
from commutepass.kit.sessions import User
from commutepass.notifications import repository as repo
from commutepass.store.facts import FactReader

CHANNEL = "webhook"
"""The outbound channel the inbox's messages are put on (the webhook sender delivers it)."""
EVENT_WINDOW = timedelta(days=7)
"""Events (entries, decisions) older than this when ``refresh`` first sees them are not told."""
REMINDER_HOURS = (24, 48)
"""How far ahead of a lapse the reminders go, nearest first."""
WHY_PREFIXES = ("BADGE_", "TRAVEL_", "NAT_POSITIVE", "OVERRIDE_BADGE", "COMMUTER_PATTERN_LAPSED")
"""The status reasons that say why a badge is not shown."""


def _iso(value: datetime) -> str:
    return value.astimezone(BEIJING).isoformat()


def _body(reasons: list[Reason], policy: Policy) -> dict[str, Any]:
    shown = [render(r, policy) for r in reasons]
    return {
        "codes": [r.code for r in reasons],
        "zh": "".join(s.zh + s.remedy_zh for s in shown),
        "en": " ".join(" ".join(t for t in (s.en, s.remedy_en) if t) for s in shown),
    }


class _Teller:
    """Adds messages (and their outbox copies) in one transaction; counts what it added."""

    def __init__(self, app: App, conn: Connection, policy: Policy, now: datetime) -> None:
        self.app, self.conn, self.policy, self.now = app, conn, policy, now
        self.made: Counter[str] = Counter()

    def tell(self, person_id: int, key: str, kind: str, at: datetime, reasons: list[Reason]) -> None:
        body = _body(reasons, self.policy)
        message_id = repo.add_message(self.conn, person_id, key, kind, at, self.now, body)
        if message_id is None:
            return
        self.made[kind] += 1
        outbox.enqueue(
            self.conn,
            CHANNEL,
            f"notification-{message_id}",
            {
                "id": f"notification-{message_id}",
                "person": repo.masked(self.conn, person_id),
                "kind": kind,
                "at": _iso(at),
                "created_at": _iso(self.now),
                "codes": body["codes"],
                "zh": body["zh"],
                "en": body["en"],
            },
            self.now,
        )


def _split(evidence: str | None) -> str:
    return (evidence or "").strip() or "—"


def _entries(t: _Teller, since: datetime, person_ids: Iterable[int] | None) -> None:
    for e in repo.entries_changed(t.conn, since, person_ids):
        if e.recorded_at >= since:
            t.tell(
                e.person_id,
                f"entry-added:{e.id}",
                "entry_added",
                e.valid_from,
                [
                    Reason.of(
                        "INBOX_ENTRY_ADDED",
                        since=e.valid_from,
                        source=e.source,
                        evidence=_split(e.evidence) if e.evidence else e.reason,
                    )
                ],
            )
        if e.valid_to is not None and e.ended_at is not None and e.ended_at >= since:
            why = e.end_reason or "—"
            if why.startswith("pattern lapsed"):
                why = "近期出行已不符合通勤规则（出行记录识别） / " + why
            elif why.startswith("class changed"):
                why = "通勤类别按出行记录调整 / " + why
            reasons = [Reason.of("INBOX_ENTRY_ENDED", until=e.valid_to, why=why)]
            t.tell(e.person_id, f"entry-ended:{e.id}", "entry_ended", e.valid_to, reasons)


def _decisions(t: _Teller, since: datetime, person_ids: Iterable[int] | None) -> None:
    for a in repo.applications_decided(t.conn, since, person_ids):
        if a.status not in ("approved", "rejected", "needs_more"):
            continue
        params: dict[str, Any] = {"application": a.id, "at": a.decided_at, "reason": a.reason}
        if a.status == "approved":
            params["effective"] = a.effective_from or a.decided_at
        t.tell(
            a.person_id,
            f"application:{a.id}:{a.status}:{_iso(a.decided_at)}",
            "application_decided",
            a.decided_at,
            [Reason.of(f"INBOX_APPLICATION_{a.status.upper()}", **params)],
        )
    for a in repo.appeals_decided(t.conn, since, person_ids):
        if a.status not in ("overridden", "rejected"):
            continue
        t.tell(
            a.person_id,
            f"appeal:{a.id}:{a.status}",
            "appeal_decided",
            a.decided_at,
            [
                Reason.of(
                    f"INBOX_APPEAL_{a.status.upper()}", appeal=a.id, at=a.decided_at, reason=a.response or "—"
                )
            ],
        )


def _why(status: Status) -> list[Reason]:
    return [r for r in status.reasons if r.code.startswith(WHY_PREFIXES) and r.code != "BADGE_SHOWN"]


def _badges(t: _Teller, person_ids: Iterable[int] | None, reminders_off: set[int]) -> None:
    """Reminders before the NAT lapses, and the badge lapsed and why, for the database's members
    whose NAT lapses within the reminder window or lapsed lately, whose last entry lapsed lately,
    who had a positive result reported lately, or who travelled to a county with a risk period:
    the others' badges cannot be changing now."""
    now, policy = t.now, t.policy
    members = repo.members(t.conn, now, person_ids)
    if not members:
        return
    horizon = timedelta(hours=max(REMINDER_HOURS))
    reports = repo.latest_negative_reports(t.conn, members, now)
    days = policy.nat.commuter_valid_days
    candidates = {
        p
        for p, reported in reports.items()
        if now - horizon <= local_midnight(local_date(reported) + timedelta(days=days)) <= now + horizon
    }
    lapse = timedelta(days=policy.commuters.lapse_after_days_without_entry)
    candidates |= {
        p
        for p, last in repo.last_entries(t.conn, members, now).items()
        if now - horizon <= last + lapse <= now
    }
    # a positive result takes the badge at once (whatever the negative before it)
    candidates |= repo.positive_reports(t.conn, members, now - horizon, now)
    if policy.risk.enabled:
        today = local_date(now)
        first = today - timedelta(days=policy.risk.lookback_days - 1)
        candidates |= repo.travelled_to_risk_counties(t.conn, first, today, members)
    reader = FactReader(t.conn)
    risk = t.app.risk_map()
    for person_id in sorted(candidates):
        facts = reader.facts(person_id, members[person_id], now, policy)
        if facts.membership is None:
            continue
        status = assess_status(facts, policy, to_utc(now), risk, t.app.catalog)
        if status.commuter_badge and status.nat_valid_until is not None:
            left = status.nat_valid_until - now
            hours = next((h for h in REMINDER_HOURS if timedelta(0) < left <= timedelta(hours=h)), None)
            if hours is None or person_id in reminders_off:
                continue
            reported = reports.get(person_id)
            t.tell(
                person_id,
                f"lapses:{hours}:{_iso(status.nat_valid_until)}",
                f"badge_lapses_{hours}h",
                status.nat_valid_until,
                [
                    Reason.of(
                        "INBOX_BADGE_LAPSES",
                        until=status.nat_valid_until,
                        hours=hours,
                        reported=local_date(reported) if reported else "—",
                    )
                ],
            )
        elif not status.commuter_badge:
            why = _why(status)
            if not why or [r.code for r in why] == ["BADGE_NO_NAT"]:
                continue  # never had one to lose
            lapsed_at = now
            for r in why:
                if r.code == "BADGE_NAT_EXPIRED":
                    lapsed_at = dict(r.params).get("ended", now)  # type: ignore[assignment]
                elif r.code == "NAT_POSITIVE":  # lost when the positive result was reported
                    lapsed_at = dict(r.params).get("reported", now)  # type: ignore[assignment]
            digest = hashlib.sha256(
                json.dumps([[r.code, r.values] for r in why], sort_keys=True).encode()
            ).hexdigest()[:24]
            lapsed = lapsed_at if isinstance(lapsed_at, datetime) else now
            t.tell(
                person_id,
                f"lapsed:{digest}",
                "badge_lapsed",
                lapsed,
                [Reason.of("INBOX_BADGE_LAPSED", at=lapsed), *why],
            )


def refresh(
    app: App, *, now: datetime | None = None, person_ids: Iterable[int] | None = None
) -> dict[str, int]:
    """Make the messages due now (for everyone, or only ``person_ids``): counts by kind."""
    now = to_utc(now or app.now())
    ids = list(person_ids) if person_ids is not None else None
    try:
        policy = app.policies.in_force(now)
    except NoPolicyInForce:
        return {}
    with app.transaction() as conn:
        t = _Teller(app, conn, policy, now)
        wall = datetime.now(BEIJING)
        _entries(t, min(now, wall) - EVENT_WINDOW, ids)
        _decisions(t, now - EVENT_WINDOW, ids)
        _badges(t, ids, repo.reminders_off_among(conn, ids))
        return dict(t.made)


# --- the citizen's side ----------------------------------------------------------------------------


def _citizen(user: User) -> None:
    if user.role is not Role.CITIZEN or user.person_id is None:
        raise Forbidden("the inbox is a citizen's", "消息仅限市民本人查看")


def inbox(app: App, user: User) -> dict[str, Any]:
    """The citizen's and their family members' messages, newest first, and the reminder setting."""
    _citizen(user)
    assert user.person_id is not None
    with app.engine.connect() as conn:
        people = household_of(conn, user)
        rows = repo.messages_of(conn, people)
        on = repo.reminders_on(conn, user.person_id)
    messages = []
    for r in rows:
        body = json.loads(r.body)
        messages.append(
            {
                "id": r.id,
                "person": r.id_masked,
                "self": r.person_id == user.person_id,
                "kind": r.kind,
                "at": _iso(r.at),
                "created_at": _iso(r.created_at),
                "read": r.read_at is not None,
                "codes": body["codes"],
                "zh": body["zh"],
                "en": body["en"],
            }
        )
    return {"reminders": on, "unread": sum(not m["read"] for m in messages), "messages": messages}


def set_reminders(app: App, user: User, on: bool) -> dict[str, Any]:
    """Turn the citizen's lapse reminders on or off (their own; audited)."""
    _citizen(user)
    assert user.person_id is not None
    with app.transaction() as conn:
        repo.set_reminders(conn, user.person_id, on, app.now())
        audit.record(
            conn, app, user.actor, "inbox.reminders", user.person_id, "on" if on else "off", reminders=on
        )
    return {"reminders": on}


def mark_read(app: App, user: User) -> dict[str, int]:
    _citizen(user)
    with app.transaction() as conn:
        return {"read": repo.mark_read(conn, household_of(conn, user), app.now())}
