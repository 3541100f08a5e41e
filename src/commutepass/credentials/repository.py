"""Revoked codes: the hashes on the signed revocation list, each with a serial (the version)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from commutepass.store.repositories import _insert, _now
from commutepass.store.tables import nat_results, revocations


def add_revocation(conn: Connection, credential_hash: str, reason: str) -> bool:
    """Revoke a code by its hash with the next serial; False if it was revoked already. Two
    revocations at once may take the same serial: the second fails on its unique constraint
    (``IntegrityError``) and is tried again by the caller."""
    serial = conn.execute(select(func.coalesce(func.max(revocations.c.serial), 0) + 1)).scalar_one()
    stmt = (
        _insert(conn, revocations)
        .values(credential_hash=credential_hash, reason=reason, revoked_at=_now(), serial=serial)
        .on_conflict_do_nothing(index_elements=[revocations.c.credential_hash])
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


def revocations_since(conn: Connection, since: int) -> list[tuple[int, str]]:
    """``(serial, hash)`` of the revocations after version ``since``."""
    rows = conn.execute(
        select(revocations.c.serial, revocations.c.credential_hash)
        .where(revocations.c.serial > since)
        .order_by(revocations.c.serial)
    )
    return [(int(serial), str(digest)) for serial, digest in rows]


def revocation_count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(revocations)).scalar_one())


def revocation_version(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(revocations.c.serial), 0))).scalar_one())
