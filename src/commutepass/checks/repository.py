"""Where every check is written: the one insert path of the ``checks`` table (the service's
``store`` is its only caller), and the checkpoints' swipe ids that make an upload count once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from commutepass.store.facts import DriverStyle
from commutepass.store.repositories import _insert, _now
from commutepass.store.repositories import ensure_people as ensure_people
from commutepass.store.tables import checkpoint_swipes, checks, nat_results, people

_CHECK_COLUMNS = (
    "person_id",
    "at",
    "site",
    "mode",
    "smartphone",
    "decision",
    "entered",
    "policy_version",
    "reasons",
    "recorded_at",
)


def record_checks(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append swipes. On the hot path of every check: one driver-level executemany, no statement
    building."""
    if not rows:
        return
    style = DriverStyle.of(conn)
    now = style.time(_now())
    markers = ", ".join([style.placeholder] * len(_CHECK_COLUMNS))
    sql = f"INSERT INTO checks ({', '.join(_CHECK_COLUMNS)}) VALUES ({markers})"
    values = [
        (
            r["person_id"],
            style.time(r["at"]),
            r["site"],
            r["mode"],
            style.flag(r["smartphone"]),
            r["decision"],
            style.flag(r["entered"]),
            r["policy_version"],
            json.dumps(r["reasons"]),
            now,
        )
        for r in rows
    ]
    conn.exec_driver_sql(sql, values)


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


def pledges_turned_positive(conn: Connection) -> list[Any]:
    """Entries on a pledge (``allow_pledge``) whose person has a positive result sampled before
    the check (the caller keeps those within the pending time): newest check first."""
    return list(
        conn.execute(
            select(
                checks.c.id.label("check_id"),
                checks.c.person_id,
                people.c.id_masked,
                checks.c.at,
                checks.c.site,
                nat_results.c.sampled_at,
                nat_results.c.reported_at,
                nat_results.c.lab,
            )
            .join(nat_results, nat_results.c.person_id == checks.c.person_id)
            .join(people, people.c.id == checks.c.person_id)
            .where(
                checks.c.decision == "allow_pledge",
                nat_results.c.positive.is_(True),
                nat_results.c.sampled_at <= checks.c.at,
            )
            .order_by(checks.c.at.desc(), nat_results.c.sampled_at)
        ).all()
    )
