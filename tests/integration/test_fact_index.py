"""The in-memory fact index (``store.fact_index``) against the store's read (``FactReader``),
person by person over a synthetic region, on both engines — after loading, and after every kind
of change the store can make: new rows, an entry ended, checks recorded here and elsewhere, a
retention purge; and on PostgreSQL a row whose id commits after a higher one."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, insert, select, text
from sqlalchemy.exc import OperationalError

from commutepass.checks.service import CheckRequest, check, check_batch
from commutepass.checks.writer import SwipeWriter
from commutepass.commuters.service import identify
from commutepass.domain.clock import to_utc
from commutepass.domain.decisions import Mode
from commutepass.domain.facts import Source
from commutepass.domain.identity import ResidentId, parse_resident_id
from commutepass.domain.policy import CommuterClass, Policy
from commutepass.kit.context import App
from commutepass.kit.sessions import cli_user
from commutepass.loads.service import load_file
from commutepass.oversight.repository import delete_before
from commutepass.store import fact_index
from commutepass.store import repositories as repo
from commutepass.store.fact_index import NOTED, FactIndex, _Ids
from commutepass.store.facts import FactReader
from commutepass.store.tables import commuter_entries, nat_results, overrides, users
from commutepass.synth import write_region
from tests.helpers import at

START = date(2021, 11, 1)
MOMENTS = ("2021-11-19T09:00", "2021-11-21T18:00", "2021-11-22T06:59:59")


@pytest.fixture
def region_people(app: App, tmp_path: Path) -> list[dict[str, str]]:
    region = write_region(tmp_path / "region", people=80, days=21, start=START, seed=5)
    for kind in ("travel", "nat", "itinerary", "risk"):
        load_file(app, kind, region.files[kind])
    identify(app, START + timedelta(days=14))
    for row in list(_people(region.files["truth"]))[:10]:
        check(app, CheckRequest(row["id_number"], at("2021-11-19T07:30"), row["site"], Mode(row["mode"])))
    return list(_people(region.files["truth"]))


def _people(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def compare(
    app: App, index: FactIndex, people: list[dict[str, str]], known: datetime | None = None
) -> dict[str, int]:
    """Every person at every moment: the index's answer equals the store's. Counts of what was
    compared (so that a test can tell the comparison was not empty)."""
    seen = {"answers": 0, "nats": 0, "visits": 0, "entry": 0, "member": 0, "override": 0}
    with app.engine.connect() as conn:
        reader = FactReader(conn)
        for moment in MOMENTS:
            when = to_utc(at(moment))
            policy = app.policies.in_force(when)
            for row in people:
                resident = parse_resident_id(row["id_number"])
                key = app.vault.key(resident)
                expected = reader.person_facts(key, resident.birth_date, when, policy, known)
                index.note_person(key, expected[0])
                got = index.person_facts(key, resident.birth_date, when, policy, known)
                assert got is not None, (row["id_number"][-4:], moment)
                assert got == expected, (row["id_number"][-4:], moment, known)
                facts = expected[1]
                seen["answers"] += 1
                seen["nats"] += bool(facts.nats)
                seen["visits"] += bool(facts.visits)
                seen["entry"] += facts.last_entry_at is not None
                seen["member"] += facts.membership is not None
                seen["override"] += bool(facts.overrides)
    return seen


def add_override(conn: Connection, person_id: int, field: str, reviewer: str) -> None:
    """A reviewer's correction of ``field`` from 19 to 25 November (with the reviewer's account)."""
    by = conn.execute(
        insert(users).values(
            username=reviewer,
            password_hash="x",
            role="reviewer",
            disabled=False,
            created_at=datetime.now(UTC),
        )
    ).inserted_primary_key[0]
    conn.execute(
        insert(overrides).values(
            person_id=person_id,
            field=field,
            valid_from=to_utc(at("2021-11-19T00:00")),
            valid_to=to_utc(at("2021-11-25T00:00")),
            reason="test",
            created_by=by,
            created_at=datetime.now(UTC),
            recorded_at=datetime.now(UTC),
        )
    )


def _index(app: App) -> FactIndex:
    index = FactIndex(app.engine, refresh_seconds=0.0)  # every question reads what changed first
    index.load(to_utc(at(MOMENTS[0])) - timedelta(days=62))
    assert index.loads == 1
    return index


def test_the_index_answers_what_the_store_answers(app: App, region_people: list[dict[str, str]]) -> None:
    index = _index(app)
    seen = compare(app, index, region_people)
    assert seen["answers"] == len(MOMENTS) * len(region_people)
    assert seen["nats"] and seen["visits"] and seen["entry"] and seen["member"], seen
    # a horizon after the load: every row recorded by then, as the store reads it
    compare(app, index, region_people, known=datetime.now(UTC) + timedelta(hours=1))


def test_the_index_follows_every_change_of_the_store(
    app: App, region_people: list[dict[str, str]], tmp_path: Path
) -> None:
    index = _index(app)
    compare(app, index, region_people)
    loaded = index.loaded_at
    # new NAT results (a second load), a manual entry, an entry ended, a reviewer's correction
    nat_file = tmp_path / "more-nat.csv"
    with nat_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_number", "sampled_at", "reported_at", "result", "lab"])
        for i, row in enumerate(region_people[:30]):
            writer.writerow(
                [
                    row["id_number"],
                    "2021-11-20T08:00",
                    "2021-11-20T20:00",
                    "positive" if i == 3 else "negative",
                    "L2",
                ]
            )
    assert load_file(app, "nat", nat_file).added == 30
    first = parse_resident_id(region_people[0]["id_number"])
    with app.transaction() as conn:
        person_id = repo.ensure_people(conn, [app.person_row(first)])[app.vault.key(first)]
        entry_id = repo.add_entry(
            conn,
            person_id=person_id,
            commuter_class=CommuterClass.DAILY,
            source=Source.MANUAL,
            valid_from=to_utc(at("2021-11-18T00:00")),
            reason="test",
        )
        ended = conn.execute(
            select(commuter_entries.c.id)
            .where(commuter_entries.c.valid_to.is_(None), commuter_entries.c.id != entry_id)
            .limit(1)
        ).scalar_one()
        repo.end_entry(conn, ended, to_utc(at("2021-11-20T12:00")), "test")
        add_override(conn, person_id, "color", "fi-admin")
    # checks recorded by another process (the plain path: the index did not note them)
    for row in region_people[10:20]:
        check(app, CheckRequest(row["id_number"], at("2021-11-21T07:30"), row["site"], Mode(row["mode"])))
    seen = compare(app, index, region_people)
    assert seen["override"] > 0 and seen["nats"] > 0
    # as known at the load, the new rows are not there yet (still the store's answer)
    compare(app, index, region_people, known=loaded)
    # retention purges old rows: the index reloads
    with app.transaction() as conn:
        limit = to_utc(at("2021-11-10T00:00"))
        limits = {"travel": limit, "checks": limit, "nat": limit, "documents": limit}
        limits |= {"applications": limit, "sessions": limit, "itinerary": limit}
        deleted = delete_before(conn, limits, date(2021, 11, 10))
    assert deleted["travel"] > 0 and deleted["nat"] > 0
    compare(app, index, region_people)
    assert index.loads == 2


def test_a_batch_decides_the_same_with_and_without_the_index(
    app: App, region_people: list[dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each person three times a batch, on three days. Every batch's checks fall at the same
    moments, so each batch sees the same last entries before each of its checks (its own earlier
    lines, or the same ones of an earlier batch): the three runs — with the index (whose own
    checks it must note as it goes), with the store's reads, with the index again — agree line
    by line."""
    batch = tmp_path / "batch.csv"
    with batch.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_number", "at", "site", "mode"])
        for day in range(3):
            for row in region_people:
                writer.writerow([row["id_number"], f"2021-11-2{day}T07:0{day}", row["site"], row["mode"]])

    def run() -> list[dict[str, object]]:
        return [line for line in check_batch(app, batch, explain=False, commit_every=7) if "decision" in line]

    with_index = run()
    with monkeypatch.context() as patch:
        patch.setattr("commutepass.checks.service.fact_index", lambda _app: None)
        plain = run()
    again = run()
    assert len(with_index) == 3 * len(region_people)
    assert sum(line["decision"] != "allow" for line in with_index) > 0
    assert sum(line["commuter_badge"] for line in with_index) > 0  # type: ignore[misc]
    assert with_index == plain == again


