"""The facts of a check from memory: an index of the store's fact rows, kept current from it.

``FactReader.person_facts`` reads a person's facts with one statement per check. This index
answers the same question from memory: it loads, once, every fact row a check near the moment
it was first asked about can read (entries, NAT results, trip-card days and reviewers'
corrections within the longest window any rule reads, every entry into Beijing since then and
each person's last one before), and then, at most once a second, reads what the store gained
since (``refresh``). Every row keeps both its times: when it holds in the world and when the
system recorded it, so a question asked with ``known_at`` is answered as the store would answer
it. The answer is the reader's, row for row (``tests/integration/test_fact_index.py`` compares
the two person by person on both engines, at several moments and horizons, while the store
changes).

How it stays current, exactly:

- *new rows* are read by row id above what was seen. On SQLite writers take turns, so ids
  commit in order. On PostgreSQL an id is taken when a row is written and becomes visible when
  its transaction commits, so a lower id can appear after a higher one: ids skipped by a read
  are kept as gaps and read again until no transaction that was open when the gap was seen is
  still open (``pg_stat_activity``) — then the row either came or never will (a rollback).
- *changed rows*: an entry is ended by an update and retention deletes old rows; both append to
  ``fact_changes`` (revision 0012), read the same way. An ended entry is updated in place; a
  purge reloads the index.
- *this process's own checks* are noted when they are stored (``note_checks``), so the next
  check of the same person here sees them at once, as it did when it read the store; another
  server process sees them at its next refresh, within a second (as risk areas are today).

What it does not answer (``person_facts`` returns None and the caller reads the store): a moment
earlier than the index's window allows, a ``known_at`` before it was loaded, and a person whose
row id it has not seen (read once from the store, then kept).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from bisect import insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, event, func, or_, select, text, type_coerce
from sqlalchemy.types import NullType

from commutepass.domain.clock import local_date
from commutepass.domain.facts import Membership, NatResult, Override, PersonFacts, Source, Visit
from commutepass.domain.policy import CommuterClass, Policy
from commutepass.store.facts import NAT_LIMIT, NAT_LOOKBACK
from commutepass.store.tables import (
    checks,
    commuter_entries,
    fact_changes,
    itinerary,
    loads,
    nat_results,
    overrides,
    people,
    travel,
)

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0
"""How often the store is asked what changed: a change is seen within this (and a refresh)."""
SLACK = timedelta(days=2)
"""How far before the first moment asked about the index still answers (late uploads, a check
asked about a day ago)."""
REBASE_AFTER = timedelta(days=7)
"""A question this far past the window's start reloads the index (its memory stays bounded)."""

RETRY_SECONDS = 30.0
"""After a load is started (or failed), how long before another is tried."""
LOAD_WAIT_SECONDS = 30.0
"""PostgreSQL: how long a load waits for the transactions open when it began to end."""

NOTED = "fact_index_noted"
"""Set in a connection's ``info`` for one transaction by a writer that notes its checks itself
(``note_checks``): its commit does not make the index read the store again (cleared at its end)."""
_COMMITTED = "facts_committed"
"""A connection's mark: it committed facts (set at the commit's announcement, read after it)."""
_WRITES_FACTS = re.compile(
    r"\s*(INSERT INTO|UPDATE|DELETE FROM) (commuter_entries|nat_results|overrides|itinerary|travel|checks"
    r"|fact_changes|people)\b",
    re.IGNORECASE,
)
"""A statement that changes the facts a check reads: when this process commits one, the next
question reads what changed first (so an override a reviewer just recorded here decides the next
check here; another process sees it within a second)."""

_FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)
_SPAN = REBASE_AFTER + NAT_LOOKBACK + SLACK


@dataclass(slots=True)
class _Entry:
    id: int
    commuter_class: str
    source: str
    valid_from: datetime
    valid_to: datetime | None
    ended_at: datetime | None
    home_county: str | None
    evidence: str | None
    recorded_at: datetime


