"""A scheduled version takes effect at its instant online and offline (issue 11): a real server
and the offline checkpoint client. The signed snapshot carries the book, so the checkpoint
switches at the instant with no new download; a version withdrawn after the checkpoint
downloaded it applies there until its next sync, and not after."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from commutepass.checkpoints.client import Checkpoint
from commutepass.domain.clock import BEIJING
from commutepass.domain.decisions import Mode
from commutepass.domain.regions import region_catalog
from commutepass.loads.service import COLUMNS
from commutepass.policies import builtin_policies
from tests.e2e.auth import PASSWORD
from tests.e2e.support import background, free_port, resident_id, run_cli, wait_until_healthy, write_csv

pytestmark = pytest.mark.e2e
SHIPPED = (Path(__file__).resolve().parents[2] / "src/commutepass/policies/2021-11-17.toml").read_text(
    encoding="utf-8"
)
PERSON = resident_id("131082", date(1984, 4, 4), 88)
SITE = "燕郊检查站"


def test_a_scheduled_version_takes_effect_at_its_instant_online_and_offline(tmp_path: Path) -> None:
    data = tmp_path / "central"
    t0 = (datetime.now(UTC) + timedelta(hours=2)).replace(second=0, microsecond=0).astimezone(BEIJING)
    before = t0 - timedelta(seconds=1)
    # a negative test sampled 30 h before the instant: within 48 h (in force), beyond 24 h (scheduled)
    sampled = t0 - timedelta(hours=30)
    nat = [
        (PERSON, sampled.isoformat(), (sampled + timedelta(hours=1)).isoformat(), "negative", "三河市医院")
    ]
    run_cli(data, "load", "nat", str(write_csv(tmp_path / "nat.csv", COLUMNS["nat"], nat)))
    run_cli(data, "users", "add", "gate-1", "--role", "officer", "--password-stdin", stdin=PASSWORD + "\n")
    version = tmp_path / "v.toml"
    version.write_text(
        SHIPPED.replace('version = "2021-11-17"', 'version = "2031-01-01"')
        .replace("effective_from = 2021-11-17T00:00:00+08:00", f"effective_from = {t0.isoformat()}")
        .replace("entry_window_hours = 48", "entry_window_hours = 24"),
        encoding="utf-8",
    )
    run_cli(data, "policy", "upload", str(version))
    run_cli(data, "policy", "schedule", "2031-01-01")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client = Checkpoint(
        tmp_path / "checkpoint.db",
        base,
        SITE,
        builtin_policies(),
        region_catalog(),
        timeout=2.0,
        username="gate-1",
        password=PASSWORD,
    )
    try:
        with background(data, "serve", "--port", str(port)) as server:
            wait_until_healthy(base, server)
            token = httpx.post(f"{base}/v1/auth/token", data={"username": "gate-1", "password": PASSWORD})
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            online = {
                label: httpx.post(
                    f"{base}/v1/checks",
                    json={"id_number": PERSON, "at": at.isoformat(), "site": SITE, "mode": "road"},
                    headers=auth,
                ).json()
                for label, at in (("before", before), ("at", t0))
            }
            client.sync()
        assert (online["before"]["policy_version"], online["before"]["decision"]) == ("2021-11-17", "allow")
        assert (online["at"]["policy_version"], online["at"]["decision"]) == ("2031-01-01", "refuse")

        # the service is down: the checkpoint decides from its snapshot and the book it carries
        first = client.swipe(PERSON, before, SITE, Mode.ROAD)
        second = client.swipe(PERSON, t0, SITE, Mode.ROAD)
        assert first["offline"] and second["offline"]
        assert (first["policy_version"], first["decision"]) == ("2021-11-17", "allow")
        assert (second["policy_version"], second["decision"]) == ("2031-01-01", "refuse")

        # withdrawn after the checkpoint downloaded it: it applies there until the next sync
        run_cli(data, "policy", "withdraw", "2031-01-01", "--reason", "taken back")
        assert client.swipe(PERSON, t0, SITE, Mode.ROAD)["policy_version"] == "2031-01-01"
        with background(data, "serve", "--port", str(port)) as server:
            wait_until_healthy(base, server)
            client.send()
            client.sync()
        assert client.snapshot().withdrawn == ("2031-01-01",)
        after = client.swipe(PERSON, t0, SITE, Mode.ROAD)
        assert after["offline"] and after["policy_version"] == "2021-11-17"
    finally:
        client.close()