@pytest.mark.postgres
def test_a_row_committed_after_a_higher_id_is_still_read(
    app: App, region_people: list[dict[str, str]], store_url: str
) -> None:
    if not store_url.startswith("postgresql"):
        pytest.skip("SQLite writers take turns: ids commit in order")
    index = _index(app)
    resident = parse_resident_id(region_people[0]["id_number"])
    key = app.vault.key(resident)
    with app.engine.connect() as conn:
        person_id = FactReader(conn).person_id(key)
    assert person_id is not None

    def positive(lab: str, sampled: str, reported: str) -> Any:
        return insert(nat_results).values(
            person_id=person_id,
            positive=True,
            lab=lab,
            sampled_at=to_utc(at(sampled)),
            reported_at=to_utc(at(reported)),
            recorded_at=datetime.now(UTC),
        )

    slow = app.engine.connect()
    slow_tx = slow.begin()
    # the slow transaction takes the lower id and commits last
    slow.execute(positive("late", "2021-11-20T08:00", "2021-11-20T09:00"))
    with app.transaction() as conn:
        conn.execute(positive("fast", "2021-11-20T10:00", "2021-11-20T11:00"))
    when = to_utc(at("2021-11-21T18:00"))
    policy = app.policies.in_force(when)
    index.note_person(key, person_id)
    got = index.person_facts(key, resident.birth_date, when, policy)
    assert got is not None
    assert [n.lab for n in got[1].nats][:1] == ["fast"]
    assert index._ids["nats"].gaps, "the uncommitted row's id is a gap"
    slow_tx.commit()
    slow.close()
    got = index.person_facts(key, resident.birth_date, when, policy)
    assert got is not None
    assert [n.lab for n in got[1].nats][:2] == ["fast", "late"]
    with app.engine.connect() as conn:
        assert got == FactReader(conn).person_facts(key, resident.birth_date, when, policy)
    # read and settled: nothing open could fill it any more
    assert not index._ids["nats"].gaps


