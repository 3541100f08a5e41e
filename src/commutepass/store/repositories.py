"""Repositories: every read and write of the tables goes through here.

Functions take the connection as their first argument, so a service decides where a
transaction begins and ends (one load = one transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from commutepass.domain.facts import (
    RiskLevel,
    RiskPeriod,
    Source,
)
from commutepass.domain.policy import CommuterClass
from commutepass.store.facts import DriverStyle
from commutepass.store.tables import (
    audit_head,
    audit_log,
    auth_sessions,
    commuter_entries,
    fact_changes,
    loads,
    people,
    risk_periods,
    travel,
    users,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _insert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignoring(conn: Connection, table: Table) -> Any:
    """An INSERT that skips rows whose key already exists, on either engine."""
    return _insert(conn, table).on_conflict_do_nothing()


def insert_new(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], returning: str) -> int:
    """Insert rows, skipping those that already exist (by unique key); return how many were new."""
    if not rows:
        return 0
    stmt = _insert(conn, table).on_conflict_do_nothing().returning(table.c[returning])
    return len(conn.execute(stmt, list(rows)).all())


def _people_ids(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """Row ids of the people with these keys (those that exist), 500 keys a query."""
    ids: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for row in conn.execute(
            select(people.c.person_key, people.c.id).where(people.c.person_key.in_(chunk))
        ):
            ids[row.person_key] = row.id
    return ids


def ensure_people(conn: Connection, persons: Iterable[tuple[str, date, str, str]]) -> dict[str, int]:
    """Make sure each (key, birth_date, masked, cipher) person exists; return key → row id."""
    wanted = {key: (birth, masked, cipher) for key, birth, masked, cipher in persons}
    ids = _people_ids(conn, list(wanted))
    missing = [k for k in wanted if k not in ids]
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
        ids.update(
            _people_ids(conn, [k for k in missing if k not in ids])
        )  # added by another writer meanwhile
    return ids


# --- loads ------------------------------------------------------------------------------------


def record_load(conn: Connection, **fields: Any) -> int:
    return int(
        conn.execute(loads.insert().values(loaded_at=_now(), **fields).returning(loads.c.id)).scalar_one()
    )


def update_load(conn: Connection, load_id: int, **fields: Any) -> None:
    conn.execute(update(loads).where(loads.c.id == load_id).values(**fields))


# --- risk areas -------------------------------------------------------------------------------


def _latest_risk_row(conn: Connection, county: str, level: str, start: date) -> Any:
    return conn.execute(
        select(risk_periods.c.id, risk_periods.c.end)
        .where(
            risk_periods.c.county == county,
            risk_periods.c.level == level,
            risk_periods.c.start == start,
        )
        .order_by(risk_periods.c.recorded_at.desc(), risk_periods.c.id.desc())
        .limit(1)
    ).first()


def upsert_risk_periods(conn: Connection, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
    """Add new periods; a known (county, level, start) with another end date gets a new version
    (a row recorded now), never an edit of the old one. → (added, changed)."""
    added = changed = 0
    for row in rows:
        existing = _latest_risk_row(conn, row["county"], row["level"], row["start"])
        if existing is None:
            conn.execute(risk_periods.insert().values(**row))
            added += 1
        elif existing.end != row["end"]:
            conn.execute(risk_periods.insert().values(**row))
            changed += 1
    return added, changed


def risk_fingerprint(conn: Connection) -> tuple[object, ...]:
    """Changes whenever a period is added or ended (either adds a row)."""
    row = conn.execute(
        select(func.count(), func.max(risk_periods.c.id), func.max(risk_periods.c.load_id))
    ).one()
    return tuple(row)


@dataclass(frozen=True, slots=True)
class RiskVersion:
    """One recorded version of a risk period, with its row id and when it was recorded."""

    id: int
    period: RiskPeriod
    load_id: int | None
    recorded_at: datetime


def risk_versions(conn: Connection, known_at: datetime | None = None) -> list[RiskVersion]:
    """The version of each (county, level, start) that was the latest recorded by ``known_at``
    (None: everything recorded so far)."""
    stmt = select(risk_periods).order_by(risk_periods.c.recorded_at, risk_periods.c.id)
    if known_at is not None:
        stmt = stmt.where(risk_periods.c.recorded_at <= known_at)
    latest: dict[tuple[str, str, date], RiskVersion] = {}
    for r in conn.execute(stmt):
        period = RiskPeriod(r.county, RiskLevel(r.level), r.start, r.end)
        latest[(r.county, r.level, r.start)] = RiskVersion(r.id, period, r.load_id, r.recorded_at)
    return list(latest.values())


def all_risk_periods(conn: Connection, known_at: datetime | None = None) -> list[RiskPeriod]:
    """Risk periods as known at ``known_at`` (None: as known now)."""
    return [v.period for v in risk_versions(conn, known_at)]


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
    note_change(conn, "entry_end", entry_id)


def note_change(conn: Connection, kind: str, row_id: int | None = None) -> None:
    """Log a change of fact rows that is not a new row (``fact_changes``: an entry ended, rows
    purged), in the changing transaction, for the fact index that reads new rows by id."""
    conn.execute(insert(fact_changes).values(kind=kind, row_id=row_id, recorded_at=_now()))


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


_AUDIT_COLUMNS = (
    "seq",
    "at",
    "actor",
    "actor_role",
    "action",
    "person_id",
    "reason",
    "detail",
    "prev_hash",
    "hash",
)


def move_audit_head(conn: Connection, count: int, genesis: str) -> tuple[int, str]:
    """Reserve ``count`` sequence numbers: the head's (new last seq, old hash). Moving the head
    row first takes the write lock (SQLite) or the row lock (PostgreSQL), so appends queue up;
    the first append ever creates the head."""
    p = DriverStyle.of(conn).placeholder
    move = f"UPDATE audit_head SET seq = seq + {p} WHERE id = 1 RETURNING seq, hash"
    head = conn.exec_driver_sql(move, (count,)).first()
    if head is None:
        conn.exec_driver_sql(
            f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, {p}) ON CONFLICT DO NOTHING", (genesis,)
        )
        head = conn.exec_driver_sql(move, (count,)).one()
    return int(head[0]), str(head[1])


def append_audit(conn: Connection, rows: Sequence[dict[str, Any]], last_hash: str) -> None:
    """Insert chained audit rows and record the new head hash (driver-level: checks write these)."""
    style = DriverStyle.of(conn)
    markers = ", ".join([style.placeholder] * len(_AUDIT_COLUMNS))
    values = [tuple(style.time(r[c]) if c == "at" else r[c] for c in _AUDIT_COLUMNS) for r in rows]
    conn.exec_driver_sql(f"INSERT INTO audit_log ({', '.join(_AUDIT_COLUMNS)}) VALUES ({markers})", values)
    conn.exec_driver_sql(f"UPDATE audit_head SET hash = {style.placeholder} WHERE id = 1", (last_hash,))


# --- the travel copy for identification ------------------------------------------------------


def travel_load_ids(conn: Connection) -> list[int]:
    """Loads that added travel rows, oldest first."""
    stmt = select(loads.c.id).where(loads.c.kind == "travel", loads.c.rows_added > 0).order_by(loads.c.id)
    return [int(i) for i in conn.execute(stmt).scalars()]


def travel_of_load(conn: Connection, load_id: int, batch: int = 50_000) -> Iterable[Sequence[Any]]:
    """The travel rows a load added, by the person's row id (never the number), in batches of
    rows (person_id, event_time UTC, direction, mode, site, county)."""
    stmt = select(
        travel.c.person_id,
        travel.c.event_time,
        travel.c.direction,
        travel.c.mode,
        travel.c.site,
        travel.c.county,
    ).where(travel.c.load_id == load_id)
    result = conn.execution_options(yield_per=batch).execute(stmt)
    yield from result.partitions(batch)


# --- people (shared by every area) --------------------------------------------------------------


def person_id_by_key(conn: Connection, key: str) -> int | None:
    row = conn.execute(select(people.c.id).where(people.c.person_key == key)).first()
    return None if row is None else int(row.id)


def masked_ids(conn: Connection, person_ids: Sequence[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    rows = conn.execute(select(people.c.id, people.c.id_masked).where(people.c.id.in_(list(person_ids))))
    return {int(r.id): str(r.id_masked) for r in rows}


def id_cipher(conn: Connection, person_id: int) -> str:
    return str(conn.execute(select(people.c.id_cipher).where(people.c.id == person_id)).scalar_one())


# --- sign-in sessions (read by the kit's session check, written by accounts) ----------------------


def session_user(conn: Connection, jti: str, user_id: int) -> Any:
    """The user behind a session, with the session's end and revocation."""
    return conn.execute(
        select(
            users.c.id,
            users.c.username,
            users.c.role,
            users.c.person_id,
            users.c.disabled,
            auth_sessions.c.revoked_at,
            auth_sessions.c.expires_at,
            auth_sessions.c.issued_at,
            auth_sessions.c.last_seen_at,
        )
        .join(auth_sessions, auth_sessions.c.user_id == users.c.id)
        .where(auth_sessions.c.jti == jti, users.c.id == user_id)
    ).first()


