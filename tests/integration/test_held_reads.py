"""The server decides checks over a held connection (``checks.service.HeldReads``), on both
engines: it sees every commit at once, decides as ``decide`` does, and survives a broken
connection."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from commutepass.checks.service import CheckRequest, HeldReads, decide
from commutepass.domain.decisions import Mode
from commutepass.kit.context import App
from commutepass.loads.service import COLUMNS, load_file
from tests.helpers import at, make_id, write_csv

PERSON = make_id("131082", date(1990, 3, 3), 501)
REQUEST = CheckRequest(PERSON, at("2021-11-22T09:00"), "白庙检查站", Mode.ROAD)


def test_held_reads_see_each_commit_and_decide_as_the_plain_path(app: App, tmp_path: Path) -> None:
    reads = HeldReads(app)
    try:
        before = reads.decide(REQUEST)
        assert before.outcome == decide(app, REQUEST).outcome
        assert before.outcome.decision.value == "refuse" and before.person_id is None
        nat = [(PERSON, "2021-11-21T08:00", "2021-11-21T18:00", "negative", "廊坊市人民医院")]
        load_file(app, "nat", write_csv(tmp_path / "nat.csv", COLUMNS["nat"], nat))

        after = reads.decide(REQUEST)  # the same held connection: no stale snapshot

        assert after.outcome.decision.value == "allow", after.outcome
        assert after.outcome == decide(app, REQUEST).outcome and after.person_id is not None
    finally:
        reads.close()


def test_a_broken_held_connection_is_replaced(app: App) -> None:
    reads = HeldReads(app)
    try:
        first = reads.decide(REQUEST)
        held = reads._local.session.conn
        held.connection.driver_connection.close()  # type: ignore[union-attr]  # the store dropped it

        again = reads.decide(REQUEST)  # decided the plain way, the held connection dropped

        assert again.outcome == first.outcome
        assert reads._local.session is None
        assert reads.decide(REQUEST).outcome == first.outcome  # and a new one is held
        assert reads._local.session is not None and reads._local.session.conn is not held
    finally:
        reads.close()