def test_gaps_split_fill_and_settle() -> None:
    seen = datetime(2021, 11, 20, tzinfo=UTC)
    ids = _Ids(10)
    ids.saw([11, 14, 15, 19], seen)
    assert ids.high == 19
    assert [(lo, hi) for lo, hi, _ in ids.gaps] == [(12, 13), (16, 18)]
    ids.fill([12, 17])
    assert [(lo, hi) for lo, hi, _ in ids.gaps] == [(13, 13), (16, 16), (18, 18)]
    ids.settle(seen - timedelta(seconds=1))  # a transaction older than the gaps: kept
    assert len(ids.gaps) == 3
    ids.settle(seen + timedelta(seconds=1))  # all open ones began later: settled
    assert ids.gaps == []
    on_sqlite = _Ids(10)
    on_sqlite.saw([12, 15], None)
    assert on_sqlite.high == 15 and on_sqlite.gaps == []


def test_a_check_stored_by_the_server_is_seen_by_its_next_check_at_once(
    app: App, region_people: list[dict[str, str]]
) -> None:
    """The server's writer notes each committed check in its index: the same person's next check
    in this process sees the entry without waiting for a refresh (none comes here)."""
    writer = SwipeWriter(app)
    try:
        index = writer.reads.index
        assert index is not None
        index.refresh_seconds = 3600.0
        assert index.load(to_utc(at(MOMENTS[0])) - timedelta(days=62))
        when = to_utc(at(MOMENTS[2]))
        policy = app.policies.in_force(when)
        entered = 0
        for row in region_people:
            request = CheckRequest(row["id_number"], at("2021-11-22T06:30"), row["site"], Mode(row["mode"]))
            decided = writer.reads.decide(request)
            if decided.outcome.decision.value not in ("allow", "allow_report"):
                continue
            assert writer.submit(decided.swipe(), cli_user().actor).result(timeout=30)
            resident = parse_resident_id(row["id_number"])
            got = index.person_facts(decided.person_key, resident.birth_date, when, policy)
            with app.engine.connect() as conn:
                expected = FactReader(conn).person_facts(
                    decided.person_key, resident.birth_date, when, policy
                )
            assert expected[1].last_entry_at == to_utc(at("2021-11-22T06:30"))
            assert got == expected, row["id_number"][-4:]
            entered += 1
        assert entered > 0
    finally:
        writer.close()


