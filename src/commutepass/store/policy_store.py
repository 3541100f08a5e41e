"""The policy book in the store: every version's TOML text, its stored state and effective time.

A state change updates the version's row (its ``changed_at`` moves, so every server sees the
change within a second, like risk periods); each step is also in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from commutepass.domain.policy_authoring import StoredState
from commutepass.store.repositories import insert_ignoring
from commutepass.store.tables import policy_versions


@dataclass(frozen=True, slots=True)
class StoredVersion:
    version: str
    body: str
    state: StoredState
    effective_from: datetime
    created_by: str
    created_at: datetime
    changed_at: datetime


def _row(r: Any) -> StoredVersion:
    return StoredVersion(
        r.version, r.body, StoredState(r.state), r.effective_from, r.created_by, r.created_at, r.changed_at
    )


def seed(conn: Connection, versions: list[tuple[str, str, datetime]]) -> None:
    """Store the built-in (version, text, effective time)s that are not stored yet."""
    if not versions:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "version": v,
            "body": body,
            "state": StoredState.BUILTIN.value,
            "effective_from": at,
            "created_by": "builtin",
            "created_at": now,
            "changed_at": now,
        }
        for v, body, at in versions
    ]
    conn.execute(insert_ignoring(conn, policy_versions), rows)


def fingerprint(conn: Connection) -> tuple[object, ...]:
    return tuple(conn.execute(select(func.count(), func.max(policy_versions.c.changed_at))).one())


def all_versions(conn: Connection) -> list[StoredVersion]:
    rows = conn.execute(select(policy_versions).order_by(policy_versions.c.effective_from))
    return [_row(r) for r in rows]


def get(conn: Connection, version: str) -> StoredVersion | None:
    row = conn.execute(select(policy_versions).where(policy_versions.c.version == version)).first()
    return _row(row) if row else None


def add_draft(conn: Connection, version: str, body: str, effective_from: datetime, by: str) -> None:
    now = datetime.now(UTC)
    conn.execute(
        policy_versions.insert().values(
            version=version,
            body=body,
            state=StoredState.DRAFT.value,
            effective_from=effective_from,
            created_by=by[:64],
            created_at=now,
            changed_at=now,
        )
    )


def change_state(
    conn: Connection,
    version: str,
    from_state: StoredState,
    to_state: StoredState,
    effective_from: datetime | None = None,
) -> bool:
    """Move a version from one state to another (False: it was not in ``from_state``)."""
    values: dict[str, Any] = {"state": to_state.value, "changed_at": datetime.now(UTC)}
    if effective_from is not None:
        values["effective_from"] = effective_from
    done = conn.execute(
        update(policy_versions)
        .where(policy_versions.c.version == version, policy_versions.c.state == from_state.value)
        .values(**values)
    )
    return done.rowcount == 1
