"""Scheduled work: catch-up after downtime and one runner per job slot, on SQLite and on a real
PostgreSQL shared by several runners (as several servers would), with APScheduler firing."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger

from commutepass.checkpoints.snapshot import OfflineSnapshot
from commutepass.credentials import service as credentials
from commutepass.credentials.trust import load_anchor, sign_document
from commutepass.domain.clock import BEIJING
from commutepass.jobs import runner as jobs
from commutepass.jobs.runner import Job, Runner, last_slot
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.oversight import policy_versions as pv
from commutepass.store.tables import job_runs
from tests.conftest import fresh_postgres_database
from tests.helpers import open_app

NIGHTLY = CronTrigger(hour=3, minute=0, timezone=BEIJING)


class Calls:
    def __init__(self, pause: float = 0.0) -> None:
        self.slots: list[datetime] = []
        self.pause = pause
        self.lock = threading.Lock()

    def __call__(self, app: App, slot: datetime) -> str:
        with self.lock:
            self.slots.append(slot)
        time.sleep(self.pause)
        return f"did {slot.isoformat()}"


def _runs(app: App) -> list[sa.Row[tuple[object, ...]]]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(job_runs).order_by(job_runs.c.id)).all())


def test_last_slot_is_the_latest_fire_time() -> None:
    job = Job("n", NIGHTLY, timedelta(days=1, hours=1), Calls())
    now = datetime(2021, 11, 29, 8, 0, tzinfo=BEIJING)
    assert last_slot(job, now) == datetime(2021, 11, 29, 3, 0, tzinfo=BEIJING)
    assert last_slot(job, datetime(2021, 11, 29, 2, 59, tzinfo=BEIJING)) == datetime(
        2021, 11, 28, 3, 0, tzinfo=BEIJING
    )


def test_catch_up_runs_the_missed_slot_once_and_records_it(app: App) -> None:
    calls = Calls()
    runner = Runner(app, [Job("nightly", NIGHTLY, timedelta(days=1, hours=1), calls)], host="a")
    # the server ran the job three nights ago, then was down
    runner.run("nightly", datetime(2021, 11, 26, 4, 0, tzinfo=BEIJING))
    back = datetime(2021, 11, 29, 9, 30, tzinfo=BEIJING)
    assert runner.catch_up(back) == {"nightly": "ok"}
    assert runner.catch_up(back + timedelta(hours=1)) == {"nightly": None}  # the slot is taken
    assert calls.slots == [
        datetime(2021, 11, 26, 3, 0, tzinfo=BEIJING).astimezone(UTC),
        datetime(2021, 11, 29, 3, 0, tzinfo=BEIJING).astimezone(UTC),
    ]
    runs = jobs.runs(app)
    assert [r["outcome"] for r in runs] == ["ok", "ok"]
    assert runs[0]["scheduled_for"].startswith("2021-11-29T03:00")
    assert runs[0]["seconds"] is not None and runs[0]["detail"].startswith("did 2021-11-28T19:00")


def test_a_failing_job_is_recorded_and_the_next_slot_runs(app: App) -> None:
    def broken(app: App, slot: datetime) -> str:
        raise RuntimeError("the lake is not mounted")

    runner = Runner(app, [Job("nightly", NIGHTLY, timedelta(days=1, hours=1), broken)])
    assert runner.run("nightly", datetime(2021, 11, 29, 4, 0, tzinfo=BEIJING)) == "failed"
    (run,) = jobs.runs(app)
    assert run["outcome"] == "failed" and "the lake is not mounted" in run["detail"]


@pytest.fixture
def two_servers(postgres_url: str, tmp_path: Path) -> Iterator[tuple[App, App]]:
    with fresh_postgres_database(postgres_url) as url:
        first, second = open_app(tmp_path / "a", url), open_app(tmp_path / "b", url)
        try:
            yield first, second
        finally:
            first.close()
            second.close()


@pytest.mark.postgres
def test_two_servers_catching_up_at_once_run_the_slot_once(two_servers: tuple[App, App]) -> None:
    calls = Calls(pause=0.3)
    job = Job("nightly", NIGHTLY, timedelta(days=1, hours=1), calls)
    runners = [Runner(app, [job], host=f"server-{i}") for i, app in enumerate(two_servers)]
    back = datetime(2021, 11, 29, 9, 30, tzinfo=BEIJING)
    results: list[dict[str, str | None]] = []
    threads = [threading.Thread(target=lambda r=r: results.append(r.catch_up(back))) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(str(r["nightly"]) for r in results) == ["None", "ok"]
    assert len(calls.slots) == 1
    assert len(_runs(two_servers[0])) == 1


@pytest.mark.postgres
def test_a_slow_run_holds_the_job_lock_so_the_next_slot_is_skipped(two_servers: tuple[App, App]) -> None:
    calls = Calls(pause=1.0)
    every_minute = CronTrigger(minute="*", timezone=BEIJING)
    job = Job("alerts", every_minute, timedelta(minutes=2), calls)
    a, b = (Runner(app, [job], host=f"server-{i}") for i, app in enumerate(two_servers))
    t0 = datetime(2021, 11, 29, 7, 0, 30, tzinfo=BEIJING)
    slow = threading.Thread(target=a.run, args=("alerts", t0))
    slow.start()
    time.sleep(0.3)
    assert b.run("alerts", t0 + timedelta(minutes=1)) == "busy"
    slow.join()
    assert len(calls.slots) == 1
    assert sorted(r.outcome for r in _runs(two_servers[0])) == ["busy", "ok"]


@pytest.mark.postgres
def test_apscheduler_on_two_servers_runs_each_slot_once(two_servers: tuple[App, App]) -> None:
    calls = Calls(pause=0.05)
    every_second = CronTrigger(second="*", timezone=BEIJING)
    job = Job("tick", every_second, timedelta(seconds=5), calls)
    runners = [Runner(app, [job], host=f"server-{i}") for i, app in enumerate(two_servers)]
    for app in two_servers:
        app.settings.now = None  # the real clock: APScheduler fires on it
    for r in runners:
        r.start()
    time.sleep(3.5)
    for r in runners:
        r.stop()
    slots = calls.slots
    assert len(slots) >= 3
    assert len(slots) == len(set(slots))  # each second's slot ran on one server only
    runs = _runs(two_servers[0])
    # every slot claimed once; a slot whose fire came while the other server still ran the previous
    # one is recorded as busy (the job's advisory lock: runs never overlap) and did not run; on a
    # loaded machine that happens, so it is allowed here, but only that
    assert len({r.scheduled_for for r in runs}) == len(runs)
    assert {r.outcome for r in runs} <= {"ok", "busy"}
    assert sorted(r.scheduled_for for r in runs if r.outcome == "ok") == sorted(slots)


def test_the_standard_jobs_run_and_publish(app: App) -> None:
    from commutepass.jobs import service

    runner = service.runner(app)
    now = datetime(2021, 11, 29, 7, 30, tzinfo=BEIJING)
    app.settings.now = now
    outcomes = runner.catch_up(now)
    names = ("alerts", "notifications", "identify", "trust-lists", "retention", "snapshot")
    assert outcomes == dict.fromkeys(names, "ok"), jobs.runs(app)
    published = service.published_dir(app)
    assert {p.name for p in published.iterdir()} == {"trust.json", "revocations.json", "snapshot.json"}
    expiring = [e.name for e in service.expiries(app, now)]
    assert "offline snapshot" in expiring and any(n.startswith("key ") for n in expiring)


# --- the jobs on main's time model: the policy book in the store, the lists' own expiries -------

SHIPPED = (Path(__file__).resolve().parents[2] / "src/commutepass/policies/2021-11-17.toml").read_text(
    encoding="utf-8"
)
ADMIN = audit.Actor("admin1", "admin")


def _version(version: str, effective: datetime, **replace: str) -> str:
    text = SHIPPED.replace('version = "2021-11-17"', f'version = "{version}"').replace(
        "effective_from = 2021-11-17T00:00:00+08:00", f"effective_from = {effective.isoformat()}"
    )
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _published_snapshot(app: App) -> OfflineSnapshot:
    from commutepass.jobs import service

    built = json.loads((service.published_dir(app) / "snapshot.json").read_text(encoding="utf-8"))
    return OfflineSnapshot.load(
        base64.b64decode(built["snapshot"]),
        base64.b64decode(built["key"]),
        load_anchor(credentials.anchor_pem(app)),
        app.catalog,
    )


def test_the_jobs_use_the_policy_version_the_store_schedules_from_its_time(app: App) -> None:
    from commutepass.jobs import service

    # an admin schedules a version with a shorter retention and snapshot age, in force at noon
    app.settings.now = datetime(2021, 11, 29, 7, 30, tzinfo=BEIJING)
    noon = datetime(2021, 11, 29, 12, 0, tzinfo=BEIJING)
    pv.upload(
        app,
        ADMIN,
        _version(
            "2021-11-29",
            noon,
            **{
                "retention_days = 30": "retention_days = 29",  # still covers the 28-day window
                "snapshot_max_age_hours = 24": "snapshot_max_age_hours = 12",
            },
        ),
    )
    pv.schedule(app, ADMIN, "2021-11-29")
    runner = service.runner(app)

    # the 05:00 and 03:00 slots of that morning: the version then in force
    assert runner.run("snapshot", datetime(2021, 11, 29, 7, 30, tzinfo=BEIJING)) == "ok"
    morning = _published_snapshot(app)
    assert morning.policy_version == "2021-11-17"
    assert morning.policies is not None  # the snapshot carries the store's book, scheduled version too
    assert [p.version for p in morning.policies.policies][-2:] == ["2021-11-17", "2021-11-29"]
    assert morning.book(app.base_policies).in_force(noon).version == "2021-11-29"
    assert runner.run("retention", datetime(2021, 11, 29, 7, 30, tzinfo=BEIJING)) == "ok"
    # the expiry alert counts the snapshot's age with the policy in force at the time asked
    (before,) = [
        e for e in service.expiries(app, noon - timedelta(minutes=1)) if e.name == "offline snapshot"
    ]
    assert before.expires_at == datetime(2021, 11, 30, 5, 0, tzinfo=BEIJING)
    (after,) = [e for e in service.expiries(app, noon) if e.name == "offline snapshot"]
    assert after.expires_at == datetime(2021, 11, 29, 17, 0, tzinfo=BEIJING)

    # the next night's slots: the new version
    assert runner.run("snapshot", datetime(2021, 11, 30, 7, 30, tzinfo=BEIJING)) == "ok"
    assert _published_snapshot(app).policy_version == "2021-11-29"
    assert runner.run("retention", datetime(2021, 11, 30, 7, 30, tzinfo=BEIJING)) == "ok"
    details = {
        r["scheduled_for"][:10]: json.loads(r["detail"]) for r in jobs.runs(app) if r["job"] == "retention"
    }
    assert details["2021-11-29"]["retention_days"] == 30
    assert details["2021-11-30"]["retention_days"] == 29


def test_list_expiry_warnings_read_the_published_lists(app: App) -> None:
    from commutepass.flow import service as flow
    from commutepass.jobs import service

    runner = service.runner(app)
    assert service.list_expiries(app, datetime.now(UTC)) == []  # nothing published yet
    assert runner.run("trust-lists", datetime(2021, 11, 29, 7, 30, tzinfo=BEIJING)) == "ok"
    published = service.published_dir(app)
    trust = json.loads((published / "trust.json").read_text(encoding="utf-8"))
    revocations = json.loads((published / "revocations.json").read_text(encoding="utf-8"))
    lists = {e.name: e.expires_at for e in service.list_expiries(app, datetime.now(UTC))}
    # each list's own signed expiry, as a verifier reads it (a week after it was signed)
    assert lists == {
        "trust list": datetime.fromisoformat(trust["expires_at"]),
        "revocation list": datetime.fromisoformat(revocations["expires_at"]),
    }
    # 47 hours before the lists run out, the expiry rule (48 h) opens an alert for each list
    late = min(lists.values()) - timedelta(hours=47)
    opened = flow.evaluate(app, late, service.expiries(app, late), actor="test")["opened"]
    live = {(a["rule"], a["site"]) for a in flow.alerts(app, live_only=True)}
    assert len(opened) == len(live)
    assert {("expiry-48-h", "trust list"), ("expiry-48-h", "revocation list")} <= live
    # the trust list re-signed later: its alert resolves. The revocation list changed after it
    # was signed no longer verifies: it counts as expiring now and its alert stays open
    resigned = credentials.trust_document(app) | {"expires_at": (late + timedelta(days=7)).isoformat()}
    resigned.pop("signature")
    (published / "trust.json").write_text(
        json.dumps(sign_document(resigned, credentials.keyring(app).trust_signer())), encoding="utf-8"
    )
    (published / "revocations.json").write_text(
        json.dumps({**revocations, "hashes": ["00" * 32]}), encoding="utf-8"
    )
    assert {e.name: e.expires_at for e in service.list_expiries(app, late)} == {
        "trust list": late + timedelta(days=7),
        "revocation list": late,
    }
    resolved = flow.evaluate(app, late, service.expiries(app, late), actor="test")["resolved"]
    assert [flow.alert(app, i)["site"] for i in resolved] == ["trust list"]
    live = {(a["rule"], a["site"]) for a in flow.alerts(app, live_only=True)}
    assert ("expiry-48-h", "trust list") not in live and ("expiry-48-h", "revocation list") in live