def test_a_server_index_loads_in_the_background_and_moves_its_window(
    app: App, region_people: list[dict[str, str]]
) -> None:
    """A server's index loads in its own thread (the store answers meanwhile); a question a week
    past its window loads it again around the new moment, and it answers as the store does."""
    index = FactIndex(app.engine, background=True)
    row = region_people[0]
    resident = parse_resident_id(row["id_number"])
    key = app.vault.key(resident)
    when = to_utc(at(MOMENTS[1]))
    policy = app.policies.in_force(when)
    assert index.person_facts(key, resident.birth_date, when, policy) is None  # loading
    deadline = time.monotonic() + 60
    while index.loads == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert index.loads == 1
    with app.engine.connect() as conn:
        expected = FactReader(conn).person_facts(key, resident.birth_date, when, policy)
    index.note_person(key, expected[0])
    assert index.person_facts(key, resident.birth_date, when, policy) == expected
    later = when + timedelta(days=70)
    synchronous = FactIndex(app.engine)
    assert synchronous.load(when - timedelta(days=62))
    with app.engine.connect() as conn:
        expected_later = FactReader(conn).person_facts(key, resident.birth_date, later, policy)
    synchronous.note_person(key, expected_later[0])
    got = synchronous.person_facts(key, resident.birth_date, later, policy)
    assert synchronous.loads == 2
    assert got is not None
    synchronous.note_person(key, expected_later[0])
    assert synchronous.person_facts(key, resident.birth_date, later, policy) == expected_later
    assert expected_later[1].last_entry_at is not None  # the entry before the new window is kept


def _one_person(app: App, row: dict[str, str]) -> tuple[FactIndex, ResidentId, str, int, datetime, Policy]:
    """An index loaded, refreshed only when due (an hour) or when this process wrote facts, and
    one person of the region it knows: their ID, key, row id, the moment asked and its policy."""
    index = FactIndex(app.engine, refresh_seconds=3600.0)
    assert index.load(to_utc(at(MOMENTS[0])) - timedelta(days=62))
    resident = parse_resident_id(row["id_number"])
    key = app.vault.key(resident)
    when = to_utc(at(MOMENTS[1]))
    with app.engine.connect() as conn:
        person_id = FactReader(conn).person_id(key)
    assert person_id is not None
    index.note_person(key, person_id)
    return index, resident, key, person_id, when, app.policies.in_force(when)


