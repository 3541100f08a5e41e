"""Group commit of swipes (the API's write path): nothing lost, nothing doubled, errors surface."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from commutepass.checks import repository as repo
from commutepass.checks import service as decide
from commutepass.checks.writer import SwipeWriter
from commutepass.domain.decisions import Mode
from commutepass.domain.roles import Role
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.store.tables import checks, people
from tests.helpers import at, make_id


def _count(app: App, table: sa.Table) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


OFFICER = audit.Actor("officer-1", "officer")


def _check(app: App, request: decide.CheckRequest, writer: SwipeWriter) -> dict[str, object]:
    """What the API does: decide, hand the swipe to the writer, answer once it is stored."""
    decided = decide.decide(app, request)
    writer.submit(decided.swipe(), OFFICER).result()
    return decided.view(Role.OFFICER)


def test_concurrent_checks_are_each_stored_once(app: App) -> None:
    writer = SwipeWriter(app)
    ids = [make_id("120114", serial=n) for n in range(40)]
    requests = [
        decide.CheckRequest(ids[i % len(ids)], at(f"2021-11-20T07:{i % 60:02d}"), "武清站", Mode.RAIL)
        for i in range(200)
    ]
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda r: _check(app, r, writer), requests))
    finally:
        writer.close()
    assert len(results) == 200 and all(r["decision"] == "refuse" for r in results)
    assert _count(app, checks) == 200
    assert _count(app, people) == 40  # each new person created once, however many swipes


def test_answer_comes_after_the_swipe_is_stored(app: App) -> None:
    writer = SwipeWriter(app)
    try:
        _check(app, decide.CheckRequest(make_id(), at("2021-11-20T07:00"), "白庙检查站", Mode.ROAD), writer)
        assert _count(app, checks) == 1  # no waiting: it is there when the answer is
    finally:
        writer.close()


def test_a_failed_write_fails_the_check(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(conn: sa.Connection, rows: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(repo, "record_checks", broken)
    writer = SwipeWriter(app)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            _check(
                app, decide.CheckRequest(make_id(), at("2021-11-20T07:00"), "白庙检查站", Mode.ROAD), writer
            )
    finally:
        writer.close()
    assert _count(app, checks) == 0
    assert _count(app, people) == 0  # the person row was rolled back with the batch


def test_checks_reach_the_audit_log_shortly_after_and_at_close(app: App) -> None:
    from commutepass.checks.writer import AUDIT_FLUSH_SECONDS

    writer = SwipeWriter(app)
    numbers = [make_id("120114", serial=n) for n in range(5)]
    try:
        for number in numbers[:3]:
            _check(app, decide.CheckRequest(number, at("2021-11-20T07:00"), "武清站", Mode.RAIL), writer)
        deadline = time.monotonic() + 20 * AUDIT_FLUSH_SECONDS
        while audit.verify(app).entries < 3 and time.monotonic() < deadline:
            time.sleep(AUDIT_FLUSH_SECONDS / 5)
        assert audit.verify(app).entries == 3, "the writer appends the checks within its flush time"
        for number in numbers[3:]:
            _check(app, decide.CheckRequest(number, at("2021-11-20T07:05"), "武清站", Mode.RAIL), writer)
    finally:
        writer.close()
    result = audit.verify(app)
    assert (result.ok, result.entries) == (True, 5), "closing the writer appends what is left"
    accesses = audit.accesses_to(app, [_person_id(app, n) for n in numbers])
    assert {(a["who"], a["action"], a["reason"]) for a in accesses} == {
        ("officer-1", "check", "check at 武清站")
    }
    assert len(accesses) == 5


def _person_id(app: App, number: str) -> int:
    from commutepass.domain.identity import parse_resident_id

    key = app.vault.key(parse_resident_id(number))
    with app.engine.connect() as conn:
        return int(conn.execute(sa.select(people.c.id).where(people.c.person_key == key)).scalar_one())


def test_audit_entries_kept_while_the_store_fails_logged_once_then_appended(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """While appending audit entries fails (the store away), the writer keeps them and tries
    again each flush, logging the first failure with its traceback and then a line every
    ``AUDIT_FAILING_LOG_SECONDS`` (not twice a second); once the store answers they are
    appended, each once, and the recovery is logged."""
    from commutepass.checks import writer as writer_module

    real = audit.append
    failures = [0]

    def away(conn: sa.Connection, app_: App, entries: list[audit.Prepared]) -> None:
        if failures[0] < 6:
            failures[0] += 1
            raise sa.exc.OperationalError("INSERT INTO audit_log", {}, Exception("connection refused"))
        real(conn, app_, entries)

    monkeypatch.setattr(writer_module.audit, "append", away)
    monkeypatch.setattr(writer_module, "AUDIT_FLUSH_SECONDS", 0.05)
    caplog.set_level("INFO", logger=writer_module.__name__)
    writer = SwipeWriter(app)
    numbers = [make_id("120114", serial=n) for n in range(3)]
    try:
        for number in numbers:
            _check(app, decide.CheckRequest(number, at("2021-11-20T07:00"), "武清站", Mode.RAIL), writer)
        deadline = time.monotonic() + 10
        while audit.verify(app).entries < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        writer.close()
    assert failures[0] == 6
    assert audit.verify(app).entries == 3 and audit.verify(app).ok
    failed = [r for r in caplog.records if "not yet appended" in r.getMessage()]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert not [r for r in caplog.records if "still not appended" in r.getMessage()]  # under 30 s
    recovered = [r for r in caplog.records if "appended after" in r.getMessage()]
    assert len(recovered) == 1 and "3 checks" in recovered[0].getMessage()