def touch_session(conn: Connection, jti: str, at: datetime) -> None:
    """Note the session's last use (the idle timeout counts from it)."""
    conn.execute(update(auth_sessions).where(auth_sessions.c.jti == jti).values(last_seen_at=at))


def revoke_session(conn: Connection, jti: str, at: datetime) -> None:
    conn.execute(
        update(auth_sessions)
        .where(auth_sessions.c.jti == jti, auth_sessions.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )


# --- the audit log (reads; the chain is appended by the kit's audit through the head above) ----


def audit_head_row(conn: Connection) -> tuple[int, str] | None:
    row = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    return None if row is None else (int(row.seq), str(row.hash))


def audit_entries(conn: Connection) -> Any:
    """Every entry in sequence order, streamed (memory stays flat)."""
    return conn.execute(select(audit_log).order_by(audit_log.c.seq).execution_options(yield_per=2000))


def audit_entries_about(conn: Connection, person_ids: Sequence[int], limit: int) -> Sequence[Any]:
    """Entries about these people, newest first."""
    return conn.execute(
        select(audit_log)
        .where(audit_log.c.person_id.in_(list(person_ids)))
        .order_by(audit_log.c.seq.desc())
        .limit(limit)
    ).all()


def last_audit_entry(conn: Connection, actor: str, action: str) -> Any:
    """The newest entry of one kind by one actor."""
    return conn.execute(
        select(audit_log)
        .where(audit_log.c.actor == actor, audit_log.c.action == action)
        .order_by(audit_log.c.seq.desc())
        .limit(1)
    ).first()


def newest_audit_entries(conn: Connection, limit: int) -> Sequence[Any]:
    return conn.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(limit)).all()


def username_and_role(conn: Connection, user_id: int) -> tuple[str, str]:
    row = conn.execute(select(users.c.username, users.c.role).where(users.c.id == user_id)).one()
    return str(row.username), str(row.role)
