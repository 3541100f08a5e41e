"""The service's own scheduled work (Beijing time):

| job | when | what |
|---|---|---|
| ``alerts`` | every minute | warning rules evaluated (with the expiry of the signing keys and of the published snapshot); due webhook messages sent |
| ``trust-lists`` | 02:00 | the trust and revocation lists re-signed and published to ``<data>/published/`` (verifiers fetch them daily; the expiry alert warns 48 h before a listed key runs out) |
| ``retention`` | 03:00 | personal rows past the retention period counted and deleted |
| ``snapshot`` | 05:00 | the offline snapshot for the day built, signed and published |
| ``identify`` | 00:10 | commuter identification over data through yesterday, in force from 00:00 |
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from commutepass.checkpoints import service as checkpoints
from commutepass.commuters import service as commuters
from commutepass.credentials import service as credentials
from commutepass.domain.clock import BEIJING
from commutepass.flow import service as flow
from commutepass.jobs.runner import Job, Runner
from commutepass.kit import audit, observe
from commutepass.kit.context import App
from commutepass.oversight import retention

SCHEDULER = audit.Actor("scheduler", "operator")
SNAPSHOT_LIFETIME = timedelta(hours=36)
"""A checkpoint should not decide from a snapshot older than this: the expiry alert counts to it."""


def published_dir(app: App) -> Path:
    return app.settings.data_dir / "published"


def _publish(app: App, name: str, document: dict[str, Any]) -> Path:
    """Write a document whole or not at all (temporary file, then rename)."""
    folder = published_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, target)
    return target


def expiries(app: App, now: datetime) -> list[flow.Expiry]:
    """What must be renewed in time: each signing key still in use, and the published snapshot."""
    found = [
        flow.Expiry(f"key {r.region} {r.kid[:8]}", r.valid_to)
        for r in credentials.keyring(app).records()
        if r.valid_from <= now < r.valid_to and (r.signs_until is None or now < r.signs_until)
    ]
    snapshot = published_dir(app) / "snapshot.json"
    if snapshot.exists():
        as_of = datetime.fromisoformat(json.loads(snapshot.read_text(encoding="utf-8"))["as_of"])
        found.append(flow.Expiry("offline snapshot", as_of + SNAPSHOT_LIFETIME))
    return found


def alerts_job(app: App, slot: datetime) -> str:
    now = app.now()
    changed = flow.evaluate(app, now, expiries(app, now), actor=SCHEDULER.username)
    sent = flow.deliver(app, datetime.now(UTC))
    return json.dumps({**changed, **sent})


def trust_job(app: App, slot: datetime) -> str:
    _publish(app, "trust.json", credentials.trust_document(app))
    _publish(app, "revocations.json", credentials.revocation_document(app))
    return "trust and revocation lists re-signed"


def retention_job(app: App, slot: datetime) -> str:
    return json.dumps(retention.run(app, now=slot, actor=SCHEDULER), default=str)[:2000]


def snapshot_job(app: App, slot: datetime) -> str:
    built = checkpoints.build_snapshot(app, slot)
    _publish(app, "snapshot.json", built)
    return f"snapshot as of {built['as_of']}: {built['people']} people"


def identify_job(app: App, slot: datetime) -> str:
    as_of = slot.astimezone(BEIJING).date() - timedelta(days=1)
    summary = commuters.identify(app, as_of, by=SCHEDULER)
    return json.dumps(summary.as_dict(), default=str)[:2000]


def _cron(**fields: Any) -> CronTrigger:
    return CronTrigger(timezone=BEIJING, **fields)


def standard_jobs() -> list[Job]:
    day = timedelta(days=1, hours=1)
    return [
        Job("alerts", _cron(minute="*"), timedelta(minutes=2), alerts_job),
        Job("identify", _cron(hour=0, minute=10), day, identify_job),
        Job("trust-lists", _cron(hour=2, minute=0), day, trust_job),
        Job("retention", _cron(hour=3, minute=0), day, retention_job),
        Job("snapshot", _cron(hour=5, minute=0), day, snapshot_job),
    ]


def runner(app: App) -> Runner:
    made = Runner(app, standard_jobs())
    made.on_run = observe.job_ran
    return made
