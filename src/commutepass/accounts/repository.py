"""The accounts' SQL: users, their sign-in sessions and the family links citizens add (by
consent: who added whom, and whether the member confirmed the link or staff verified the relation
with the documents)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from commutepass.store.tables import auth_sessions, family_members, people, users


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
            jti=jti,
            user_id=user_id,
            issued_at=issued_at,
            expires_at=expires_at,
            revoked_at=None,
            last_seen_at=issued_at,
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
    """The people a citizen added as family, confirmed or not, in the order added."""
    return [person_id for person_id, _confirmed in links_of(conn, user_id)]


def links_of(conn: Connection, user_id: int) -> list[tuple[int, bool]]:
    """(person id, confirmed) of every family member this user added, in the order added."""
    rows = conn.execute(
        select(family_members.c.person_id, family_members.c.confirmed_at)
        .where(family_members.c.user_id == user_id)
        .order_by(family_members.c.added_at, family_members.c.person_id)
    ).all()
    return [(int(r.person_id), r.confirmed_at is not None) for r in rows]


def add_family_member(conn: Connection, user_id: int, person_id: int, at: datetime) -> None:
    conn.execute(family_members.insert().values(user_id=user_id, person_id=person_id, added_at=at))


def link(conn: Connection, user_id: int, person_id: int) -> Any:
    return conn.execute(
        select(family_members).where(
            family_members.c.user_id == user_id, family_members.c.person_id == person_id
        )
    ).first()


def confirm(conn: Connection, user_id: int, person_id: int, at: datetime, by: str) -> None:
    conn.execute(
        update(family_members)
        .where(family_members.c.user_id == user_id, family_members.c.person_id == person_id)
        .values(confirmed_at=at, confirmed_by=by)
    )


def remove(conn: Connection, user_id: int, person_id: int) -> None:
    conn.execute(
        delete(family_members).where(
            family_members.c.user_id == user_id, family_members.c.person_id == person_id
        )
    )


def links_to(conn: Connection, person_id: int) -> list[Any]:
    """Every link that names this person as a family member, with who added it."""
    return list(
        conn.execute(
            select(
                family_members.c.user_id,
                family_members.c.added_at,
                family_members.c.confirmed_at,
                family_members.c.confirmed_by,
                users.c.username,
            )
            .join(users, users.c.id == family_members.c.user_id)
            .where(family_members.c.person_id == person_id)
            .order_by(family_members.c.added_at)
        ).all()
    )


def pending(conn: Connection, limit: int = 200) -> list[Any]:
    """Links nobody has confirmed yet, oldest first, with the adder and the member's masked ID."""
    return list(
        conn.execute(
            select(
                family_members.c.user_id,
                family_members.c.person_id,
                family_members.c.added_at,
                users.c.username,
                people.c.id_masked,
            )
            .join(users, users.c.id == family_members.c.user_id)
            .join(people, people.c.id == family_members.c.person_id)
            .where(family_members.c.confirmed_at.is_(None))
            .order_by(family_members.c.added_at)
            .limit(limit)
        ).all()
    )