@dataclass(slots=True)
class _Person:
    """One person's rows in the window (each with its recorded time)."""

    entries: list[_Entry] = field(default_factory=list)
    nats: list[tuple[datetime, int, datetime, bool, str, datetime]] = field(default_factory=list)
    """(reported_at, id, sampled_at, positive, lab, recorded_at)"""
    visits: list[tuple[date, str, datetime]] = field(default_factory=list)
    overrides: list[tuple[int, str, datetime, datetime, str, int | None, datetime]] = field(
        default_factory=list
    )
    """(id, field, valid_from, valid_to, reason, appeal_id, recorded_at)"""
    travel_in: list[tuple[datetime, datetime]] = field(default_factory=list)
    """Entries into Beijing by travel records: (event_time, recorded_at)."""
    checks_in: list[tuple[datetime, datetime]] = field(default_factory=list)
    """Checks that let the person in: (at, recorded_at)."""
    travel_before: datetime | None = None
    """The last entry by travel records before the window (recorded before the index loaded)."""
    checks_before: datetime | None = None


class _Ids:
    """Row ids read so far from one table: the highest seen and, on PostgreSQL, the gaps below
    it whose rows may still commit (each with the database time it was seen)."""

    def __init__(self, high: int) -> None:
        self.high = high
        self.gaps: list[tuple[int, int, datetime]] = []

    def saw(self, ids: Iterable[int], at: datetime | None) -> None:
        """Ids read above ``high`` (sorted or not); ``at``: the database time after the read, on
        PostgreSQL (None on SQLite: ids there commit in order, a skipped id never comes)."""
        for row_id in sorted(ids):
            if row_id <= self.high:
                continue
            if at is not None and row_id > self.high + 1:
                self.gaps.append((self.high + 1, row_id - 1, at))
            self.high = row_id

    def fill(self, ids: Iterable[int]) -> None:
        """Ids read inside the gaps: each leaves its gap (split around it)."""
        for row_id in ids:
            kept: list[tuple[int, int, datetime]] = []
            for lo, hi, seen in self.gaps:
                if lo <= row_id <= hi:
                    if lo < row_id:
                        kept.append((lo, row_id - 1, seen))
                    if row_id < hi:
                        kept.append((row_id + 1, hi, seen))
                else:
                    kept.append((lo, hi, seen))
            self.gaps = kept

    def settle(self, oldest_open: datetime | None) -> None:
        """Drop the gaps no open transaction can fill any more: seen before the oldest transaction
        open when the refresh began began (the gaps were read again after that: their rows, if
        they came, were read)."""
        self.gaps = [g for g in self.gaps if oldest_open is not None and g[2] >= oldest_open]

    def where(self, column: Any) -> Any:
        """The rows above ``high`` or in a gap."""
        # every gap, always: ``settle`` may drop a gap only after it was read again
        return or_(column > self.high, *(column.between(lo, hi) for lo, hi, _seen in self.gaps))


@dataclass(slots=True)
class _State:
    """Everything one load read, and what refreshes added since (swapped whole on a reload)."""

    floor: datetime
    """Rows holding from here on are all in memory (world time)."""
    loaded_at: datetime = _FAR_FUTURE
    """Every row recorded before this (the store's clock) was read by the load or a refresh."""
    people: dict[int, _Person] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    entries: dict[int, _Entry] = field(default_factory=dict)
    ids: dict[str, _Ids] = field(default_factory=dict)
    purged: bool = False
    """Retention deleted rows since the load: reload."""

    def person(self, person_id: int) -> _Person:
        person = self.people.get(person_id)
        if person is None:
            person = self.people[person_id] = _Person()
        return person


