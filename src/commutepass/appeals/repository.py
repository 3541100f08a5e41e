"""The appeals' SQL: the appeals and the overrides they grant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from commutepass.domain.workflows import AppealState
from commutepass.store.tables import appeals, overrides


def appeal(conn: Connection, appeal_id: int) -> Row[Any] | None:
    return conn.execute(select(appeals).where(appeals.c.id == appeal_id)).first()


def add_appeal(conn: Connection, **values: Any) -> int:
    return int(conn.execute(appeals.insert().values(**values).returning(appeals.c.id)).scalar_one())


def appeals_of(conn: Connection, person_ids: Iterable[int], filed_by: int) -> Sequence[Row[Any]]:
    """Appeals about these people or filed by this user, newest first."""
    return conn.execute(
        select(appeals)
        .where(appeals.c.person_id.in_(list(person_ids)) | (appeals.c.filed_by == filed_by))
        .order_by(appeals.c.id.desc())
    ).all()


def open_appeals(conn: Connection) -> Sequence[Row[Any]]:
    """Open appeals, oldest first."""
    return conn.execute(
        select(appeals).where(appeals.c.status == AppealState.OPEN.value).order_by(appeals.c.filed_at)
    ).all()


def add_override(conn: Connection, **values: Any) -> None:
    conn.execute(overrides.insert().values(**values))


def close_appeal(
    conn: Connection, appeal_id: int, outcome: AppealState, at: datetime, by: int, response: str
) -> None:
    """Close an open appeal (a decided one is left as it is)."""
    conn.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id, appeals.c.status == AppealState.OPEN.value)
        .values(status=outcome.value, decided_at=at, decided_by=by, response=response)
    )


def answer_times(conn: Connection) -> Sequence[Any]:
    """(kind, filed_at, decided_at) of every appeal."""
    return conn.execute(select(appeals.c.kind, appeals.c.filed_at, appeals.c.decided_at)).all()
