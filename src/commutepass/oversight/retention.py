"""Retention: every kind of personal data older than its period in the policy is removed —
travel, itinerary and check rows, test results, decided applications with their history, uploaded
documents (rows and files), ended sign-in sessions, and the identification copy (the lake's travel
files, daily activity and rolling states); the daily counts are kept (``daily_counts``), so
aggregates survive the purge.

One transaction for the store: the counts are added and the rows deleted together or not at all.
Files (documents no row refers to any more, lake days) are removed after it commits, so a failed
run leaves every file a surviving row needs; a file left by a crash is removed by the next run.
The audit log is a hash chain and keeps its own, longer period (``retention.audit_days``): this
job never cuts it.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from commutepass.domain.clock import BEIJING, local_date, local_midnight
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.oversight import repository

KINDS = (
    "travel",
    "lake",
    "itinerary",
    "checks",
    "nat",
    "documents",
    "applications",
    "sessions",
    "notifications",
)


def cutoff(app: App, now: datetime, kind: str = "travel") -> datetime:
    """00:00 Beijing time, the kind's retention period before today: older data goes."""
    days = app.policies.in_force(now).kept_days(kind)
    return local_midnight(local_date(now) - timedelta(days=days))


def _lake_days(root: Path, before: date) -> list[Path]:
    """The lake's files and folders of days before ``before``: travel day folders, daily
    activity files (with their ``.sources``) and rolling states ending on such a day."""
    found: list[Path] = []
    for pattern in ("travel/*", "activity/*/*.parquet", "activity/*/*.sources", "activity/*/state-*/*"):
        for path in root.glob(pattern):
            stem = path.name.split(".")[0]
            try:
                day = date.fromisoformat(stem)
            except ValueError:
                continue
            if day < before:
                found.append(path)
    return sorted(found)


def _remove(paths: Iterable[Path]) -> int:
    removed = 0
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def _unreferenced_files(conn: Connection, data_dir: Path) -> list[Path]:
    """Document files no document row refers to any more."""
    root = data_dir / "documents"
    if not root.is_dir():
        return []
    kept = repository.document_hashes(conn)
    return [p for p in root.glob("*/*") if p.is_file() and p.name not in kept and not p.name.startswith(".")]


def _add_counts(conn: Connection, kind: str, counts: Counter[tuple[date, str]]) -> None:
    rows = [
        {"kind": kind, "day": day, "bucket": bucket[:96], "count": n} for (day, bucket), n in counts.items()
    ]
    repository.add_daily_counts(conn, kind, rows)


def _count(rows: Iterable[Any], key: Any) -> Counter[tuple[date, str]]:
    counts: Counter[tuple[date, str]] = Counter()
    for row in rows:
        counts[key(row)] += 1
    return counts


def run(app: App, *, now: datetime | None = None, actor: audit.Actor | None = None) -> dict[str, Any]:
    now = now or app.now()
    limits = {kind: cutoff(app, now, kind) for kind in KINDS}
    with app.transaction() as conn:
        limit = limits["travel"]
        travel_counts = _count(
            repository.travel_before(conn, limit),
            lambda r: (local_date(r.event_time), f"{r.direction}|{r.mode}|{r.county}"),
        )
        day_limit = local_date(limits["itinerary"])
        itinerary_counts = _count(repository.itinerary_before(conn, day_limit), lambda r: (r.day, r.county))
        check_counts = _count(
            repository.checks_before(conn, limits["checks"]),
            lambda r: (local_date(r.at), f"{r.decision}|{r.site}"),
        )
        nat_counts = _count(
            repository.nat_before(conn, limits["nat"]),
            lambda r: (local_date(r.reported_at), "positive" if r.positive else "negative"),
        )
        application_counts = _count(
            repository.applications_decided_before(conn, limits["applications"]),
            lambda r: (local_date(r.decided_at), f"{r.channel}|{r.status}"),
        )
        _add_counts(conn, "travel", travel_counts)
        _add_counts(conn, "itinerary", itinerary_counts)
        _add_counts(conn, "checks", check_counts)
        _add_counts(conn, "nat", nat_counts)
        _add_counts(conn, "applications", application_counts)
        deleted = repository.delete_before(conn, limits, day_limit)
        deleted.update(repository.delete_notifications_before(conn, limits["notifications"]))
        lake_root = app.settings.resolved_lake_dir()
        lake_before = local_date(limits["lake"])
        summary = {
            "cutoff": limit.astimezone(BEIJING).isoformat(),
            "retention_days": app.policies.in_force(now).retention_days,
            "cutoffs": {kind: value.astimezone(BEIJING).isoformat() for kind, value in limits.items()},
            "deleted": deleted,
            "counted": {
                "travel": sum(travel_counts.values()),
                "itinerary": sum(itinerary_counts.values()),
                "checks": sum(check_counts.values()),
                "nat": sum(nat_counts.values()),
                "applications": sum(application_counts.values()),
            },
        }
        audit.record(
            conn,
            app,
            actor or audit.cli_actor(),
            "retention.run",
            None,
            f"rows before {summary['cutoff']}",
            **summary,
        )
    # files after the rows are gone for good
    with app.engine.connect() as conn:
        stale_files = _unreferenced_files(conn, app.settings.data_dir)
    deleted["document_files"] = _remove(stale_files)
    deleted["lake_files"] = _remove(_lake_days(lake_root, lake_before))
    return summary
