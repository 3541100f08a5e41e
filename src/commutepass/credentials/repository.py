"""Revoked codes: the hashes on the signed revocation list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from commutepass.store.repositories import _insert, _now
from commutepass.store.tables import nat_results, revocations


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


def nat_results_of(conn: Connection, person_ids: list[int], since: datetime) -> list[Any]:
    """Test results of these people sampled since ``since``, newest first."""
    if not person_ids:
        return []
    return list(
        conn.execute(
            select(
                nat_results.c.person_id,
                nat_results.c.sampled_at,
                nat_results.c.reported_at,
                nat_results.c.positive,
                nat_results.c.lab,
            )
            .where(nat_results.c.person_id.in_(person_ids), nat_results.c.sampled_at >= since)
            .order_by(nat_results.c.person_id, nat_results.c.sampled_at.desc())
        ).all()
    )
