"""The audit head anchored outside the database: a history cut back with its head row set back
passes the chain check alone, and fails against an anchor taken before (both stores)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from commutepass.domain.errors import InputError
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.oversight import anchor
from commutepass.store.tables import audit_head, audit_log
from tests.e2e.support import run_cli


def _entries(app: App, n: int) -> None:
    with app.transaction() as conn:
        for i in range(n):
            audit.record(conn, app, audit.cli_actor(), "test.entry", None, f"entry {i}")


def test_an_anchor_catches_a_history_cut_back_with_its_head(app: App) -> None:
    _entries(app, 3)
    taken = anchor.anchor(app)
    assert taken["seq"] == 3 and len(taken["hash"]) == 64 and taken["signature"]
    _entries(app, 2)
    assert anchor.check(app, [taken]) == [] and audit.verify(app).ok

    # rewrite: drop entries 3-5 and set the head row back to entry 2, as one with database access could
    with app.transaction() as conn:
        second = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == 2)).scalar_one()
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 3))
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=2, hash=second))
    assert audit.verify(app).ok, "the chain alone cannot see this"
    findings = anchor.check(app, [taken])
    assert [(f.seq, f.problem) for f in findings] == [(3, "anchor_missing")]
    assert "cut back" in findings[0].en and findings[0].zh


def test_a_forged_or_edited_anchor_is_refused(app: App) -> None:
    _entries(app, 1)
    taken = anchor.anchor(app)
    with pytest.raises(InputError, match="signature"):
        anchor.check(app, [{**taken, "seq": 1, "hash": "0" * 64}])


@pytest.mark.e2e
def test_audit_verify_with_an_anchor_file_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_cli(
        data, "users", "add", "desk-1", "--role", "officer", "--password-stdin", stdin="plum river lantern\n"
    )
    anchors = tmp_path / "elsewhere" / "anchors.jsonl"
    anchors.parent.mkdir()
    run_cli(data, "audit", "anchor", "--out", str(anchors))
    run_cli(data, "users", "disable", "desk-1")
    run_cli(data, "audit", "anchor", "--out", str(anchors))
    assert len(anchors.read_text().splitlines()) == 2
    clean = run_cli(data, "audit", "verify", "--anchor", str(anchors)).line
    assert clean["ok"] is True and clean["anchors"] == 2
    import sqlite3

    with sqlite3.connect(data / "commutepass.db") as db:
        first = db.execute("SELECT hash FROM audit_log WHERE seq = 1").fetchone()[0]
        db.execute("DELETE FROM audit_log WHERE seq >= 2")
        db.execute("UPDATE audit_head SET seq = 1, hash = ? WHERE id = 1", (first,))
    assert run_cli(data, "audit", "verify").line["ok"] is True
    caught = run_cli(data, "audit", "verify", "--anchor", str(anchors), expect=1).line
    assert caught["ok"] is False and [f["problem"] for f in caught["findings"]] == ["anchor_missing"]
    anchors.write_text(json.dumps({**json.loads(anchors.read_text().splitlines()[0]), "seq": 9}) + "\n")
    forged = run_cli(data, "audit", "verify", "--anchor", str(anchors), expect=2).line
    assert forged["error"]["field"] == "anchor"
