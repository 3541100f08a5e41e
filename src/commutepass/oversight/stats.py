"""Aggregates for analysts: counts only, never a person's row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from commutepass.appeals import service as appeals
from commutepass.kit.context import App
from commutepass.store.tables import applications, checks, commuter_entries, daily_counts


def overview(app: App) -> dict[str, Any]:
    now = app.now()
    with app.engine.connect() as conn:
        in_force = conn.execute(
            select(commuter_entries.c.commuter_class, commuter_entries.c.source, func.count())
            .where(
                commuter_entries.c.valid_from <= now,
                (commuter_entries.c.valid_to.is_(None)) | (commuter_entries.c.valid_to > now),
            )
            .group_by(commuter_entries.c.commuter_class, commuter_entries.c.source)
        ).all()
        by_state = conn.execute(
            select(applications.c.channel, applications.c.status, func.count()).group_by(
                applications.c.channel, applications.c.status
            )
        ).all()
        live_checks = conn.execute(select(checks.c.decision, func.count()).group_by(checks.c.decision)).all()
        kept = conn.execute(
            select(daily_counts.c.kind, daily_counts.c.day, func.sum(daily_counts.c.count))
            .group_by(daily_counts.c.kind, daily_counts.c.day)
            .order_by(daily_counts.c.kind, daily_counts.c.day)
        ).all()
    return {
        "commuters_in_force": [{"class": c, "source": s, "count": n} for c, s, n in in_force],
        "applications": [{"channel": c, "status": s, "count": n} for c, s, n in by_state],
        "checks_by_decision": {d: n for d, n in live_checks},
        "retained_daily_counts": [{"kind": k, "day": d.isoformat(), "count": int(n)} for k, d, n in kept],
        "appeal_response_times": appeals.response_times(app),
    }
