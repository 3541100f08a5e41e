"""Repositories of signed codes (revocations) and offline checkpoints (swipe ids, snapshot reads)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select

from commutepass.store.repositories import _insert, _now
from commutepass.store.tables import (
    checkpoint_swipes,
    checks,
    commuter_entries,
    nat_results,
    people,
    revocations,
)


def add_revocation(conn: Connection, credential_hash: str, reason: str) -> bool:
    """Revoke a code by its hash; False if it was revoked already."""
    stmt = (
        _insert(conn, revocations)
        .values(credential_hash=credential_hash, reason=reason, revoked_at=_now())
        .on_conflict_do_nothing()
        .returning(revocations.c.credential_hash)
    )
    return conn.execute(stmt).first() is not None


def revoked_hashes(conn: Connection) -> list[str]:
    return list(conn.execute(select(revocations.c.credential_hash)).scalars())


def swipe_decision(conn: Connection, swipe_id: str) -> str | None:
    """The decision recorded for a checkpoint swipe id, or None if it was never received."""
    row = conn.execute(
        select(checks.c.decision)
        .join(checkpoint_swipes, checkpoint_swipes.c.check_id == checks.c.id)
        .where(checkpoint_swipes.c.swipe_id == swipe_id)
    ).first()
    return None if row is None else str(row.decision)


def record_checkpoint_swipe(
    conn: Connection, swipe_id: str, checkpoint: str, row: dict[str, Any], *, offline: bool
) -> bool:
    """Record the swipe once: the check row and its swipe id. False (nothing kept) if the id is
    known already, even when another upload of it commits meanwhile."""
    check_id = conn.execute(
        insert(checks).returning(checks.c.id),
        {**row, "reasons": json.dumps(row["reasons"]), "recorded_at": _now()},
    ).scalar_one()
    kept = conn.execute(
        _insert(conn, checkpoint_swipes)
        .values(
            swipe_id=swipe_id, checkpoint=checkpoint, check_id=check_id, offline=offline, received_at=_now()
        )
        .on_conflict_do_nothing()
        .returning(checkpoint_swipes.c.swipe_id)
    ).first()
    if kept is None:
        conn.execute(delete(checks).where(checks.c.id == check_id))
        return False
    return True


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
