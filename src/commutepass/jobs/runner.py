"""Running scheduled jobs: APScheduler fires them; the store decides who runs.

- **Slots.** Each job has a cron trigger (Beijing time). A run belongs to a slot: the trigger's
  last fire time at or before now. The slot is claimed by inserting its ``job_runs`` row (unique
  on job and slot): whichever server inserts first runs it, the others skip it. So with several
  servers (or ``serve --workers N``, or ``commutepass worker`` next to them) each slot runs once.
- **No overlap.** On PostgreSQL a run also holds a session advisory lock for its job
  (``pg_try_advisory_lock``): a slow run of one slot and the next slot never run at once.
- **Catch-up.** At start, each job's latest slot is run if no server has claimed it (the server
  was down at that time); missed slots before it are coalesced into that one run.
- **Record.** Every run's start, end, duration, outcome and a short detail go to ``job_runs``;
  admins see them on ``/admin/jobs`` and ``GET /v1/jobs``; ``/metrics`` counts them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, text, update

from commutepass.domain.clock import BEIJING
from commutepass.kit.context import App
from commutepass.store.repositories import _insert
from commutepass.store.tables import job_runs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    trigger: CronTrigger
    period: timedelta
    """At least the time between two fire times (how far back the last slot is looked for)."""
    run: Callable[[App, datetime], str]
    """The work for one slot; returns a short detail for the record. Raises on failure."""


def last_slot(job: Job, now: datetime) -> datetime:
    """The trigger's last fire time at or before ``now``."""
    fire = job.trigger.get_next_fire_time(None, now - job.period)
    slot = fire
    while fire is not None and fire <= now:
        slot = fire
        fire = job.trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    assert slot is not None and slot <= now, f"{job.name}: no fire time within {job.period} before {now}"
    result: datetime = slot.astimezone(UTC)
    return result


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"commutepass job {name}".encode()).digest()[:8], "big", signed=True)


class Runner:
    def __init__(self, app: App, jobs: list[Job], *, host: str | None = None) -> None:
        self.app = app
        self.jobs = {j.name: j for j in jobs}
        self.host = (host or f"{socket.gethostname()}:{os.getpid()}")[:128]
        self.scheduler: BackgroundScheduler | None = None
        self.on_run: Callable[[str, str, float], None] | None = None
        """Called after each run with (job, outcome, seconds): the metrics hook."""

    def run(self, name: str, now: datetime | None = None) -> str | None:
        """Run the job's current slot unless another runner has claimed it. The outcome ('ok',
        'failed', 'busy'), or None if the slot was claimed elsewhere."""
        job = self.jobs[name]
        moment = now or self.app.now()
        slot = last_slot(job, moment)
        started = datetime.now(UTC)
        with self.app.transaction() as conn:
            claimed = conn.execute(
                _insert(conn, job_runs)
                .values(
                    job=name,
                    scheduled_for=slot,
                    started_at=started,
                    outcome="running",
                    detail="",
                    host=self.host,
                )
                .on_conflict_do_nothing()
                .returning(job_runs.c.id)
            ).first()
        if claimed is None:
            return None
        run_id = int(claimed[0])
        clock = time.perf_counter()
        lock_conn = None
        try:
            if self.app.engine.dialect.name == "postgresql":
                lock_conn = self.app.engine.connect()
                if not lock_conn.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": _lock_key(name)}
                ).scalar():
                    return self._finish(
                        run_id, name, "busy", "an earlier run of this job is still going", clock
                    )
            try:
                detail = job.run(self.app, slot)
                outcome = "ok"
            except Exception as exc:  # recorded, shown to admins, and the scheduler goes on
                logger.exception("job %s (slot %s) failed", name, slot.isoformat())
                detail, outcome = f"{type(exc).__name__}: {exc}", "failed"
            return self._finish(run_id, name, outcome, detail, clock)
        finally:
            if lock_conn is not None:
                lock_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _lock_key(name)})
                lock_conn.commit()
                lock_conn.close()

    def _finish(self, run_id: int, name: str, outcome: str, detail: str, clock: float) -> str:
        seconds = time.perf_counter() - clock
        with self.app.transaction() as conn:
            conn.execute(
                update(job_runs)
                .where(job_runs.c.id == run_id)
                .values(finished_at=datetime.now(UTC), outcome=outcome, detail=detail[:2000])
            )
        if self.on_run is not None:
            self.on_run(name, outcome, seconds)
        return outcome

    def catch_up(self, now: datetime | None = None) -> dict[str, str | None]:
        """Run every job whose latest slot no server has claimed (after downtime)."""
        return {name: self.run(name, now) for name in self.jobs}

    def start(self) -> None:
        """Catch up, then fire each job on its trigger in a background thread."""
        scheduler = BackgroundScheduler(timezone=BEIJING)
        for job in self.jobs.values():
            scheduler.add_job(
                self._fire,
                job.trigger,
                args=[job.name],
                id=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        scheduler.add_job(self.catch_up, id="catch-up")  # once, at once
        scheduler.start()
        self.scheduler = scheduler

    def _fire(self, name: str) -> None:
        try:
            self.run(name)
        except Exception:  # the store is unreachable: the next fire (or catch-up) tries again
            logger.exception("job %s could not be started", name)

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None


def runs(app: App, limit: int = 200) -> list[dict[str, Any]]:
    """The latest job runs, newest first, with their duration."""
    with app.engine.connect() as conn:
        rows = conn.execute(select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)).all()
    return [
        {
            "job": r.job,
            "scheduled_for": r.scheduled_for.astimezone(BEIJING).isoformat(),
            "started_at": r.started_at.astimezone(BEIJING).isoformat(),
            "finished_at": r.finished_at.astimezone(BEIJING).isoformat() if r.finished_at else None,
            "seconds": round((r.finished_at - r.started_at).total_seconds(), 3) if r.finished_at else None,
            "outcome": r.outcome,
            "detail": r.detail,
            "host": r.host,
        }
        for r in rows
    ]
