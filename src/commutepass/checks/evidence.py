"""The rows a status was decided from, for the reviewer of an application or an appeal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from commutepass.domain.clock import BEIJING, local_date, to_utc
from commutepass.kit.context import App
from commutepass.store.facts import NAT_LOOKBACK
from commutepass.store.tables import (
    checks,
    commuter_entries,
    itinerary,
    nat_results,
    overrides,
    risk_periods,
    travel,
)


def evidence(conn: Connection, app: App, person_id: int, at: datetime) -> dict[str, Any]:
    """The rows a status at ``at`` was decided from: the database entries, NAT results in the
    window the rules read, trip-card days in the risk look-back with the risk periods they meet,
    the last entries, and the overrides."""
    policy = app.policies.in_force(at)
    t = to_utc(at)
    today = local_date(at)
    first_day = today - timedelta(days=policy.risk.lookback_days - 1)
    entries = conn.execute(
        select(commuter_entries)
        .where(commuter_entries.c.person_id == person_id)
        .order_by(commuter_entries.c.valid_from)
    ).all()
    nats = conn.execute(
        select(nat_results)
        .where(
            nat_results.c.person_id == person_id,
            nat_results.c.reported_at <= t,
            nat_results.c.reported_at > t - NAT_LOOKBACK,
        )
        .order_by(nat_results.c.reported_at)
    ).all()
    visits = conn.execute(
        select(itinerary.c.day, itinerary.c.county)
        .where(itinerary.c.person_id == person_id, itinerary.c.day >= first_day, itinerary.c.day <= today)
        .order_by(itinerary.c.day)
    ).all()
    counties = sorted({v.county for v in visits})
    risks = (
        conn.execute(
            select(risk_periods)
            .where(risk_periods.c.county.in_(counties))
            .order_by(risk_periods.c.county, risk_periods.c.start, risk_periods.c.recorded_at)
        ).all()
        if counties
        else []
    )
    entered = conn.execute(
        select(travel.c.event_time, travel.c.site, travel.c.mode)
        .where(travel.c.person_id == person_id, travel.c.direction == "enter", travel.c.event_time < t)
        .order_by(travel.c.event_time.desc())
        .limit(5)
    ).all()
    swipes = conn.execute(
        select(checks.c.at, checks.c.site, checks.c.decision)
        .where(checks.c.person_id == person_id, checks.c.at < t)
        .order_by(checks.c.at.desc())
        .limit(5)
    ).all()
    corrections = conn.execute(
        select(overrides).where(overrides.c.person_id == person_id).order_by(overrides.c.id)
    ).all()

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
