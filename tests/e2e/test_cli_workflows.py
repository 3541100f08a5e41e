"""The command line for users, the audit chain and retention, as an operator runs it."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest

from tests.e2e.support import resident_id, run_cli

pytestmark = pytest.mark.e2e


def test_users_audit_verify_and_retention(tmp_path: Path) -> None:
    data = tmp_path / "data"
    citizen = resident_id("131082", date(1990, 1, 1), 12)
    added = run_cli(
        data,
        "users",
        "add",
        "li-bo",
        "--role",
        "citizen",
        "--id-number",
        citizen,
        "--password-stdin",
        stdin="long enough\n",
    ).line
    assert (added["username"], added["role"], added["disabled"]) == ("li-bo", "citizen", False)
    run_cli(
        data, "users", "add", "officer-7", "--role", "officer", "--password-stdin", stdin="another secret\n"
    )
    short = run_cli(
        data, "users", "add", "x-1", "--role", "admin", "--password-stdin", stdin="short\n", expect=2
    )
    assert short.line["error"]["field"] == "password" and short.line["error"]["zh"]
    bad_role = run_cli(
        data, "users", "add", "x-2", "--role", "mayor", "--password-stdin", stdin="long enough\n", expect=2
    )
    assert bad_role.line["error"]["field"] == "role"
    no_id = run_cli(
        data, "users", "add", "x-3", "--role", "citizen", "--password-stdin", stdin="long enough\n", expect=2
    )
    assert no_id.line["error"]["field"] == "id_number"
    taken = run_cli(
        data,
        "users",
        "add",
        "li-bo",
        "--role",
        "analyst",
        "--password-stdin",
        stdin="long enough\n",
        expect=2,
    )
    assert taken.line["error"]["field"] == "username"
    assert run_cli(data, "users", "disable", "officer-7").line["disabled"] is True
    listed = {u["username"]: u for u in run_cli(data, "users", "list").lines}
    assert listed["officer-7"]["disabled"] is True and listed["li-bo"]["linked_person"] is True
    assert citizen not in (data / "commutepass.db").read_bytes().decode("latin-1"), "no raw ID number stored"

    retained = run_cli(data, "retention", "run", "--now", "2021-12-31T10:00").line
    assert retained["cutoff"] == "2021-12-01T00:00:00+08:00" and retained["retention_days"] == 30

    clean = run_cli(data, "audit", "verify").line
    assert clean["ok"] is True and clean["entries"] == 4  # two users, one disable, one retention run
    with sqlite3.connect(data / "commutepass.db") as db:
        db.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2")
    edited = run_cli(data, "audit", "verify", expect=1).line
    assert edited["ok"] is False and [(f["seq"], f["problem"]) for f in edited["findings"]] == [(2, "edited")]
    with sqlite3.connect(data / "commutepass.db") as db:
        db.execute("DELETE FROM audit_log WHERE seq = 3")
    deleted = run_cli(data, "audit", "verify", expect=1).line
    assert ("3", "deleted") in {(str(f["seq"]), f["problem"]) for f in deleted["findings"]}