class FactIndex:
    """Facts of every person from memory (see the module's text). Thread-safe: one thread at a
    time refreshes (the others go on with what is in memory); changes are applied under a short
    lock; a load builds a new state beside the one in use and swaps it in whole.

    ``background``: a load runs in its own thread while the store answers (a server); else on
    the first question (a batch, which asks many at once)."""

    def __init__(
        self, engine: Engine, *, refresh_seconds: float = REFRESH_SECONDS, background: bool = False
    ) -> None:
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self.background = background
        self._postgres = engine.dialect.name == "postgresql"
        self._busy = threading.Lock()
        """Held by the one thread loading or refreshing."""
        self._apply = threading.Lock()
        """Held while rows are applied to the state (short)."""
        self._state: _State | None = None
        self._refreshed = 0.0
        self._retry_at = 0.0
        self.loads = 0
        """How many times the index was loaded (a purge or a move of the window reloads)."""
        self._dirty = False
        event.listen(engine, "after_cursor_execute", self._saw_statement)
        event.listen(engine, "commit", self._saw_commit)
        event.listen(engine, "rollback", self._saw_rollback)
        event.listen(engine, "begin", self._saw_begin)
        event.listen(engine, "checkin", self._saw_checkin)

    def close(self) -> None:
        """Stop watching this process's writes (the index is no longer asked); once is enough."""
        if not event.contains(self.engine, "commit", self._saw_commit):
            return
        event.remove(self.engine, "after_cursor_execute", self._saw_statement)
        event.remove(self.engine, "commit", self._saw_commit)
        event.remove(self.engine, "rollback", self._saw_rollback)
        event.remove(self.engine, "begin", self._saw_begin)
        event.remove(self.engine, "checkin", self._saw_checkin)

    # --- this process's own writes: read at the next question, not a second later --------------

    # An invalidated connection (the store went away mid-transaction) is left alone: reading its
    # ``info`` would try to reconnect and, inside the transaction being rolled back, raise
    # SQLAlchemy's PendingRollbackError in place of the store's own error (a 500 instead of a
    # 503); its marks went with the broken DBAPI connection anyway.

    def _saw_statement(self, conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if _WRITES_FACTS.match(statement) and not conn.invalidated and not conn.info.get(NOTED):
            conn.info["facts_written"] = True

    # SQLAlchemy announces a commit before it happens: a refresh by another thread in between
    # reads the store without the new rows and clears the mark. So the mark is set again once
    # the commit is surely over: when the connection goes back to the pool (``with`` blocks, before
    # control returns to the caller), or begins its next transaction (a connection held on).

    def _saw_commit(self, conn: Connection) -> None:
        if conn.invalidated:
            return
        conn.info.pop(NOTED, None)
        if conn.info.pop("facts_written", False):
            self._dirty = True
            conn.info[_COMMITTED] = True

    def _saw_begin(self, conn: Connection) -> None:
        if not conn.invalidated and conn.info.pop(_COMMITTED, False):
            self._dirty = True

    def _saw_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_COMMITTED, False):
            self._dirty = True

    def _saw_rollback(self, conn: Connection) -> None:
        if conn.invalidated:
            return
        conn.info.pop(NOTED, None)
        conn.info.pop("facts_written", None)

    @property
    def loaded_at(self) -> datetime:
        return self._state.loaded_at if self._state is not None else _FAR_FUTURE

    @property
    def _ids(self) -> dict[str, _Ids]:
        return self._state.ids if self._state is not None else {}

    # --- answering ---------------------------------------------------------------------------

    @staticmethod
    def _answers(state: _State, at: datetime, known_at: datetime | None, policy: Policy) -> bool:
        """Whether a question at ``at`` as known at ``known_at`` lies inside what is in memory."""
        first_day = local_date(at) - timedelta(days=policy.risk.lookback_days - 1)
        return (
            at - NAT_LOOKBACK > state.floor
            and first_day > state.floor.date()
            and (known_at is None or known_at >= state.loaded_at)
        )

    def person_facts(
        self, key: str, birth_date: date, at: datetime, policy: Policy, known_at: datetime | None = None
    ) -> tuple[int | None, PersonFacts] | None:
        """``FactReader.person_facts`` from memory, or None when the index cannot answer (the
        caller reads the store, then tells the index the person's id: ``note_person``)."""
        state = self._keep_current(at)
        if state is None or not self._answers(state, at, known_at, policy):
            return None
        person_id = state.keys.get(key)
        if person_id is None:
            return None
        person = state.people.get(person_id)
        if person is None:
            return person_id, PersonFacts(birth_date=birth_date)
        return person_id, self._facts(person, birth_date, at, policy, known_at or _FAR_FUTURE)

    @staticmethod
    def _facts(p: _Person, birth_date: date, t: datetime, policy: Policy, k: datetime) -> PersonFacts:
        membership = None
        best: _Entry | None = None
        for e in p.entries:
            if (
                e.valid_from <= t
                and e.recorded_at <= k
                and (e.valid_to is None or e.valid_to > t or (e.ended_at is not None and e.ended_at > k))
                and (best is None or (e.valid_from, e.id) > (best.valid_from, best.id))
            ):
                best = e
        if best is not None:
            membership = Membership(
                CommuterClass(best.commuter_class),
                Source(best.source),
                best.valid_from,
                best.home_county,
                best.evidence,
            )
        everything = k is _FAR_FUTURE  # no recorded-time horizon: no row left out for it
        since = t - NAT_LOOKBACK
        chosen: list[NatResult] = []
        for reported, _id, sampled, positive, lab, rec in reversed(p.nats):  # latest first
            if reported > t:
                continue
            if reported <= since or len(chosen) == NAT_LIMIT:
                break
            if everything or rec <= k:
                chosen.append(NatResult(sampled, reported, positive, lab))
        visits: tuple[Visit, ...] = ()
        if policy.risk.enabled:
            today = local_date(t)
            first = today - timedelta(days=policy.risk.lookback_days - 1)
            kept: list[Visit] = []
            for d, c, rec in p.visits:  # by day
                if d > today:
                    break
                if d >= first and (everything or rec <= k):
                    kept.append(Visit(d, c))
            visits = tuple(kept)
        candidates = [
            v
            for v in (
                _last_before(p.travel_in, t, k, everything),
                p.travel_before,
                _last_before(p.checks_in, t, k, everything),
                p.checks_before,
            )
            if v is not None and v < t
        ]
        last_entry = max(candidates) if candidates else None
        corrections = tuple(
            Override(f, vf, vt, reason, appeal)
            for _id, f, vf, vt, reason, appeal, rec in p.overrides  # by row id
            if vf <= t and vt > t and (everything or rec <= k)
        )
        return PersonFacts(
            birth_date=birth_date,
            overrides=corrections,
            membership=membership,
            nats=tuple(chosen),
            visits=visits,
            last_entry_at=last_entry,
            entered_under_policy=last_entry is not None and last_entry >= policy.effective_from,
        )

    # --- what this process learned itself ------------------------------------------------------

    def note_person(self, key: str, person_id: int | None) -> None:
        """A person's row id as the store gave it (read or just created)."""
        state = self._state
        if person_id is not None and state is not None:
            state.keys[key] = person_id

    def note_checks(self, rows: Sequence[dict[str, Any] | None]) -> None:
        """Checks this process stored and committed (each row with its ``recorded_at``, as
        ``checks.repository`` stored it): the ones that let the person in count as entries at
        once (a refresh may read them again: an entry counted twice is still the same last entry)."""
        state = self._state
        if state is None:
            return
        with self._apply:
            for row in rows:
                if row is not None and row["entered"] and row["person_id"] is not None:
                    insort(state.person(int(row["person_id"])).checks_in, (row["at"], row["recorded_at"]))

    # --- loading and refreshing -----------------------------------------------------------------

    def _keep_current(self, at: datetime) -> _State | None:
        """The state to answer a question at ``at`` from, refreshed if due; None while it has to
        be (re)loaded first (the store answers meanwhile)."""
        state = self._state
        if state is not None and not state.purged and at - state.floor < _SPAN:
            if not self._dirty and time.monotonic() - self._refreshed < self.refresh_seconds:
                return state
            if not self._busy.acquire(blocking=False):  # another thread is at it: go on
                return state
            try:
                self._refresh(state)
            finally:
                self._busy.release()
            if not state.purged:
                return state
        if time.monotonic() < self._retry_at or not self._busy.acquire(blocking=False):
            return None  # a load is under way or just failed
        self._retry_at = time.monotonic() + RETRY_SECONDS
        floor = at - NAT_LOOKBACK - SLACK
        if self.background:
            threading.Thread(
                target=self._load_and_release, args=(floor,), name="fact-index", daemon=True
            ).start()
            return None
        self._load_and_release(floor)
        state = self._state
        return state if state is not None and not state.purged and at - state.floor < _SPAN else None

    def _load_and_release(self, floor: datetime) -> None:
        try:
            self._load(floor)
        except Exception:  # the store is unavailable: it answers (or fails) on its own meanwhile
            logger.exception("fact index not loaded; checks read the store")
        finally:
            self._busy.release()

    def load(self, floor: datetime) -> bool:
        """Load the rows a question from ``floor + NAT_LOOKBACK`` on can read, now (a test, a
        bench); whether it loaded."""
        with self._busy:
            return self._load(floor)

    def refresh(self) -> None:
        """Read what the store gained since the last read, now."""
        with self._busy:
            if self._state is not None:
                self._refresh(self._state)

    def _load(self, floor: datetime) -> bool:
        state = _State(floor)
        floor_day = floor.date()
        with self.engine.connect() as conn:
            highs = {
                name: conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
                for name, table in _ID_TABLES.items()
            }
            if self._postgres and not self._settled(conn, self._db_time(conn)):
                logger.warning(
                    "fact index: a writing transaction older than the load is still open; retrying later"
                )
                return False
            # read at or below the highs: rows above them are the first refresh's
            self._read_entries(
                state,
                _rows(
                    conn, _ENTRY_COLUMNS, and_(_live_entry(floor), commuter_entries.c.id <= highs["entries"])
                ),
            )
            self._read_nats(
                state,
                _rows(
                    conn,
                    _NAT_COLUMNS,
                    and_(nat_results.c.reported_at > floor, nat_results.c.id <= highs["nats"]),
                ),
            )
            self._read_visits(
                state,
                _rows(
                    conn,
                    _VISIT_COLUMNS,
                    and_(itinerary.c.day >= floor_day, itinerary.c.load_id <= highs["loads"]),
                ),
            )
            self._read_overrides(
                state,
                _rows(
                    conn,
                    _OVERRIDE_COLUMNS,
                    and_(overrides.c.valid_to > floor, overrides.c.id <= highs["overrides"]),
                ),
            )
            self._read_travel(
                state,
                _rows(
                    conn,
                    _TRAVEL_COLUMNS,
                    and_(
                        travel.c.direction == "enter",
                        travel.c.event_time >= floor,
                        travel.c.id <= highs["travel"],
                    ),
                ),
                late=False,
            )
            self._read_checks(
                state, _rows(conn, _CHECK_COLUMNS, and_(checks.c.at >= floor, checks.c.id <= highs["checks"]))
            )
            for person_id, last in conn.execute(
                select(travel.c.person_id, func.max(travel.c.event_time))
                .where(
                    travel.c.direction == "enter", travel.c.event_time < floor, travel.c.id <= highs["travel"]
                )
                .group_by(travel.c.person_id)
            ):
                state.person(person_id).travel_before = _utc(last)
            for person_id, last in conn.execute(
                select(checks.c.person_id, func.max(checks.c.at))
                .where(checks.c.entered.is_(True), checks.c.at < floor, checks.c.id <= highs["checks"])
                .group_by(checks.c.person_id)
            ):
                if person_id is not None:
                    state.person(person_id).checks_before = _utc(last)
            for person_id, key in conn.execute(
                select(people.c.id, people.c.person_key).where(people.c.id <= highs["people"])
            ):
                if person_id in state.people:
                    state.keys[key] = person_id
            state.ids = {name: _Ids(high) for name, high in highs.items()}
        self._refresh(state)
        # rows recorded before the refresh above are in memory with their recorded times
        state.loaded_at = self._last_read
        self._state = state
        self.loads += 1
        self._refresh(state)  # what this process noted into the old state meanwhile is read again
        return True

    def _refresh(self, state: _State) -> None:
        """Read what the store gained since the last read (the caller is the one busy thread)."""
        dirty, self._dirty = self._dirty, False
        self._refreshed = time.monotonic()
        try:
            self._read_and_apply(state)
        except BaseException:  # nothing applied: a fact this process wrote is still to be read
            self._dirty = self._dirty or dirty
            raise

    def _read_and_apply(self, state: _State) -> None:
        with self.engine.connect() as conn:
            oldest_open = None
            if self._postgres:
                # the oldest open transaction first, then every read in one snapshot taken after
                # it (a gap is dropped only once what could fill it committed before that
                # snapshot); one snapshot, so a transaction's rows come all or none (a new
                # person's row never without their facts, read by another statement)
                oldest_open = self._oldest_open(conn)
                conn.commit()
                conn.execution_options(isolation_level="REPEATABLE READ")
            # the people first: on SQLite, where each read is its own snapshot, a person's row
            # read means their facts committed with it are read too (commits only add)
            got_people = self._new(conn, state, "people", people, people.c.person_key)
            changes = self._new(
                conn, state, "changes", fact_changes, fact_changes.c.kind, fact_changes.c.row_id
            )
            if any(kind == "purge" for _id, kind, _row in changes):
                state.purged = True  # the next question reloads
                return
            ended = [row_id for _id, kind, row_id in changes if kind == "entry_end" and row_id is not None]
            c = commuter_entries.c
            # every read first, then applied together: a refresh the store fails in the middle
            # of leaves the state as it was (its rows are read again next time, not added twice)
            got_entries = _rows(conn, _ENTRY_COLUMNS, state.ids["entries"].where(c.id))
            got_ended = (
                list(conn.execute(select(c.id, c.valid_to, c.ended_at).where(c.id.in_(ended))))
                if ended
                else []
            )
            got_nats = _rows(conn, _NAT_COLUMNS, state.ids["nats"].where(nat_results.c.id))
            got_overrides = _rows(conn, _OVERRIDE_COLUMNS, state.ids["overrides"].where(overrides.c.id))
            got_travel = _rows(conn, _TRAVEL_COLUMNS, state.ids["travel"].where(travel.c.id))
            got_checks = _rows(conn, _CHECK_COLUMNS, state.ids["checks"].where(checks.c.id))
            got_loads = self._new(conn, state, "loads", loads)
            new_loads = [row[0] for row in got_loads]
            got_visits = _rows(conn, _VISIT_COLUMNS, itinerary.c.load_id.in_(new_loads)) if new_loads else []
            last_read = self._db_time(conn)
            conn.rollback()  # read only
        read = {  # each table's rows read (the row id first), for its id tracker
            "changes": changes,
            "entries": got_entries,
            "nats": got_nats,
            "overrides": got_overrides,
            "travel": got_travel,
            "checks": got_checks,
            "loads": got_loads,
            "people": got_people,
        }
        with self._apply:
            self._read_entries(state, got_entries)
            for entry_id, valid_to, ended_at in got_ended:
                entry = state.entries.get(entry_id)
                if entry is not None:
                    entry.valid_to = valid_to
                    entry.ended_at = ended_at
            self._read_nats(state, got_nats)
            self._read_overrides(state, got_overrides)
            self._read_travel(state, got_travel, late=True)
            self._read_checks(state, got_checks)
            self._read_visits(state, got_visits)
            for person_id, key in got_people:
                state.keys[key] = person_id
            self._last_read = last_read
            seen_at = last_read if self._postgres else None
            for name, ids in state.ids.items():
                got = [row[0] for row in read.get(name, ())]
                filled = [i for i in got if i <= ids.high]
                ids.settle(oldest_open)
                ids.saw(got, seen_at)
                ids.fill(filled)

    _last_read: datetime = _FAR_FUTURE

    def _new(self, conn: Connection, state: _State, name: str, table: Any, *columns: Any) -> list[Any]:
        rows = conn.execute(select(table.c.id, *columns).where(state.ids[name].where(table.c.id)))
        return [tuple(r) for r in rows]

    # Each ``_read_*`` applies rows fetched by ``_rows`` with its table's columns, in order.

    def _read_entries(self, state: _State, rows: list[Any]) -> None:
        for row_id, person_id, cls, source, start, end, ended, home, evidence, recorded in rows:
            if row_id in state.entries:
                continue
            entry = _Entry(
                row_id,
                cls,
                source,
                _t(start),
                _t_or_none(end),
                _t_or_none(ended),
                home,
                evidence,
                _t(recorded),
            )
            state.entries[row_id] = entry
            state.person(person_id).entries.append(entry)

    def _read_nats(self, state: _State, rows: list[Any]) -> None:
        floor = state.floor
        for row_id, person_id, sampled, reported, positive, lab, recorded in rows:
            reported = _t(reported)
            if reported > floor:
                insort(
                    state.person(person_id).nats,
                    (reported, row_id, _t(sampled), bool(positive), lab, _t(recorded)),
                )

    def _read_visits(self, state: _State, rows: list[Any]) -> None:
        floor_day = state.floor.date()
        for person_id, day, county, recorded in rows:
            day = date.fromisoformat(day) if isinstance(day, str) else day
            if day >= floor_day:
                insort(state.person(person_id).visits, (day, county, _t(recorded)))

    def _read_overrides(self, state: _State, rows: list[Any]) -> None:
        for row_id, person_id, field_, start, end, reason, appeal, recorded in rows:
            insort(
                state.person(person_id).overrides,
                (row_id, field_, _t(start), _t(end), reason, appeal, _t(recorded)),
            )

    def _read_travel(self, state: _State, rows: list[Any], *, late: bool) -> None:
        """Entries by travel records; ``late``: a refresh, where a row from before the window
        counts too (the load reads those as each person's last one before it)."""
        floor = state.floor
        for _row_id, person_id, direction, event_time, recorded in rows:
            if direction == "enter":
                event_time = _t(event_time)
                if late or event_time >= floor:
                    insort(state.person(person_id).travel_in, (event_time, _t(recorded)))

    def _read_checks(self, state: _State, rows: list[Any]) -> None:
        for _row_id, person_id, entered, at, recorded in rows:
            if entered and person_id is not None:
                insort(state.person(person_id).checks_in, (_t(at), _t(recorded)))

    def _settled(self, conn: Connection, since: datetime) -> bool:
        """PostgreSQL: wait until every writing transaction open at ``since`` has ended (a row id
        at or below the highs just read is then final); False after ``LOAD_WAIT_SECONDS``."""
        deadline = time.monotonic() + LOAD_WAIT_SECONDS
        while True:
            oldest = self._oldest_open(conn)
            if oldest is None or oldest > since:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    @staticmethod
    def _db_time(conn: Connection) -> datetime:
        """The store's clock, after the reads before it (rows recorded by then were read or come
        with a later id)."""
        if conn.dialect.name == "postgresql":
            value = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
            return _utc(value)
        return datetime.now(UTC)

    @staticmethod
    def _oldest_open(conn: Connection) -> datetime | None:
        """When the oldest transaction that may write a row began, among those open now (other
        than this one): holding a transaction id (it wrote), or running a statement (it may be
        about to: an id is taken just before the transaction gets its own)."""
        # the activity view is kept for the rest of a transaction once read: read it afresh
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        value = conn.execute(
            text(
                "SELECT min(xact_start) FROM pg_stat_activity WHERE xact_start IS NOT NULL "
                "AND pid <> pg_backend_pid() AND (backend_xid IS NOT NULL OR state = 'active')"
            )
        ).scalar_one()
        return _utc(value) if value is not None else None


