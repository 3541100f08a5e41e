"""Revoked codes: the hashes on the signed revocation list."""

from __future__ import annotations

from sqlalchemy import Connection, select

from commutepass.store.repositories import _insert, _now
from commutepass.store.tables import revocations


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
