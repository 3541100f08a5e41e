"""Shared SQL of the sign-in throttle: one row per account and per client address."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from commutepass.store.tables import sign_in_throttle


def _ensure(conn: Connection, key: str, now: datetime) -> None:
    values = {"key": key, "failures": 0, "last_failure_at": now, "blocked_until": None, "locked_until": None}
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(sign_in_throttle).values(**values).on_conflict_do_nothing())
    else:
        conn.execute(sqlite.insert(sign_in_throttle).values(**values).on_conflict_do_nothing())


def read(conn: Connection, keys: list[str]) -> dict[str, Any]:
    rows = conn.execute(select(sign_in_throttle).where(sign_in_throttle.c.key.in_(keys))).all()
    return {r.key: r for r in rows}


def lock_row(conn: Connection, key: str, now: datetime) -> Any:
    """The row of ``key``, created if missing and locked for this transaction (PostgreSQL)."""
    _ensure(conn, key, now)
    query = select(sign_in_throttle).where(sign_in_throttle.c.key == key)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).one()


def store(
    conn: Connection,
    key: str,
    failures: int,
    at: datetime,
    blocked_until: datetime | None,
    locked_until: datetime | None,
) -> None:
    conn.execute(
        update(sign_in_throttle)
        .where(sign_in_throttle.c.key == key)
        .values(failures=failures, last_failure_at=at, blocked_until=blocked_until, locked_until=locked_until)
    )


def clear(conn: Connection, key: str) -> int:
    return conn.execute(delete(sign_in_throttle).where(sign_in_throttle.c.key == key)).rowcount
