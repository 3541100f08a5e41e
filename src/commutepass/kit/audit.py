"""The audit log: every access to a person's data and every change of a decision, hash-chained.

Appends move the head row (``audit_head``) first, which takes the write lock on SQLite and the
row lock on PostgreSQL, so concurrent appends are serialised and the chain never forks.
"""

from __future__ import annotations

import functools
import getpass
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from commutepass.domain.audit import GENESIS, AuditEntry, Finding, canonical, chain_hash, verify_chain
from commutepass.domain.clock import BEIJING
from commutepass.kit.context import App
from commutepass.kit.security import IdVault
from commutepass.store import repositories as repo

AUDIT_KEY_PURPOSE = b"commutepass audit chain v1"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a signed-in user, or a command run on the server (``cli``)."""

    username: str
    role: str


def cli_actor() -> Actor:
    """A command run on the server, by the operating-system user who ran it (``cli:<user>``)."""
    return Actor(f"cli:{getpass.getuser()}", "operator")


@dataclass(frozen=True, slots=True)
class Event:
    action: str
    person_id: int | None
    reason: str
    detail: dict[str, Any]


def audit_key(app: App) -> bytes:
    return _derived(app.vault)


@functools.lru_cache(maxsize=8)
def _derived(vault: IdVault) -> bytes:
    """HKDF once per secret, not once per append (appends sit inside the write lock)."""
    return vault.derive(AUDIT_KEY_PURPOSE)


def record(
    conn: Connection,
    app: App,
    actor: Actor,
    action: str,
    person_id: int | None,
    reason: str = "",
    **detail: Any,
) -> int:
    """Append one entry in the caller's transaction; returns its sequence number."""
    return record_many(conn, app, actor, [Event(action, person_id, reason, detail)])[-1]


@dataclass(frozen=True, slots=True)
class Prepared:
    """An entry with everything but its place in the chain: built before the append's lock."""

    at: datetime
    actor: Actor
    event: Event
    detail: str
    body: bytes


def prepare(actor: Actor, events: Sequence[Event], at: datetime | None = None) -> list[Prepared]:
    now = at or datetime.now(UTC)
    prepared = []
    for event in events:
        detail = orjson.dumps(event.detail, option=orjson.OPT_SORT_KEYS, default=str).decode("utf-8")
        body = canonical(now, actor.username, actor.role, event.action, event.person_id, event.reason, detail)
        prepared.append(Prepared(now, actor, event, detail, body))
    return prepared


def append(conn: Connection, app: App, prepared: Sequence[Prepared]) -> list[int]:
    """Chain and insert prepared entries in the caller's transaction (the head row is the lock)."""
    if not prepared:
        return []
    last_seq, prev = repo.move_audit_head(conn, len(prepared), GENESIS)
    key = audit_key(app)
    seq = last_seq - len(prepared)
    rows = []
    for entry in prepared:
        seq += 1
        digest = chain_hash(key, prev, seq, entry.body)
        rows.append(
            {
                "seq": seq,
                "at": entry.at,
                "actor": entry.actor.username,
                "actor_role": entry.actor.role,
                "action": entry.event.action,
                "person_id": entry.event.person_id,
                "reason": entry.event.reason,
                "detail": entry.detail,
                "prev_hash": prev,
                "hash": digest,
            }
        )
        prev = digest
    repo.append_audit(conn, rows, prev)
    return list(range(last_seq - len(prepared) + 1, last_seq + 1))


def record_many(conn: Connection, app: App, actor: Actor, events: Sequence[Event]) -> list[int]:
    return append(conn, app, prepare(actor, events))


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        actor_role=row.actor_role,
        action=row.action,
        person_id=row.person_id,
        reason=row.reason,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


@dataclass
class Verification:
    entries: int
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "findings": [{"seq": f.seq, "problem": f.problem, "en": f.en, "zh": f.zh} for f in self.findings],
        }


def verify(app: App) -> Verification:
    """Walk the whole chain in sequence order (streamed: memory stays flat)."""
    with app.engine.connect() as conn:
        head = repo.audit_head_row(conn)
        result = repo.audit_entries(conn)
        counted = 0

        def entries() -> Any:
            nonlocal counted
            for row in result:
                counted += 1
                yield _entry(row)

        findings = verify_chain(audit_key(app), entries(), head)
    return Verification(counted, findings)


def accesses_to(app: App, person_ids: Sequence[int], *, limit: int = 500) -> list[dict[str, Any]]:
    """Who looked at or changed these people's data, when and why (newest first)."""
    if not person_ids:
        return []
    with app.engine.connect() as conn:
        rows = repo.audit_entries_about(conn, person_ids, limit)
    return [_who_when_why(r) for r in rows]


def _who_when_why(r: Any) -> dict[str, Any]:
    return {
        "seq": r.seq,
        "at": r.at.astimezone(BEIJING).isoformat(),
        "who": r.actor,
        "role": r.actor_role,
        "action": r.action,
        "reason": r.reason,
    }


def last_by(app: App, actor: str, action: str) -> dict[str, Any] | None:
    """The newest entry of one kind by one user (e.g. the snapshot a checkpoint took last)."""
    with app.engine.connect() as conn:
        row = repo.last_audit_entry(conn, actor, action)
    if row is None:
        return None
    return {**_who_when_why(row), "detail": json.loads(row.detail)}


def recent(app: App, *, limit: int = 200) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = repo.newest_audit_entries(conn, limit)
    return [
        {
            **_who_when_why(r),
            "person_id": r.person_id,
            "detail": json.loads(r.detail),
            "hash": r.hash,
        }
        for r in rows
    ]


def actor_of(conn: Connection, user_id: int) -> Actor:
    return Actor(*repo.username_and_role(conn, user_id))