_ID_TABLES = {
    "changes": fact_changes,
    "entries": commuter_entries,
    "nats": nat_results,
    "overrides": overrides,
    "travel": travel,
    "checks": checks,
    "loads": loads,
    "people": people,
}


def _live_entry(floor: datetime) -> Any:
    """Entries a question from the floor on can find: open, or ended (in the world or as recorded)
    after it."""
    c = commuter_entries.c
    return or_(c.valid_to.is_(None), c.valid_to > floor, c.ended_at > floor)


def _last_before(
    entries: list[tuple[datetime, datetime]], t: datetime, k: datetime, everything: bool
) -> datetime | None:
    """The latest entry before ``t`` recorded by ``k`` (``entries`` by time)."""
    for at, rec in reversed(entries):
        if at < t and (everything or rec <= k):
            return at
    return None


def _rows(conn: Connection, columns: tuple[Any, ...], where: Any) -> list[Any]:
    """Rows of these columns as the driver gives them (no per-value type processing: a load
    reads millions; ``_t`` turns the times into aware UTC datetimes)."""
    return list(conn.execute(select(*(type_coerce(col, NullType()) for col in columns)).where(where)))


_e, _n, _v, _o, _tr, _c = commuter_entries.c, nat_results.c, itinerary.c, overrides.c, travel.c, checks.c
_ENTRY_COLUMNS = (
    *(_e.id, _e.person_id, _e.commuter_class, _e.source, _e.valid_from, _e.valid_to, _e.ended_at),
    *(_e.home_county, _e.evidence, _e.recorded_at),
)
_NAT_COLUMNS = (_n.id, _n.person_id, _n.sampled_at, _n.reported_at, _n.positive, _n.lab, _n.recorded_at)
_VISIT_COLUMNS = (_v.person_id, _v.day, _v.county, _v.recorded_at)
_OVERRIDE_COLUMNS = (
    *(_o.id, _o.person_id, _o.field, _o.valid_from, _o.valid_to, _o.reason, _o.appeal_id, _o.recorded_at),
)
_TRAVEL_COLUMNS = (_tr.id, _tr.person_id, _tr.direction, _tr.event_time, _tr.recorded_at)
_CHECK_COLUMNS = (_c.id, _c.person_id, _c.entered, _c.at, _c.recorded_at)


def _t(value: Any) -> datetime:
    """A stored time (SQLite: text; PostgreSQL: a naive datetime), as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    result: datetime = value.replace(tzinfo=UTC)
    return result


def _t_or_none(value: Any) -> datetime | None:
    return None if value is None else _t(value)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
