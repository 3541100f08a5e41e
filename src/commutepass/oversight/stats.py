"""Aggregates for analysts: counts only, never a person's row, and no count of fewer than
``analyst_min_cell`` people (``domain.privacy``: suppressed, with no total that gives it back)."""

from __future__ import annotations

from typing import Any

from commutepass.appeals import service as appeals
from commutepass.domain.privacy import suppress, suppress_response_times
from commutepass.kit.context import App
from commutepass.oversight import repository


def overview(app: App) -> dict[str, Any]:
    now = app.now()
    with app.engine.connect() as conn:
        in_force = repository.database_by_class_and_source(conn, now)
        by_state = repository.applications_by_channel_and_state(conn)
        live_checks = repository.checks_by_decision(conn)
        kept = repository.kept_daily_counts(conn)
    k = app.settings.analyst_min_cell
    commuters = suppress([int(n) for _c, _s, n in in_force], k)
    applied = suppress([int(n) for _c, _s, n in by_state], k)
    decided = suppress([int(n) for _d, n in live_checks], k)
    daily: list[dict[str, Any]] = []
    daily_totals: dict[str, int | None] = {}
    for kind in sorted({kind for kind, _d, _n in kept}):
        rows = [(d, int(n)) for kd, d, n in kept if kd == kind]
        table = suppress([n for _d, n in rows], k)
        daily += [
            {"kind": kind, "day": d.isoformat(), "count": c}
            for (d, _n), c in zip(rows, table.counts, strict=True)
        ]
        daily_totals[kind] = table.total
    return {
        "min_cell": k,
        "commuters_in_force": [
            {"class": c, "source": s, "count": shown}
            for (c, s, _n), shown in zip(in_force, commuters.counts, strict=True)
        ],
        "applications": [
            {"channel": c, "status": s, "count": shown}
            for (c, s, _n), shown in zip(by_state, applied.counts, strict=True)
        ],
        "checks_by_decision": {d: shown for (d, _n), shown in zip(live_checks, decided.counts, strict=True)},
        "retained_daily_counts": daily,
        "totals": {
            "commuters_in_force": commuters.total,
            "applications": applied.total,
            "checks": decided.total,
            "retained_daily_counts": daily_totals,
        },
        "appeal_response_times": [suppress_response_times(row, k) for row in appeals.response_times(app)],
    }
