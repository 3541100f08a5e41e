"""The what-if replay's SQL: the recorded checks of a window (by row-id range, so a partition reads a
bounded slice), the people whose daily status is replayed, the recorded-time horizon of each day,
and every recorded version of the risk periods. The facts of each person come through the shared
fact reader (``store.facts.FactReader``), the same one a live check uses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import Connection, func, or_, select, union

from commutepass.store.tables import checks, commuter_entries, people, risk_periods
from commutepass.whatif.replay import RiskVersionRow


class CheckRange(NamedTuple):
    first_id: int
    last_id: int
    checks: int
    without_person: int


def check_range(conn: Connection, start: datetime, end: datetime) -> CheckRange:
    """Row ids and counts of the checks recorded at ``start`` ≤ at < ``end``."""
    row = conn.execute(
        select(
            func.min(checks.c.id),
            func.max(checks.c.id),
            func.count(checks.c.person_id),
            func.count() - func.count(checks.c.person_id),
        ).where(checks.c.at >= start, checks.c.at < end)
    ).one()
    return CheckRange(int(row[0] or 0), int(row[1] or -1), int(row[2] or 0), int(row[3] or 0))


def versions_used(conn: Connection, start: datetime, end: datetime) -> list[str]:
    rows = conn.execute(
        select(checks.c.policy_version).distinct().where(checks.c.at >= start, checks.c.at < end)
    )
    return sorted(r[0] for r in rows)


class CheckRow(NamedTuple):
    id: int
    person_id: int
    at: datetime
    site: str
    mode: str
    smartphone: bool
    decision: str
    policy_version: str
    known_at: datetime
    person_key: str
    birth_date: date


def checks_between(
    conn: Connection, first_id: int, last_id: int, start: datetime, end: datetime
) -> list[CheckRow]:
    """The checks with a person, ids in [first_id, last_id], in the window, in id order."""
    stmt = (
        select(
            checks.c.id,
            checks.c.person_id,
            checks.c.at,
            checks.c.site,
            checks.c.mode,
            checks.c.smartphone,
            checks.c.decision,
            checks.c.policy_version,
            checks.c.known_at,
            people.c.person_key,
            people.c.birth_date,
        )
        .join(people, people.c.id == checks.c.person_id)
        .where(checks.c.id >= first_id, checks.c.id <= last_id, checks.c.at >= start, checks.c.at < end)
        .order_by(checks.c.id)
    )
    return [CheckRow(*r) for r in conn.execute(stmt)]


def status_people(conn: Connection, start: datetime, end: datetime) -> list[int]:
    """Row ids of everyone in the commuter database during the window (an entry valid at some
    moment of it, as recorded now) and everyone checked in it."""
    in_database = select(commuter_entries.c.person_id).where(
        commuter_entries.c.valid_from < end,
        or_(commuter_entries.c.valid_to.is_(None), commuter_entries.c.valid_to > start),
    )
    checked = select(checks.c.person_id).where(
        checks.c.at >= start, checks.c.at < end, checks.c.person_id.is_not(None)
    )
    both = union(in_database, checked).subquery()
    return sorted(int(r[0]) for r in conn.execute(select(both.c[0])))


class PersonRow(NamedTuple):
    id: int
    person_key: str
    birth_date: date


def people_rows(conn: Connection, ids: Sequence[int]) -> list[PersonRow]:
    stmt = (
        select(people.c.id, people.c.person_key, people.c.birth_date)
        .where(people.c.id.in_(list(ids)))
        .order_by(people.c.id)
    )
    return [PersonRow(*r) for r in conn.execute(stmt)]


def horizon_before(conn: Connection, moment: datetime) -> datetime | None:
    """The latest recorded-time horizon of a check decided at or before ``moment``."""
    value = conn.execute(select(func.max(checks.c.known_at)).where(checks.c.at <= moment)).scalar()
    return value if isinstance(value, datetime) else None


def risk_history(conn: Connection) -> list[RiskVersionRow]:
    """Every recorded version of the risk periods, in recorded order."""
    stmt = select(
        risk_periods.c.recorded_at,
        risk_periods.c.county,
        risk_periods.c.level,
        risk_periods.c.start,
        risk_periods.c.end,
    ).order_by(risk_periods.c.recorded_at, risk_periods.c.id)
    return [RiskVersionRow(*r) for r in conn.execute(stmt)]
