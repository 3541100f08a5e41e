"""The rows a status was decided from, for the reviewer of an application or an appeal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from commutepass.checks import repository
from commutepass.domain.clock import BEIJING, local_date, to_utc
from commutepass.kit.context import App
from commutepass.store.facts import NAT_LOOKBACK


def evidence(conn: Connection, app: App, person_id: int, at: datetime) -> dict[str, Any]:
    """The rows a status at ``at`` was decided from: the database entries, NAT results in the
    window the rules read, trip-card days in the risk look-back with the risk periods they meet,
    the last entries, and the overrides."""
    policy = app.policies.in_force(at)
    t = to_utc(at)
    today = local_date(at)
    first_day = today - timedelta(days=policy.risk.lookback_days - 1)
    rows = repository.evidence_rows(conn, person_id, t, first_day, today, NAT_LOOKBACK)
    entries, nats, visits, risks = rows.entries, rows.nats, rows.visits, rows.risks
    entered, swipes, corrections = rows.entered, rows.swipes, rows.corrections

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(BEIJING).isoformat() if value is not None else None

    return {
        "policy_version": policy.version,
        "commuter_entries": [
            {
                "source": e.source,
                "commuter_class": e.commuter_class,
                "valid_from": iso(e.valid_from),
                "valid_to": iso(e.valid_to),
                "reason": e.reason,
                "evidence": e.evidence,
                "end_reason": e.end_reason,
                "recorded_at": iso(e.recorded_at),
                "ended_at": iso(e.ended_at),
            }
            for e in entries
        ],
        "nat_results": [
            {
                "sampled_at": iso(n.sampled_at),
                "reported_at": iso(n.reported_at),
                "positive": n.positive,
                "lab": n.lab,
                "recorded_at": iso(n.recorded_at),
            }
            for n in nats
        ],
        "itinerary": [{"day": v.day.isoformat(), "county": v.county} for v in visits],
        "risk_periods": [
            {
                "county": r.county,
                "level": r.level,
                "start": r.start.isoformat(),
                "end": r.end.isoformat() if r.end else None,
                "recorded_at": iso(r.recorded_at),
            }
            for r in risks
        ],
        "recent_entries": [{"at": iso(e.event_time), "site": e.site, "mode": e.mode} for e in entered],
        "recent_checks": [{"at": iso(c.at), "site": c.site, "decision": c.decision} for c in swipes],
        "overrides": [
            {
                "field": o.field,
                "valid_from": iso(o.valid_from),
                "valid_to": iso(o.valid_to),
                "reason": o.reason,
                "appeal_id": o.appeal_id,
                "recorded_at": iso(o.recorded_at),
            }
            for o in corrections
        ],
    }
