"""The fact reader: one person's bounded slice of data at one moment, on the hot path of a check.

Each statement hits an index and a bounded window (never a person's whole history), and runs
on the driver connection with SQL written once per dialect: building SQLAlchemy statements
per check cost ten times more than running them. The tables are the ones in
``tables.py``; the integration tests run this reader on both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from commutepass.domain.clock import local_date
from commutepass.domain.facts import Membership, NatResult, Override, PersonFacts, Source, Visit
from commutepass.domain.policy import CommuterClass, Policy

NAT_LOOKBACK = timedelta(days=60)
"""How far back NAT results are read: the rules read ≤ 15 days; the explanation wants the latest
negative even when it has expired."""
NAT_LIMIT = 64

EVERYTHING_RECORDED = datetime(9999, 12, 31, tzinfo=UTC)
"""The recorded-time horizon of a question asked without ``known_at``: every row recorded so far."""

_SQL = {
    "person": "SELECT id FROM people WHERE person_key = ?",
    "entry": (
        "SELECT commuter_class, source, valid_from, home_county, evidence FROM commuter_entries "
        "WHERE person_id = ? AND valid_from <= ? AND recorded_at <= ? "
        "AND (valid_to IS NULL OR valid_to > ? OR ended_at > ?) "
        "ORDER BY valid_from DESC LIMIT 1"
    ),
    "nats": (
        "SELECT sampled_at, reported_at, positive, lab FROM nat_results "
        "WHERE person_id = ? AND reported_at <= ? AND reported_at > ? AND recorded_at <= ? "
        f"ORDER BY reported_at DESC LIMIT {NAT_LIMIT}"
    ),
    "overrides": (
        "SELECT field, valid_from, valid_to, reason, appeal_id FROM overrides "
        "WHERE person_id = ? AND valid_from <= ? AND valid_to > ? AND recorded_at <= ? ORDER BY id"
    ),
    "visits": (
        "SELECT day, county FROM itinerary WHERE person_id = ? AND day >= ? AND day <= ? AND recorded_at <= ?"
    ),
    # the last entry: a recorded passage or a check that let the person in (each an index probe)
    "last_entry": (
        "SELECT (SELECT MAX(event_time) FROM travel WHERE person_id = ? AND direction = 'enter' "
        "AND event_time < ? AND recorded_at <= ?), "
        "(SELECT MAX(at) FROM checks WHERE person_id = ? AND entered = ? AND at < ? AND recorded_at <= ?)"
    ),
}


_ONE = (
    # one round trip for a check: the person's row id and every slice ``facts`` reads, each
    # branch the statement of ``_SQL`` (the same indexes), tagged, its values as text (one
    # column type for the union on both engines), parsed back by ``FactReader.person_facts``
    "WITH p AS (SELECT id FROM people WHERE person_key = ?) "
    "SELECT 'p', CAST(id AS TEXT), NULL, NULL, NULL, NULL, NULL FROM p "
    "UNION ALL SELECT * FROM (SELECT 'e', CAST(commuter_class AS TEXT), CAST(source AS TEXT), "
    "CAST(valid_from AS TEXT), CAST(home_county AS TEXT), CAST(evidence AS TEXT), NULL "
    "FROM commuter_entries WHERE person_id = (SELECT id FROM p) AND valid_from <= ? AND recorded_at <= ? "
    "AND (valid_to IS NULL OR valid_to > ? OR ended_at > ?) ORDER BY valid_from DESC LIMIT 1) AS e "
    "UNION ALL SELECT * FROM (SELECT 'n', CAST(sampled_at AS TEXT), CAST(reported_at AS TEXT), "
    "CAST(positive AS TEXT), CAST(lab AS TEXT), NULL, NULL FROM nat_results "
    "WHERE person_id = (SELECT id FROM p) AND reported_at <= ? AND reported_at > ? AND recorded_at <= ? "
    f"ORDER BY reported_at DESC LIMIT {NAT_LIMIT}) AS n "
    "UNION ALL SELECT 'v', CAST(day AS TEXT), CAST(county AS TEXT), NULL, NULL, NULL, NULL FROM itinerary "
    "WHERE ? AND person_id = (SELECT id FROM p) AND day >= ? AND day <= ? AND recorded_at <= ? "
    "UNION ALL SELECT 'l', CAST((SELECT MAX(event_time) FROM travel WHERE person_id = p.id "
    "AND direction = 'enter' AND event_time < ? AND recorded_at <= ?) AS TEXT), "
    "CAST((SELECT MAX(at) FROM checks WHERE person_id = p.id AND entered = ? AND at < ? "
    "AND recorded_at <= ?) AS TEXT), NULL, NULL, NULL, NULL FROM p "
    "UNION ALL SELECT 'o', CAST(field AS TEXT), CAST(valid_from AS TEXT), CAST(valid_to AS TEXT), "
    "CAST(reason AS TEXT), CAST(appeal_id AS TEXT), CAST(id AS TEXT) FROM overrides "
    "WHERE person_id = (SELECT id FROM p) AND valid_from <= ? AND valid_to > ? AND recorded_at <= ?"
)
"""Branches: the person (``p``), the entry in force (``e``), NAT results (``n``), trip-card days
(``v``, only when the policy counts risk travel), the last entry (``l``), overrides (``o``)."""
_ONE_PG = _ONE.replace("?", "%s")


def _text_time(value: str) -> datetime:
    """A time read back as text (SQLite stores it so; PostgreSQL's ``timestamp::text``)."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def sqlite_time(value: datetime) -> str:
    """How SQLAlchemy stores a naive-UTC DateTime in SQLite (compared as text)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def pg_time(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


_SQL_PG = {name: sql.replace("?", "%s") for name, sql in _SQL.items()}


@dataclass(frozen=True, slots=True)
class DriverStyle:
    """How values go to the driver as SQLAlchemy would store them (times as naive UTC: text on
    SQLite, compared as text; booleans as 0/1 on SQLite), and the driver's placeholder."""

    time: Callable[[datetime], Any]
    day: Callable[[date], Any]
    flag: Callable[[bool], Any]
    placeholder: str

    @classmethod
    def of(cls, conn: Connection) -> DriverStyle:
        return _SQLITE_STYLE if conn.dialect.name == "sqlite" else _PG_STYLE


def _read_time(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    result: datetime = value.replace(tzinfo=UTC)
    return result


def _read_date(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def on_driver(conn: Connection, sql: str, params: Any, *, many: bool = False, raw: Any = None) -> list[Any]:
    """Run one statement on the driver's own cursor (the hot paths skip SQLAlchemy's statement
    handling, a fixed cost per statement) and return its rows (none for ``many``: an
    executemany). A driver error comes out as SQLAlchemy's wrapper of it, as from any other
    statement: the store lost mid-statement is an ``OperationalError`` (503 to a client, not
    the driver's own class, a 500), and the connection is invalidated as SQLAlchemy would.
    ``raw``: the driver connection, when the caller keeps it (``conn.connection.driver_connection``)."""
    driver = raw if raw is not None else conn.connection.driver_connection
    cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, params)
            return []
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    except conn.dialect.loaded_dbapi.Error as exc:
        lost = conn.dialect.is_disconnect(exc, conn.connection, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            params,
            exc,
            conn.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=conn.dialect,
        ) from exc
    finally:
        cursor.close()


_SQLITE_STYLE = DriverStyle(sqlite_time, date.isoformat, int, "?")
_PG_STYLE = DriverStyle(pg_time, lambda d: d, bool, "%s")


class FactReader:
    """Reads facts over one SQLAlchemy connection (SQLite or PostgreSQL).

    Every fact has two times: when it holds in the world (``at``: a NAT's report time, an entry's
    validity, a trip-card day) and when the system recorded it (``recorded_at``). ``facts`` reads
    the rows that hold at ``at`` among those recorded by ``known_at`` (None: all recorded so far);
    an entry ended later than ``known_at`` is still open as known then."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = conn.connection.driver_connection
        style = DriverStyle.of(conn)
        self._time = style.time
        self._day = style.day
        self._true = style.flag(True)
        self._sql = _SQL if style.placeholder == "?" else _SQL_PG
        self._one = _ONE if style.placeholder == "?" else _ONE_PG
        self._risk_on = (style.flag(True), style.flag(False))

    def _all(self, name: str, *params: Any) -> list[Any]:
        return on_driver(self._conn, self._sql[name], params, raw=self._raw)

    def person_id(self, key: str) -> int | None:
        rows = self._all("person", key)
        return int(rows[0][0]) if rows else None

    def facts(
        self,
        person_id: int,
        birth_date: date,
        at: datetime,
        policy: Policy,
        known_at: datetime | None = None,
    ) -> PersonFacts:
        t = self._time(at)
        k = self._time(known_at or EVERYTHING_RECORDED)
        entry = self._all("entry", person_id, t, k, t, k)
        membership = None
        if entry:
            cls, source, valid_from, home, evidence = entry[0]
            membership = Membership(
                CommuterClass(cls), Source(source), _read_time(valid_from), home, evidence
            )
        nats = tuple(
            NatResult(_read_time(s), _read_time(r), bool(p), lab)
            for s, r, p, lab in self._all("nats", person_id, t, self._time(at - NAT_LOOKBACK), k)
        )
        visits: tuple[Visit, ...] = ()
        if policy.risk.enabled:
            today = local_date(at)
            first = today - timedelta(days=policy.risk.lookback_days - 1)
            visits = tuple(
                Visit(_read_date(d), c)
                for d, c in self._all("visits", person_id, self._day(first), self._day(today), k)
            )
        (by_travel, by_check), *_ = self._all("last_entry", person_id, t, k, person_id, self._true, t, k)
        entries = [_read_time(value) for value in (by_travel, by_check) if value is not None]
        last_entry = max(entries) if entries else None
        corrections = tuple(
            Override(field, _read_time(start), _read_time(end), reason, appeal)
            for field, start, end, reason, appeal in self._all("overrides", person_id, t, t, k)
        )
        return PersonFacts(
            birth_date=birth_date,
            overrides=corrections,
            membership=membership,
            nats=nats,
            visits=visits,
            last_entry_at=last_entry,
            entered_under_policy=last_entry is not None and last_entry >= policy.effective_from,
        )

    def person_facts(
        self,
        key: str,
        birth_date: date,
        at: datetime,
        policy: Policy,
        known_at: datetime | None = None,
    ) -> tuple[int | None, PersonFacts]:
        """``person_id`` and ``facts`` in one statement (one round trip to the store instead of
        six): the person's row id (None if never seen) and their facts, read with the same
        conditions (a test compares the two on both engines, person by person)."""
        t = self._time(at)
        k = self._time(known_at or EVERYTHING_RECORDED)
        today = local_date(at)
        first = today - timedelta(days=policy.risk.lookback_days - 1)
        risk = self._risk_on[0] if policy.risk.enabled else self._risk_on[1]
        params = (
            key,
            *(t, k, t, k),
            *(t, self._time(at - NAT_LOOKBACK), k),
            *(risk, self._day(first), self._day(today), k),
            *(t, k, self._true, t, k),
            *(t, t, k),
        )
        rows = on_driver(self._conn, self._one, params, raw=self._raw)
        person_id: int | None = None
        membership = None
        nats: list[NatResult] = []
        visits: list[Visit] = []
        overrides: list[tuple[int, Override]] = []
        last_entry: datetime | None = None
        for tag, a, b, c, d, e, f in rows:
            if tag == "n":
                nats.append(NatResult(_text_time(a), _text_time(b), c in ("1", "true"), d))
            elif tag == "v":
                visits.append(Visit(date.fromisoformat(a), b))
            elif tag == "p":
                person_id = int(a)
            elif tag == "e":
                membership = Membership(CommuterClass(a), Source(b), _text_time(c), d, e)
            elif tag == "l":
                entries = [_text_time(v) for v in (a, b) if v is not None]
                last_entry = max(entries) if entries else None
            elif tag == "o":
                overrides.append(
                    (int(f), Override(a, _text_time(b), _text_time(c), d, int(e) if e is not None else None))
                )
        if person_id is None:
            return None, PersonFacts(birth_date=birth_date)
        nats.sort(key=lambda n: n.reported_at, reverse=True)  # stable: ties keep the store's order
        overrides.sort(key=lambda o: o[0])
        return person_id, PersonFacts(
            birth_date=birth_date,
            overrides=tuple(o for _id, o in overrides),
            membership=membership,
            nats=tuple(nats),
            visits=tuple(visits),
            last_entry_at=last_entry,
            entered_under_policy=last_entry is not None and last_entry >= policy.effective_from,
        )
