"""A checkpoint keeps working while the central service is down: a real server process is killed
in the middle of a stream of swipes and started again; no swipe is lost, none is counted twice."""

from __future__ import annotations

import sqlite3
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from commutepass.credentials.checkpoint import Checkpoint
from commutepass.domain.clock import parse_time
from commutepass.domain.decisions import Mode
from commutepass.domain.regions import region_catalog
from commutepass.policies import builtin_policies
from tests.e2e.support import background, free_port, resident_id, run_cli, wait_until_healthy, write_csv

pytestmark = pytest.mark.e2e

PEOPLE = [resident_id("131082", date(1980 + n % 20, 1 + n % 12, 1 + n % 27), n) for n in range(30)]
SWIPES = 90
START = parse_time("2021-11-29T07:00")


def _central(data: Path) -> tuple[list[str], int]:
    with sqlite3.connect(data / "commutepass.db") as db:
        ids = [row[0] for row in db.execute("SELECT swipe_id FROM checkpoint_swipes")]
        checks = db.execute("SELECT COUNT(*) FROM checks").fetchone()[0]
    return ids, int(checks)


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
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = Checkpoint(
        tmp_path / "checkpoint.db", base, "燕郊检查站", builtin_policies(), region_catalog(), timeout=2.0
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
    recorded, checks = _central(data)
    assert len(sent) == len(set(sent)) == SWIPES
    assert sorted(recorded) == sorted(sent), "every swipe exactly once"
    assert checks == SWIPES, "no check row left over from a duplicate"
    with sqlite3.connect(tmp_path / "checkpoint.db") as local:
        assert local.execute("SELECT COUNT(*) FROM outbox WHERE id_number IS NOT NULL").fetchone()[0] == 0
