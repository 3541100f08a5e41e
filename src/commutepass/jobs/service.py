"""The service's own scheduled work (Beijing time):

| job | when | what |
|---|---|---|
| ``alerts`` | every minute | warning rules evaluated (with the expiry of the signing keys, of the published trust and revocation lists as their signatures state it, and of the published snapshot under the policy in force); due webhook messages sent |
| ``trust-lists`` | 02:00 | the trust and revocation lists re-signed and published to ``<data>/published/`` (verifiers fetch them daily; the expiry alert warns 48 h before a listed key runs out) |
| ``retention`` | 03:00 | personal rows past the retention period counted and deleted |
| ``snapshot`` | 05:00 | the offline snapshot for the day built, signed and published, with the policy book from the store (every version in force or scheduled, the withdrawn ones named) |
| ``identify`` | 00:10 | commuter identification over data through yesterday, in force from 00:00 |

Every job reads the policy book from the store (``App.policies``): a version an admin scheduled
applies to the slots at or after its effective time, on every server, without a restart.
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
from commutepass.domain.errors import InputError
from commutepass.flow import service as flow
from commutepass.jobs.runner import Job, Runner
from commutepass.kit import audit, observe, outbox
from commutepass.kit.context import App
from commutepass.notifications import service as notifications
from commutepass.oversight import retention

SCHEDULER = audit.Actor("scheduler", "operator")
LIST_NAMES = {"trust": "trust list", "revocations": "revocation list"}


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


def list_expiries(app: App, now: datetime) -> list[flow.Expiry]:
    """When the published trust and revocation lists expire, read from each list itself by the
    credentials area, as a verifier reads it (signature checked against the anchors). A published
    list that does not verify or cannot be read counts as expiring now: the alert asks to re-sign
    it. A list not published yet: nothing to warn about (the trust-lists job publishes both)."""
    found: list[flow.Expiry] = []
    for kind, name in LIST_NAMES.items():
        path = published_dir(app) / f"{kind}.json"
        if not path.exists():
            continue
        try:
            expires_at = credentials.list_expiry(app, kind, credentials.read_json_file(path, name))
        except InputError:
            expires_at = now
        if expires_at is not None:
            found.append(flow.Expiry(name, expires_at))
    return found


def snapshot_expiry(app: App, now: datetime) -> flow.Expiry | None:
    """When the published offline snapshot becomes too old for a checkpoint to decide from: its
    as-of time plus ``offline.snapshot_max_age_hours`` of the policy in force now (the store's
    book: a version an admin scheduled counts from its effective time)."""
    path = published_dir(app) / "snapshot.json"
    if not path.exists():
        return None
    as_of = datetime.fromisoformat(json.loads(path.read_text(encoding="utf-8"))["as_of"])
    max_age = timedelta(hours=app.policies.in_force(now).offline.snapshot_max_age_hours)
    return flow.Expiry("offline snapshot", as_of + max_age)


def expiries(app: App, now: datetime) -> list[flow.Expiry]:
    """What must be renewed in time: each signing key still in use, the published trust and
    revocation lists, and the published offline snapshot."""
    found = [
        flow.Expiry(f"key {r.region} {r.kid[:8]}", r.valid_to)
        for r in credentials.keyring(app).records()
        if r.valid_from <= now < r.valid_to and (r.signs_until is None or now < r.signs_until)
    ]
    found.extend(list_expiries(app, now))
    snapshot = snapshot_expiry(app, now)
    if snapshot is not None:
        found.append(snapshot)
    return found


def alerts_job(app: App, slot: datetime) -> str:
    now = app.now()
    changed = flow.evaluate(app, now, expiries(app, now), actor=SCHEDULER.username)
    sent = flow.deliver(app, datetime.now(UTC))
    return json.dumps({**changed, **sent})


def notifications_job(app: App, slot: datetime) -> str:
    """Make the citizens' messages due now (each told once) and, when a receiver is configured,
    send the due ones from the outbox (``notify_webhook_url``; retried on the next run if it fails)."""
    made = notifications.refresh(app, now=app.now())
    url = app.settings.notify_webhook_url
    if not url:
        return json.dumps({"made": made, "sent": 0, "failed": 0})
    report = outbox.deliver_due(app.engine, notifications.CHANNEL, url)
    return json.dumps({"made": made, "sent": report.sent, "failed": report.failed})


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
        Job("notifications", _cron(minute="*/5"), timedelta(minutes=10), notifications_job),
        Job("identify", _cron(hour=0, minute=10), day, identify_job),
        Job("trust-lists", _cron(hour=2, minute=0), day, trust_job),
        Job("retention", _cron(hour=3, minute=0), day, retention_job),
        Job("snapshot", _cron(hour=5, minute=0), day, snapshot_job),
    ]


def runner(app: App) -> Runner:
    made = Runner(app, standard_jobs())
    made.on_run = observe.job_ran
    return made
