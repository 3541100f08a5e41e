"""The SQL of family links by consent (为他人查询): who added whom, and whether the member
confirmed the link (or staff verified the relation with the documents)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from commutepass.store.tables import family_members, people, users


def links_of(conn: Connection, user_id: int) -> list[tuple[int, bool]]:
    """(person id, confirmed) of every family member this user added, in the order added."""
    rows = conn.execute(
        select(family_members.c.person_id, family_members.c.confirmed_at)
        .where(family_members.c.user_id == user_id)
        .order_by(family_members.c.added_at, family_members.c.person_id)
    ).all()
    return [(int(r.person_id), r.confirmed_at is not None) for r in rows]


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