def test_a_fact_written_by_this_process_is_read_at_the_next_question(
    app: App, region_people: list[dict[str, str]], tmp_path: Path
) -> None:
    """A reviewer's correction or a NAT load committed in this process reaches the next question
    here at once (no refresh is due: the interval is an hour); the server's own swipes do not make
    it read the store (they are noted)."""
    index, resident, key, person_id, when, policy = _one_person(app, region_people[5])
    before = index.person_facts(key, resident.birth_date, when, policy)
    assert before is not None and not before[1].overrides
    with app.transaction() as conn:
        add_override(conn, person_id, "popup", "fi-reviewer")
    after = index.person_facts(key, resident.birth_date, when, policy)
    assert after is not None and [o.field for o in after[1].overrides] == ["popup"]
    with app.engine.connect() as conn:
        assert after == FactReader(conn).person_facts(key, resident.birth_date, when, policy)
    # a writer that notes its own checks: its commit leaves no refresh due
    with app.transaction() as conn:
        conn.info[NOTED] = True
        conn.execute(
            text("INSERT INTO fact_changes (kind, row_id, recorded_at) VALUES ('test', NULL, '2021-11-20')")
        )
    refreshed = index._refreshed
    index.person_facts(key, resident.birth_date, when, policy)
    assert index._refreshed == refreshed
    index.close()


def test_a_refresh_the_store_fails_in_the_middle_of_leaves_the_index_as_it_was(
    app: App, region_people: list[dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New NAT results and a reviewer's correction, then a refresh that loses the store after
    reading them but before the checks: nothing of it is applied, so the next refresh adds each
    row once (the store's answer, not a NAT result twice), and the commit made here still makes
    the next question read what changed."""
    index = FactIndex(app.engine, refresh_seconds=3600.0)
    assert index.load(to_utc(at(MOMENTS[0])) - timedelta(days=62))
    nat_file = tmp_path / "more-nat.csv"
    with nat_file.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_number", "sampled_at", "reported_at", "result", "lab"])
        for row in region_people[:20]:
            writer.writerow([row["id_number"], "2021-11-20T08:00", "2021-11-20T20:00", "negative", "L3"])
    assert load_file(app, "nat", nat_file).added == 20
    first = parse_resident_id(region_people[0]["id_number"])
    with app.transaction() as conn:
        person_id = repo.ensure_people(conn, [app.person_row(first)])[app.vault.key(first)]
        add_override(conn, person_id, "popup", "fi-reviewer-2")
    real = fact_index._rows
    read: list[Any] = []

    def lost_at_the_checks(conn: Connection, columns: tuple[Any, ...], where: Any) -> list[Any]:
        if columns is fact_index._CHECK_COLUMNS:
            raise OperationalError("SELECT", {}, Exception("server closed the connection unexpectedly"))
        rows = real(conn, columns, where)
        read.extend(rows)
        return rows

    monkeypatch.setattr(fact_index, "_rows", lost_at_the_checks)
    with pytest.raises(OperationalError):
        index.refresh()
    assert len(read) >= 21, "the NAT results and the correction were read before the store went away"
    monkeypatch.setattr(fact_index, "_rows", real)
    refreshed = index._refreshed
    seen = compare(app, index, region_people)  # the first question reads what changed first
    assert index._refreshed > refreshed
    assert seen["nats"] and seen["override"], seen
    index.close()


def test_a_refresh_between_the_commit_event_and_the_commit_does_not_lose_the_change(
    app: App, region_people: list[dict[str, str]]
) -> None:
    """SQLAlchemy announces a commit before it happens. Another thread's refresh in between
    (here: run from a listener after the index's own) reads the store before the row is there;
    once the transaction is over, the next question must still read it."""
    index, resident, key, person_id, when, policy = _one_person(app, region_people[6])
    refreshed_inside: list[float] = []

    def refresh_before_the_commit(_conn: Connection) -> None:
        if refreshed_inside:  # once (the refresh's own connection commits too)
            return
        refreshed_inside.append(0.0)
        index.refresh()
        refreshed_inside[0] = index._refreshed

    event.listen(app.engine, "commit", refresh_before_the_commit)
    try:
        with app.transaction() as conn:
            add_override(conn, person_id, "popup", "fi-reviewer-3")
    finally:
        event.remove(app.engine, "commit", refresh_before_the_commit)
    assert refreshed_inside, "the listener ran between the announcement and the commit"
    after = index.person_facts(key, resident.birth_date, when, policy)
    assert after is not None and [o.field for o in after[1].overrides] == ["popup"]
    index.close()
