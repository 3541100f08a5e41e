"""Repositories: every read and write of the tables goes through here.

Functions take the connection as their first argument, so a service decides where a
transaction begins and ends (one load = one transaction).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from commutepass.domain.facts import (
    Membership,
    PersonFacts,
    RiskLevel,
    RiskPeriod,
    Source,
)
from commutepass.domain.policy import CommuterClass, Policy
from commutepass.store.facts import FactReader, pg_time, sqlite_time
from commutepass.store.tables import (
    commuter_entries,
    loads,
    people,
    risk_periods,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_new(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], returning: str) -> int:
    """Insert rows, skipping those that already exist (by unique key); return how many were new."""
    if not rows:
        return 0
    stmt = _insert(conn, table).on_conflict_do_nothing().returning(table.c[returning])
    return len(conn.execute(stmt, list(rows)).all())


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    person_key: str
    birth_date: date
    id_masked: str


def ensure_people(conn: Connection, persons: Iterable[tuple[str, date, str, str]]) -> dict[str, int]:
    """Make sure each (key, birth_date, masked, cipher) person exists; return key → row id."""
    wanted = {key: (birth, masked, cipher) for key, birth, masked, cipher in persons}
    ids: dict[str, int] = {}
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for row in conn.execute(
            select(people.c.person_key, people.c.id).where(people.c.person_key.in_(chunk))
        ):
            ids[row.person_key] = row.id
    missing = [k for k in keys if k not in ids]
    if missing:
        now = _now()
        rows = [
            {
                "person_key": k,
                "birth_date": wanted[k][0],
                "id_masked": wanted[k][1],
                "id_cipher": wanted[k][2],
                "created_at": now,
            }
            for k in missing
        ]
        stmt = _insert(conn, people).on_conflict_do_nothing().returning(people.c.person_key, people.c.id)
        for row in conn.execute(stmt, rows).all():
            ids[row.person_key] = row.id
        for start in range(0, len(missing), 500):  # rows another writer added meanwhile
            chunk = [k for k in missing[start : start + 500] if k not in ids]
            if chunk:
                for row in conn.execute(
                    select(people.c.person_key, people.c.id).where(people.c.person_key.in_(chunk))
                ):
                    ids[row.person_key] = row.id
    return ids


def find_person(conn: Connection, key: str) -> PersonRow | None:
    row = conn.execute(
        select(people.c.id, people.c.person_key, people.c.birth_date, people.c.id_masked).where(
            people.c.person_key == key
        )
    ).first()
    return PersonRow(row.id, row.person_key, row.birth_date, row.id_masked) if row else None


def person_cipher(conn: Connection, person_id: int) -> str | None:
    return conn.execute(select(people.c.id_cipher).where(people.c.id == person_id)).scalar_one_or_none()


# --- loads ------------------------------------------------------------------------------------


def record_load(conn: Connection, **fields: Any) -> int:
    return int(
        conn.execute(loads.insert().values(loaded_at=_now(), **fields).returning(loads.c.id)).scalar_one()
    )


def update_load(conn: Connection, load_id: int, **fields: Any) -> None:
    conn.execute(update(loads).where(loads.c.id == load_id).values(**fields))


# --- risk areas -------------------------------------------------------------------------------


def upsert_risk_periods(conn: Connection, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Add new periods; a known (county, level, start) takes the file's end date. → (added, changed)."""
    added = changed = 0
    for row in rows:
        existing = conn.execute(
            select(risk_periods.c.id, risk_periods.c.end).where(
                risk_periods.c.county == row["county"],
                risk_periods.c.level == row["level"],
                risk_periods.c.start == row["start"],
            )
        ).first()
        if existing is None:
            conn.execute(risk_periods.insert().values(**row))
            added += 1
        elif existing.end != row["end"]:
            conn.execute(
                update(risk_periods)
                .where(risk_periods.c.id == existing.id)
                .values(end=row["end"], load_id=row.get("load_id"))
            )
            changed += 1
    return added, changed


def risk_fingerprint(conn: Connection) -> tuple[object, ...]:
    """Changes whenever a period is added or ended (an end date is set with the load's id)."""
    row = conn.execute(
        select(func.count(), func.max(risk_periods.c.id), func.max(risk_periods.c.load_id))
    ).one()
    return tuple(row)


def all_risk_periods(conn: Connection) -> list[RiskPeriod]:
    rows = conn.execute(
        select(risk_periods.c.county, risk_periods.c.level, risk_periods.c.start, risk_periods.c.end)
    )
    return [RiskPeriod(r.county, RiskLevel(r.level), r.start, r.end) for r in rows]


# --- the commuter database --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryRow:
    id: int
    person_id: int
    commuter_class: CommuterClass
    source: Source
    home_county: str | None
    valid_from: datetime
    valid_to: datetime | None
    reason: str
    evidence: str | None
    end_reason: str | None

    def membership(self) -> Membership:
        return Membership(self.commuter_class, self.source, self.valid_from, self.home_county, self.evidence)


