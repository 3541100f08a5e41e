"""Aggregates for analysts: counts only, never a person's row."""

from __future__ import annotations

from typing import Any

from commutepass.appeals import service as appeals
from commutepass.kit.context import App
from commutepass.oversight import repository


def overview(app: App) -> dict[str, Any]:
    now = app.now()
    with app.engine.connect() as conn:
        in_force = repository.database_by_class_and_source(conn, now)
        by_state = repository.applications_by_channel_and_state(conn)
        live_checks = repository.checks_by_decision(conn)
        kept = repository.kept_daily_counts(conn)
    return {
        "commuters_in_force": [{"class": c, "source": s, "count": n} for c, s, n in in_force],
        "applications": [{"channel": c, "status": s, "count": n} for c, s, n in by_state],
        "checks_by_decision": {d: n for d, n in live_checks},
        "retained_daily_counts": [{"kind": k, "day": d.isoformat(), "count": int(n)} for k, d, n in kept],
        "appeal_response_times": appeals.response_times(app),
    }
