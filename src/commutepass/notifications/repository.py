"""The inbox's SQL: messages, reminder settings, and the facts messages are made from."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, true, update

from commutepass.store.tables import (
    appeals,
    applications,
    commuter_entries,
    itinerary,
    nat_results,
    notification_settings,
    notifications,
    people,
    risk_periods,
    travel,
)


def _only(column: Any, person_ids: Iterable[int] | None) -> Any:
    return column.in_(list(person_ids)) if person_ids is not None else true()


CHUNK = 5000
"""Person ids per ``IN (...)`` list: a city's members are far more than a statement may carry
(PostgreSQL takes at most 65,535 parameters; SQLite's limit depends on how it was built)."""


def _chunks(person_ids: Iterable[int]) -> Iterable[list[int]]:
    ids = list(person_ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def add_message(
    conn: Connection, person_id: int, key: str, kind: str, at: datetime, now: datetime, body: dict[str, Any]
) -> int | None:
    """The message's row id, or None when this person was told this already (same key)."""
    exists = conn.execute(
        select(notifications.c.id).where(notifications.c.person_id == person_id, notifications.c.key == key)
    ).first()
    if exists is not None:
        return None
    return int(
        conn.execute(
            insert(notifications)
            .values(
                person_id=person_id,
                key=key[:200],
                kind=kind,
                at=at,
                created_at=now,
                body=json.dumps(body, ensure_ascii=False, sort_keys=True),
            )
            .returning(notifications.c.id)
        ).scalar_one()
    )


def messages_of(conn: Connection, person_ids: Iterable[int], limit: int = 100) -> Sequence[Any]:
    return conn.execute(
        select(notifications, people.c.id_masked)
        .join(people, people.c.id == notifications.c.person_id)
        .where(notifications.c.person_id.in_(list(person_ids)))
        .order_by(notifications.c.id.desc())
        .limit(limit)
    ).all()


def mark_read(conn: Connection, person_ids: Iterable[int], now: datetime) -> int:
    return conn.execute(
        update(notifications)
        .where(notifications.c.person_id.in_(list(person_ids)), notifications.c.read_at.is_(None))
        .values(read_at=now)
    ).rowcount


def reminders_on(conn: Connection, person_id: int) -> bool:
    row = conn.execute(
        select(notification_settings.c.reminders).where(notification_settings.c.person_id == person_id)
    ).first()
    return True if row is None else bool(row.reminders)


def reminders_off_among(conn: Connection, person_ids: Iterable[int] | None) -> set[int]:
    query = select(notification_settings.c.person_id).where(
        notification_settings.c.reminders.is_(False), _only(notification_settings.c.person_id, person_ids)
    )
    return {int(p) for p in conn.execute(query).scalars()}


def set_reminders(conn: Connection, person_id: int, on: bool, now: datetime) -> None:
    done = conn.execute(
        update(notification_settings)
        .where(notification_settings.c.person_id == person_id)
        .values(reminders=on, changed_at=now)
    ).rowcount
    if not done:
        conn.execute(insert(notification_settings).values(person_id=person_id, reminders=on, changed_at=now))


def masked(conn: Connection, person_id: int) -> str:
    return str(conn.execute(select(people.c.id_masked).where(people.c.id == person_id)).scalar_one())


# --- what messages are made from -----------------------------------------------------------------


def entries_changed(conn: Connection, since: datetime, person_ids: Iterable[int] | None) -> Sequence[Any]:
    """Database entries recorded or ended (by the store's clock) since ``since``."""
    return conn.execute(
        select(commuter_entries)
        .where(
            or_(commuter_entries.c.recorded_at >= since, commuter_entries.c.ended_at >= since),
            _only(commuter_entries.c.person_id, person_ids),
        )
        .order_by(commuter_entries.c.id)
    ).all()


def applications_decided(
    conn: Connection, since: datetime, person_ids: Iterable[int] | None
) -> Sequence[Any]:
    return conn.execute(
        select(applications)
        .where(applications.c.decided_at >= since, _only(applications.c.person_id, person_ids))
        .order_by(applications.c.id)
    ).all()


def appeals_decided(conn: Connection, since: datetime, person_ids: Iterable[int] | None) -> Sequence[Any]:
    return conn.execute(
        select(appeals)
        .where(appeals.c.decided_at >= since, _only(appeals.c.person_id, person_ids))
        .order_by(appeals.c.id)
    ).all()


def members(conn: Connection, at: datetime, person_ids: Iterable[int] | None) -> dict[int, date]:
    """People with a database entry in force at ``at`` or ended in the last days before it
    (``at`` lower bound left to the caller's window), with their birth dates."""
    rows = conn.execute(
        select(commuter_entries.c.person_id, people.c.birth_date)
        .join(people, people.c.id == commuter_entries.c.person_id)
        .where(
            commuter_entries.c.valid_from <= at,
            or_(commuter_entries.c.valid_to.is_(None), commuter_entries.c.valid_to > at),
            _only(commuter_entries.c.person_id, person_ids),
        )
    ).all()
    return {int(r.person_id): r.birth_date for r in rows}


def latest_negative_reports(conn: Connection, person_ids: Iterable[int], at: datetime) -> dict[int, datetime]:
    """The newest negative result's report time per person, reported by ``at``."""
    found: dict[int, datetime] = {}
    for chunk in _chunks(person_ids):
        rows = conn.execute(
            select(nat_results.c.person_id, func.max(nat_results.c.reported_at))
            .where(
                nat_results.c.person_id.in_(chunk),
                nat_results.c.positive.is_(False),
                nat_results.c.reported_at <= at,
            )
            .group_by(nat_results.c.person_id)
        ).all()
        found.update({int(p): r for p, r in rows})
    return found


def travelled_to_risk_counties(
    conn: Connection, first_day: date, last_day: date, person_ids: Iterable[int]
) -> set[int]:
    """Among ``person_ids``, those with a trip-card day in the window in a county that has any
    risk period."""
    found: set[int] = set()
    for chunk in _chunks(person_ids):
        query = (
            select(itinerary.c.person_id)
            .where(
                itinerary.c.person_id.in_(chunk),
                itinerary.c.day >= first_day,
                itinerary.c.day <= last_day,
                itinerary.c.county.in_(select(risk_periods.c.county)),
            )
            .distinct()
        )
        found.update(int(p) for p in conn.execute(query).scalars())
    return found


def positive_reports(conn: Connection, person_ids: Iterable[int], since: datetime, at: datetime) -> set[int]:
    """Among ``person_ids``, those with a positive result reported in ``(since, at]``."""
    found: set[int] = set()
    for chunk in _chunks(person_ids):
        rows = conn.execute(
            select(nat_results.c.person_id)
            .where(
                nat_results.c.person_id.in_(chunk),
                nat_results.c.positive.is_(True),
                nat_results.c.reported_at > since,
                nat_results.c.reported_at <= at,
            )
            .distinct()
        ).scalars()
        found.update(int(p) for p in rows)
    return found


def last_entries(conn: Connection, person_ids: Iterable[int], at: datetime) -> dict[int, datetime]:
    """The last recorded entry into Beijing per person, by ``at``."""
    found: dict[int, datetime] = {}
    for chunk in _chunks(person_ids):
        rows = conn.execute(
            select(travel.c.person_id, func.max(travel.c.event_time))
            .where(travel.c.person_id.in_(chunk), travel.c.direction == "enter", travel.c.event_time <= at)
            .group_by(travel.c.person_id)
        ).all()
        found.update({int(p): t for p, t in rows})
    return found