_ENTRY_COLUMNS = (
    commuter_entries.c.id,
    commuter_entries.c.person_id,
    commuter_entries.c.commuter_class,
    commuter_entries.c.source,
    commuter_entries.c.home_county,
    commuter_entries.c.valid_from,
    commuter_entries.c.valid_to,
    commuter_entries.c.reason,
    commuter_entries.c.evidence,
    commuter_entries.c.end_reason,
)


def _entry(row: Any) -> EntryRow:
    return EntryRow(
        row.id,
        row.person_id,
        CommuterClass(row.commuter_class),
        Source(row.source),
        row.home_county,
        row.valid_from,
        row.valid_to,
        row.reason,
        row.evidence,
        row.end_reason,
    )


def _in_force(at: datetime) -> Any:
    return and_(
        commuter_entries.c.valid_from <= at,
        or_(commuter_entries.c.valid_to.is_(None), commuter_entries.c.valid_to > at),
    )


def entry_at(conn: Connection, person_id: int, at: datetime) -> EntryRow | None:
    row = conn.execute(
        select(*_ENTRY_COLUMNS)
        .where(commuter_entries.c.person_id == person_id, _in_force(at))
        .order_by(commuter_entries.c.valid_from.desc())
        .limit(1)
    ).first()
    return _entry(row) if row else None


def entries_of(conn: Connection, person_id: int) -> list[EntryRow]:
    rows = conn.execute(
        select(*_ENTRY_COLUMNS)
        .where(commuter_entries.c.person_id == person_id)
        .order_by(commuter_entries.c.valid_from)
    )
    return [_entry(r) for r in rows]


def open_entries(conn: Connection) -> dict[int, EntryRow]:
    """Entries with no end yet, by person (at most one each)."""
    rows = conn.execute(select(*_ENTRY_COLUMNS).where(commuter_entries.c.valid_to.is_(None)))
    return {r.person_id: _entry(r) for r in rows}


def add_entry(
    conn: Connection,
    *,
    person_id: int,
    commuter_class: CommuterClass,
    source: Source,
    valid_from: datetime,
    reason: str,
    home_county: str | None = None,
    evidence: str | None = None,
) -> int:
    return int(
        conn.execute(
            commuter_entries.insert()
            .values(
                person_id=person_id,
                commuter_class=commuter_class.value,
                source=source.value,
                home_county=home_county,
                valid_from=valid_from,
                reason=reason,
                evidence=evidence,
                recorded_at=_now(),
            )
            .returning(commuter_entries.c.id)
        ).scalar_one()
    )


def end_entry(conn: Connection, entry_id: int, valid_to: datetime, end_reason: str) -> None:
    """Close an entry: its row stays, with the end and why (history is never overwritten)."""
    conn.execute(
        update(commuter_entries)
        .where(commuter_entries.c.id == entry_id, commuter_entries.c.valid_to.is_(None))
        .values(valid_to=valid_to, end_reason=end_reason, ended_at=_now())
    )


@dataclass(frozen=True, slots=True)
class ListedEntry:
    person_key: str
    id_masked: str
    entry: EntryRow


def entries_in_force(conn: Connection, at: datetime) -> list[ListedEntry]:
    rows = conn.execute(
        select(people.c.person_key, people.c.id_masked, *_ENTRY_COLUMNS)
        .join(people, people.c.id == commuter_entries.c.person_id)
        .where(_in_force(at))
        .order_by(commuter_entries.c.valid_from, people.c.person_key)
    )
    return [ListedEntry(r.person_key, r.id_masked, _entry(r)) for r in rows]


# --- checks (swipes) --------------------------------------------------------------------------


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
    building (times and booleans converted as SQLAlchemy would store them)."""
    if not rows:
        return
    sqlite = conn.dialect.name == "sqlite"
    to_db = sqlite_time if sqlite else pg_time
    now = to_db(_now())
    marker = "?" if sqlite else "%s"
    sql = f"INSERT INTO checks ({', '.join(_CHECK_COLUMNS)}) VALUES ({', '.join([marker] * len(_CHECK_COLUMNS))})"
    values = [
        (
            r["person_id"],
            to_db(r["at"]),
            r["site"],
            r["mode"],
            r["smartphone"] if not sqlite else int(r["smartphone"]),
            r["decision"],
            r["entered"] if not sqlite else int(r["entered"]),
            r["policy_version"],
            json.dumps(r["reasons"]),
            now,
        )
        for r in rows
    ]
    conn.exec_driver_sql(sql, values)


# --- the facts of one person at one moment ----------------------------------------------------


def person_facts(conn: Connection, person: PersonRow, at: datetime, policy: Policy) -> PersonFacts:
    """The bounded slice of one person's data that the rules read (see ``store/facts.py``)."""
    return FactReader(conn).facts(person.id, person.birth_date, at, policy)
