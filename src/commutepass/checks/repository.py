"""Where every check is written: the one insert path of the ``checks`` table (the service's
``store`` is its only caller), and the checkpoints' swipe ids that make an upload count once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select

from commutepass.store.facts import DriverStyle
from commutepass.store.repositories import _insert, _now
from commutepass.store.repositories import ensure_people as ensure_people
from commutepass.store.tables import (
    checkpoint_swipes,
    checks,
    commuter_entries,
    itinerary,
    nat_results,
    overrides,
    people,
    risk_periods,
    travel,
)

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
    "known_at",
)


def record_checks(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Append swipes (each row gets the ``recorded_at`` it was stored with). On the hot path of
    every check: one driver-level executemany, no statement building."""
    if not rows:
        return
    style = DriverStyle.of(conn)
    recorded = _now()
    for r in rows:
        r["recorded_at"] = recorded
    now = style.time(recorded)
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
            style.time(r["known_at"]) if r.get("known_at") is not None else now,
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
        {
            **row,
            "reasons": json.dumps(row["reasons"]),
            "recorded_at": (now := _now()),
            "known_at": row.get("known_at") or now,
        },
    ).scalar_one()
    row["recorded_at"] = now
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


class EvidenceRows(NamedTuple):
    entries: Sequence[Any]
    nats: Sequence[Any]
    visits: Sequence[Any]
    risks: Sequence[Any]
    entered: Sequence[Any]
    swipes: Sequence[Any]
    corrections: Sequence[Any]


def evidence_rows(
    conn: Connection, person_id: int, t: datetime, first_day: date, today: date, nat_lookback: timedelta
) -> EvidenceRows:
    """The rows a status at ``t`` is decided from (for the reviewer): database entries, NAT results
    in the look-back, trip-card days from ``first_day`` to ``today`` with the risk periods of their
    counties, the last entries and swipes, and the overrides."""
    entries = conn.execute(
        select(commuter_entries)
        .where(commuter_entries.c.person_id == person_id)
        .order_by(commuter_entries.c.valid_from)
    ).all()
    nats = conn.execute(
        select(nat_results)
        .where(
            nat_results.c.person_id == person_id,
            nat_results.c.reported_at <= t,
            nat_results.c.reported_at > t - nat_lookback,
        )
        .order_by(nat_results.c.reported_at)
    ).all()
    visits = conn.execute(
        select(itinerary.c.day, itinerary.c.county)
        .where(itinerary.c.person_id == person_id, itinerary.c.day >= first_day, itinerary.c.day <= today)
        .order_by(itinerary.c.day)
    ).all()
    counties = sorted({v.county for v in visits})
    risks = (
        conn.execute(
            select(risk_periods)
            .where(risk_periods.c.county.in_(counties))
            .order_by(risk_periods.c.county, risk_periods.c.start, risk_periods.c.recorded_at)
        ).all()
        if counties
        else []
    )
    entered = conn.execute(
        select(travel.c.event_time, travel.c.site, travel.c.mode)
        .where(travel.c.person_id == person_id, travel.c.direction == "enter", travel.c.event_time < t)
        .order_by(travel.c.event_time.desc())
        .limit(5)
    ).all()
    swipes = conn.execute(
        select(checks.c.at, checks.c.site, checks.c.decision)
        .where(checks.c.person_id == person_id, checks.c.at < t)
        .order_by(checks.c.at.desc())
        .limit(5)
    ).all()
    corrections = conn.execute(
        select(overrides).where(overrides.c.person_id == person_id).order_by(overrides.c.id)
    ).all()
    return EvidenceRows(entries, nats, visits, risks, entered, swipes, corrections)


def horizon_of_check(conn: Connection, person_id: int, at: datetime, slack: timedelta) -> datetime | None:
    """The recorded-time horizon (``known_at``) of the person's check nearest ``at`` (within
    ``slack`` of it), or None when no check of them is recorded there."""
    row = conn.execute(
        select(checks.c.known_at)
        .where(checks.c.person_id == person_id, checks.c.at >= at - slack, checks.c.at <= at + slack)
        .order_by(checks.c.at.desc(), checks.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else row.known_at
