"""Offline checkpoints: who goes into a snapshot, and the swipe ids received."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, or_, select

from commutepass.store.tables import (
    checkpoint_swipes,
    checks,
    commuter_entries,
    nat_results,
    people,
)


def snapshot_people(
    conn: Connection, as_of: datetime, nat_lookback: timedelta
) -> Iterator[tuple[int, date, str]]:
    """(row id, birth date, ID cipher) of everyone a swipe at ``as_of`` may know something about:
    in the commuter database then, or with a NAT result reported in the look-back window."""
    in_db = select(commuter_entries.c.person_id).where(
        commuter_entries.c.valid_from <= as_of,
        or_(commuter_entries.c.valid_to.is_(None), commuter_entries.c.valid_to > as_of),
    )
    tested = select(nat_results.c.person_id).where(
        nat_results.c.reported_at <= as_of, nat_results.c.reported_at > as_of - nat_lookback
    )
    query = (
        select(people.c.id, people.c.birth_date, people.c.id_cipher)
        .where(or_(people.c.id.in_(in_db), people.c.id.in_(tested)))
        .order_by(people.c.id)
    )
    for row in conn.execute(query):
        yield int(row.id), row.birth_date, str(row.id_cipher)


def checkpoint_swipe_ids(conn: Connection, checkpoint: str | None = None) -> Sequence[str]:
    query = select(checkpoint_swipes.c.swipe_id)
    if checkpoint is not None:
        query = query.where(checkpoint_swipes.c.checkpoint == checkpoint)
    return list(conn.execute(query).scalars())


def swipe_decision(conn: Connection, swipe_id: str) -> str | None:
    """The decision recorded for a checkpoint swipe id, or None if it was never received."""
    row = conn.execute(
        select(checks.c.decision)
        .join(checkpoint_swipes, checkpoint_swipes.c.check_id == checks.c.id)
        .where(checkpoint_swipes.c.swipe_id == swipe_id)
    ).first()
    return None if row is None else str(row.decision)
