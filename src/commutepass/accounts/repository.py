"""The accounts' SQL: users, their sign-in sessions and the family members citizens add."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from commutepass.store.tables import auth_sessions, family_members, users


def user_named(conn: Connection, username: str) -> Any:
    return conn.execute(select(users).where(users.c.username == username)).first()


def add_user(conn: Connection, **values: Any) -> int:
    return int(conn.execute(users.insert().values(**values).returning(users.c.id)).scalar_one())


def all_users(conn: Connection) -> Sequence[Any]:
    return conn.execute(select(users).order_by(users.c.username)).all()


def set_user(conn: Connection, user_id: int, **values: Any) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(**values))


def end_sessions(conn: Connection, user_id: int, at: datetime) -> None:
    """End every open session of the user (signed out everywhere)."""
    conn.execute(
        update(auth_sessions)
        .where(auth_sessions.c.user_id == user_id, auth_sessions.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )


def open_session(conn: Connection, jti: str, user_id: int, issued_at: datetime, expires_at: datetime) -> None:
    conn.execute(
        auth_sessions.insert().values(
            jti=jti, user_id=user_id, issued_at=issued_at, expires_at=expires_at, revoked_at=None
        )
    )
    # expired sessions of this user are of no further use
    conn.execute(
        delete(auth_sessions).where(
            auth_sessions.c.user_id == user_id, auth_sessions.c.expires_at < issued_at
        )
    )


def open_sessions(conn: Connection, user_id: int) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(auth_sessions)
            .where(auth_sessions.c.user_id == user_id, auth_sessions.c.revoked_at.is_(None))
        ).scalar_one()
    )


def family_of(conn: Connection, user_id: int) -> list[int]:
    """The people a citizen added as family, in the order added."""
    return [
        int(p)
        for p in conn.execute(
            select(family_members.c.person_id).where(family_members.c.user_id == user_id)
        ).scalars()
    ]


def add_family_member(conn: Connection, user_id: int, person_id: int, at: datetime) -> None:
    conn.execute(family_members.insert().values(user_id=user_id, person_id=person_id, added_at=at))
