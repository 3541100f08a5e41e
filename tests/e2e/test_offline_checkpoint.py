"""A checkpoint keeps working while the central service is down: a real server process is killed
in the middle of a stream of swipes and started again; no swipe is lost, none is counted twice.
It signs in as an officer; a sign-in the service refuses is an error, never the offline path."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from commutepass.checkpoints.client import AccessRefused, Checkpoint
from commutepass.domain.clock import parse_time
from commutepass.domain.decisions import Mode
from commutepass.domain.regions import region_catalog
from commutepass.policies import builtin_policies
from tests.e2e.auth import PASSWORD
from tests.e2e.support import background, free_port, resident_id, run_cli, wait_until_healthy, write_csv

pytestmark = pytest.mark.e2e

PEOPLE = [resident_id("131082", date(1980 + n % 20, 1 + n % 12, 1 + n % 27), n) for n in range(30)]
SWIPES = 90
START = parse_time("2021-11-29T07:00")


def _central(data: Path) -> tuple[list[str], int, list[str]]:
    """Swipe ids recorded, check rows, and who each audited check was made by."""
    with sqlite3.connect(data / "commutepass.db") as db:
        ids = [row[0] for row in db.execute("SELECT swipe_id FROM checkpoint_swipes")]
        checks = db.execute("SELECT COUNT(*) FROM checks").fetchone()[0]
        audited = [row[0] for row in db.execute("SELECT actor FROM audit_log WHERE action = 'check'")]
    return ids, int(checks), audited


def _add_user(data: Path, username: str, role: str, *extra: str) -> None:
    run_cli(data, "users", "add", username, "--role", role, "--password-stdin", *extra, stdin=PASSWORD + "\n")


def test_no_swipe_lost_none_counted_twice_when_the_service_dies_mid_stream(tmp_path: Path) -> None:
    data = tmp_path / "central"
    nats = [(p, "2021-11-28T08:00", "2021-11-28T20:00", "negative", "三河市医院") for p in PEOPLE[::2]]
    run_cli(
        data,
        "load",
        "nat",
        str(
            write_csv(tmp_path / "nat.csv", ("id_number", "sampled_at", "reported_at", "result", "lab"), nats)
        ),
    )
    _add_user(data, "gate-1", "officer")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = Checkpoint(
        tmp_path / "checkpoint.db",
        base,
        "燕郊检查站",
        builtin_policies(),
        region_catalog(),
        timeout=2.0,
        username="gate-1",
        password=PASSWORD,
    )
    answers: list[dict[str, object]] = []

    def swipe(n: int) -> None:
        answers.append(
            client.swipe(PEOPLE[n % len(PEOPLE)], START + timedelta(minutes=n), "燕郊检查站", Mode.ROAD)
        )

    try:
        with background(data, "serve", "--port", str(port)) as server:
            wait_until_healthy(base, server)
            synced = client.sync(START - timedelta(minutes=10))
            assert synced["people"] == len(PEOPLE[::2])
            for n in range(20):
                swipe(n)
            # kill the service while swipes keep coming: one may be cut off mid-request
            killer = threading.Timer(0.05, server.process.kill)
            killer.start()
            for n in range(20, 60):
                swipe(n)
            killer.join()
            server.process.wait(timeout=10)
        assert client.pending() > 0, "swipes made while the service was down wait in the outbox"
        waiting = client.status()
        assert waiting["snapshot_as_of"] is not None and waiting["pending"] == client.pending()
        with background(data, "serve", "--port", str(port)) as server:
            wait_until_healthy(base, server)
            for n in range(60, SWIPES):
                swipe(n)
            client.send()
            assert client.pending() == 0
    finally:
        client.close()

    offline = [a for a in answers if a["offline"]]
    online = [a for a in answers if not a["offline"]]
    assert offline and online, (len(offline), len(online))
    # offline answers came from the snapshot, with its age, and the same rules: even people allowed
    assert all(a["snapshot"]["usable"] for a in offline)  # type: ignore[index]
    assert {a["decision"] for a in offline} == {"allow", "refuse"}
    assert all(a["reasons"][0]["code"] == "OFFLINE_DECISION" for a in offline)  # type: ignore[index]

    sent = [str(a["swipe_id"]) for a in answers]
    recorded, checks, audited = _central(data)
    assert len(sent) == len(set(sent)) == SWIPES
    assert sorted(recorded) == sorted(sent), "every swipe exactly once"
    assert checks == SWIPES, "no check row left over from a duplicate"
    assert audited == ["gate-1"] * SWIPES, "each swipe audited once, as the officer who sent it"
    with sqlite3.connect(tmp_path / "checkpoint.db") as local:
        assert local.execute("SELECT COUNT(*) FROM outbox WHERE id_number IS NOT NULL").fetchone()[0] == 0


def test_a_refused_sign_in_is_an_error_not_the_offline_path(tmp_path: Path) -> None:
    data = tmp_path / "central"
    _add_user(data, "gate-2", "officer")
    _add_user(data, "someone", "citizen", "--id-number", PEOPLE[0])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "checkpoint.db"

    def checkpoint(**login: str) -> Checkpoint:
        return Checkpoint(store, base, "白庙检查站", builtin_policies(), region_catalog(), **login)

    def outbox() -> int:
        with sqlite3.connect(store) as local:
            return int(local.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    with background(data, "serve", "--port", str(port)) as server:
        wait_until_healthy(base, server)
        officer = checkpoint(username="gate-2", password=PASSWORD)
        try:
            officer.sync(START - timedelta(minutes=10))  # a snapshot to decide from, were it offline
        finally:
            officer.close()
        for login, status in (
            ({}, 401),
            ({"token": "not.a.token"}, 401),
            ({"username": "gate-2", "password": "wrong password"}, 401),
            ({"username": "someone", "password": PASSWORD}, 403),
        ):
            client = checkpoint(**login)
            try:
                with pytest.raises(AccessRefused) as refused:
                    client.swipe(PEOPLE[1], START, "白庙检查站", Mode.ROAD)
                assert refused.value.field == "token" and refused.value.zh and refused.value.en, login
                said = "may not do this" if status == 403 else "did not accept this checkpoint's sign-in"
                assert said in refused.value.en and "officer" in refused.value.en, refused.value.en
                with pytest.raises(AccessRefused):
                    client.sync()
            finally:
                client.close()
            assert outbox() == 0, f"{login}: a swipe nobody got a decision for is not kept to send later"

        # the command line: a bad token is a clear error (exit 2), the right sign-in works
        def cli(command: str, *args: str, expect: int = 0, signed_in: bool = True) -> dict[str, Any]:
            login = ("--username", "gate-2") if signed_in else ("--token", "not.a.token")
            where = ("--server", base, "--store", str(store))
            return run_cli(
                tmp_path / "cli",
                "checkpoint",
                command,
                *args,
                *where,
                *login,
                expect=expect,
                stdin=PASSWORD + "\n",
            ).line

        bad = cli("swipe", PEOPLE[1], "--site", "白庙检查站", expect=2, signed_in=False)
        assert bad["error"]["field"] == "token" and "officer" in bad["error"]["en"] and bad["error"]["zh"]
        synced = cli("sync", "--at", "2021-11-29T06:50")
        assert synced["people"] == 0 and synced["pending"] == 0
        swiped = cli("swipe", PEOPLE[1], "--site", "白庙检查站", "--at", "2021-11-29T07:00")
        assert swiped["offline"] is False and swiped["decision"]
    recorded, checks, audited = _central(data)
    assert (len(recorded), checks, audited) == (1, 1, ["gate-2"])
