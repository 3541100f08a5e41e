"""The message board's SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Row, select

from commutepass.store.tables import feedback, users


def is_top_post(conn: Connection, post_id: int) -> bool:
    """Whether ``post_id`` is a post (not a reply) that can be replied to."""
    row = conn.execute(select(feedback.c.parent_id).where(feedback.c.id == post_id)).first()
    return row is not None and row.parent_id is None


def add_post(conn: Connection, parent_id: int | None, author_id: int, body: str, at: datetime) -> int:
    return int(
        conn.execute(
            feedback.insert()
            .values(parent_id=parent_id, author_id=author_id, body=body, created_at=at)
            .returning(feedback.c.id)
        ).scalar_one()
    )


def newest_posts(conn: Connection, limit: int) -> Sequence[Row[tuple[object, ...]]]:
    """Posts (not replies), newest first, with the author's role and name."""
    return conn.execute(
        select(feedback, users.c.role, users.c.username)
        .join(users, users.c.id == feedback.c.author_id)
        .where(feedback.c.parent_id.is_(None))
        .order_by(feedback.c.id.desc())
        .limit(limit)
    ).all()


def replies_to(conn: Connection, post_ids: Sequence[int]) -> Sequence[Row[tuple[object, ...]]]:
    """The replies to these posts, oldest first, with the replier's role."""
    if not post_ids:
        return []
    return conn.execute(
        select(feedback, users.c.role)
        .join(users, users.c.id == feedback.c.author_id)
        .where(feedback.c.parent_id.in_(post_ids))
        .order_by(feedback.c.id)
    ).all()
