"""Flow at the entry channels, the waits it implies, and the warnings it raises.

The counts are kept by ``flow.repository.count`` as swipes are stored (``checks.service.store``);
everything here reads at most the last hour of minute rows per site (plus the same hour on
earlier weeks and days for the usual levels), never the day's checks.

Wait estimates: M/M/c with Erlang C plus a fluid backlog (``domain.queueing``), with c the site's
lanes and μ its per-lane rate from the site data.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import InputError
from commutepass.domain.queueing import Estimate, estimate
from commutepass.flow import config
from commutepass.flow import repository as repo
from commutepass.flow.config import (
    ExpiryRule,
    FlowShareRule,
    RefusalRule,
    Rule,
    RuleBook,
    SilentRule,
    Site,
    SiteBook,
    WaitRule,
)
from commutepass.kit import audit, outbox
from commutepass.kit.context import App

HOUR = 60
WINDOW = 5
"""Minutes over which the arrival rate is taken."""
USUAL_WEEKS = 4
USUAL_DAYS = 28
"""A sender claims a message this long; if it dies meanwhile another sends it after."""


def site_book(app: App) -> SiteBook:
    path = app.settings.sites_file
    return config.sites(path) if path else config.sites()


def rule_book(app: App) -> RuleBook:
    path = app.settings.warnings_file
    return config.rules(path) if path else config.rules()


def _minute(at: datetime) -> datetime:
    return at.astimezone(BEIJING).replace(second=0, microsecond=0)


def _elapsed(now: datetime) -> float:
    """How much of the current minute has passed (0–1): it is served only that long."""
    return (now - _minute(now)).total_seconds() / 60


@dataclass
class Series:
    """Per-minute counts of one channel over a run of minutes (oldest first)."""

    arrivals: list[int]
    entered: list[int]
    documents: list[int]
    refused: list[int]

    @classmethod
    def empty(cls, n: int) -> Series:
        return cls([0] * n, [0] * n, [0] * n, [0] * n)


def _series(rows: Sequence[Any], start: datetime, n: int) -> dict[tuple[str, str], Series]:
    """Rows of flow_minutes into per-(site, lane) series of ``n`` minutes from ``start``; the
    lane "" of each site is the whole site."""
    out: dict[tuple[str, str], Series] = {}
    for row in rows:
        i = int((row.minute - start).total_seconds() // 60)
        if not 0 <= i < n:
            continue
        # a lane's row counts for the lane and for the site; a swipe with no lane for the site only
        keys = [(row.site, "")] if row.lane == "" else [(row.site, row.lane), (row.site, "")]
        for key in keys:
            s = out.get(key)
            if s is None:
                s = out[key] = Series.empty(n)
            s.arrivals[i] += row.arrivals
            s.entered[i] += row.entered
            s.documents[i] += row.documents
            s.refused[i] += row.refused
    return out


def _round(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 2)


def _estimate_json(e: Estimate) -> dict[str, Any]:
    return {
        "arrivals_per_minute": round(e.arrival_rate, 2),
        "capacity_per_minute": round(e.capacity, 2),
        "utilisation": _round(e.utilisation),
        "queue": _round(e.queue),
        "wait_minutes": _round(e.wait_minutes),
    }


def _hour_rows(app: App, now: datetime, site: str | None = None) -> tuple[datetime, list[Any]]:
    end = _minute(now) + timedelta(minutes=1)
    start = end - timedelta(minutes=HOUR)
    with app.engine.connect() as conn:
        return start, repo.minutes(conn, start, end, site)


def _site_names(app: App, rows: Sequence[Any]) -> list[str]:
    listed = [s.name for s in site_book(app).site]
    seen = sorted({r.site for r in rows} - set(listed))
    return listed + seen


def _five_minutes(values: list[int]) -> list[int]:
    return [sum(values[i : i + 5]) for i in range(0, len(values), 5)]


def flow(app: App, now: datetime, site: str | None = None) -> list[dict[str, Any]]:
    """Every channel over the last hour (or one site's): arrivals and decisions per minute and per
    5 minutes, the refusal rate, the estimated queue and wait, for the site and each lane."""
    book = site_book(app)
    start, rows = _hour_rows(app, now, site)
    series = _series(rows, start, HOUR)
    names = [site] if site else _site_names(app, rows)
    out = []
    for name in names:
        data = book.get(name)
        lanes = []
        lane_names = list(data.lanes) + sorted(
            {lane for (s, lane) in series if s == name and lane and lane not in data.lanes}
        )
        for lane in lane_names:
            s = series.get((name, lane), Series.empty(HOUR))
            lanes.append({"lane": lane, **_channel(s, data.per_lane_per_minute, 1, _elapsed(now))})
        whole = series.get((name, ""), Series.empty(HOUR))
        out.append(
            {
                "site": name,
                "name_en": data.name_en or name,
                "mode": data.mode,
                "lanes_open": len(data.lanes),
                "per_lane_per_minute": data.per_lane_per_minute,
                "from": start.isoformat(),
                **_channel(whole, data.per_lane_per_minute, len(data.lanes), _elapsed(now)),
                "lanes": lanes,
            }
        )
    return out


def _channel(s: Series, mu: float, servers: int, elapsed: float) -> dict[str, Any]:
    total = sum(s.arrivals)
    refused = sum(s.refused)
    return {
        "arrivals_last_hour": total,
        "refused_last_hour": refused,
        "refusal_rate": round(refused / total, 4) if total else None,
        "per_minute": {
            "arrivals": s.arrivals,
            "entered": s.entered,
            "documents": s.documents,
            "refused": s.refused,
        },
        "per_5_minutes": {
            "arrivals": _five_minutes(s.arrivals),
            "entered": _five_minutes(s.entered),
            "documents": _five_minutes(s.documents),
            "refused": _five_minutes(s.refused),
        },
        "estimate": _estimate_json(estimate(s.arrivals, mu, servers, window=WINDOW, elapsed=elapsed)),
    }


def _estimate(arrivals: list[int], site: Site, elapsed: float = 1.0) -> Estimate:
    return estimate(arrivals, site.per_lane_per_minute, len(site.lanes), window=WINDOW, elapsed=elapsed)


def _wait(arrivals: list[int], site: Site, elapsed: float = 1.0) -> float:
    return _estimate(arrivals, site, elapsed).wait_minutes


def waits(app: App, now: datetime, names: Sequence[str] | None = None) -> dict[str, Any]:
    """The public view: each checkpoint and station with its current estimated wait, the trend
    over the last hour (every 5 minutes) and the usual wait at this hour of the week (the mean of
    the same hour on the last four weeks that had checks). Counts only: nothing personal."""
    book = site_book(app)
    start, rows = _hour_rows(app, now)
    series = _series(rows, start, HOUR)
    usual: dict[str, list[float]] = {}
    with app.engine.connect() as conn:
        for week in range(1, USUAL_WEEKS + 1):
            then = start - timedelta(weeks=week)
            past = _series(repo.minutes(conn, then, then + timedelta(minutes=HOUR)), then, HOUR)
            for (name, lane), s in past.items():
                if lane == "" and any(s.arrivals):
                    usual.setdefault(name, []).append(_wait(s.arrivals, book.get(name)))
    sites = []
    for name in names if names is not None else _site_names(app, rows):
        data = book.get(name)
        arrivals = series.get((name, ""), Series.empty(HOUR)).arrivals
        elapsed = _elapsed(now)
        trend = [
            _round(_wait(arrivals[: i + 1], data, elapsed if i == HOUR - 1 else 1.0))
            for i in range(4, HOUR, 5)
        ]
        waits_then = usual.get(name)
        sites.append(
            {
                "site": name,
                "name_en": data.name_en or name,
                "mode": data.mode,
                "wait_minutes": _round(_wait(arrivals, data, elapsed)),
                "trend_minutes": trend,
                "usual_wait_minutes": _round(statistics.fmean(waits_then)) if waits_then else None,
            }
        )
    return {
        "at": now.astimezone(BEIJING).isoformat(),
        "model": "M/M/c (Erlang C) + fluid backlog",
        "sites": sites,
    }


def waits_for_person(app: App, person_id: int | None, now: datetime) -> list[dict[str, Any]]:
    """The waits at the checkpoints this person used in the last 60 days (the citizen page)."""
    if person_id is None:
        return []
    with app.engine.connect() as conn:
        used = repo.sites_of_person(conn, person_id, now - timedelta(days=60))
    if not used:
        return []
    listed: list[dict[str, Any]] = waits(app, now, used)["sites"]
    return listed


# --- warnings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    """Something that must be renewed in time: the offline snapshot, a trust or revocation list."""

    name: str
    expires_at: datetime


@dataclass(frozen=True)
class Condition:
    value: float
    zh: str
    en: str


def _conditions(
    app: App, now: datetime, rules: Sequence[Rule], expiries: Sequence[Expiry] | None
) -> dict[tuple[str, str], Condition]:
    book = site_book(app)
    start, rows = _hour_rows(app, now)
    series = _series(rows, start, HOUR)
    names = _site_names(app, rows)
    found: dict[tuple[str, str], Condition] = {}
    with app.engine.connect() as conn:
        for rule in rules:
            if isinstance(rule, ExpiryRule):
                for item in expiries or ():
                    left = (item.expires_at - now).total_seconds() / 3600
                    if left < rule.hours:
                        found[(rule.id, item.name)] = Condition(
                            round(left, 2),
                            f"{item.name} 将在 {left:.1f} 小时后过期：请立即重新签发或发布。",
                            f"{item.name} expires in {left:.1f} h: re-sign or publish it now.",
                        )
                continue
            for name in names:
                site = book.get(name)
                arrivals = series.get((name, ""), Series.empty(HOUR))
                condition = _site_condition(conn, rule, site, arrivals, now)
                if condition is not None:
                    found[(rule.id, name)] = condition
    return found


def _site_condition(conn: Any, rule: Rule, site: Site, s: Series, now: datetime) -> Condition | None:
    name = site.name
    en = site.name_en or name
    if isinstance(rule, FlowShareRule):
        share = _estimate(s.arrivals, site, _elapsed(now)).arrival_rate / site.capacity
        if share > rule.share:
            return Condition(
                round(share, 3),
                f"{name}：车流/人流为通行能力的 {share:.0%}（阈值 {rule.share:.0%}）。请增开通道或分流。",
                f"{en}: flow at {share:.0%} of capacity (threshold {rule.share:.0%}). "
                "Open more lanes or divert traffic.",
            )
    elif isinstance(rule, WaitRule):
        wait = _wait(s.arrivals, site, _elapsed(now))
        if wait > rule.minutes:
            return Condition(
                round(wait, 1),
                f"{name}：预计等候 {wait:.0f} 分钟（阈值 {rule.minutes:.0f}）。请增派查验人员。",
                f"{en}: estimated wait {wait:.0f} min (threshold {rule.minutes:.0f}). Add officers.",
            )
    elif isinstance(rule, RefusalRule):
        checks, refused = sum(s.arrivals), sum(s.refused)
        if checks >= rule.min_checks:
            hour_start = _minute(now) - timedelta(minutes=HOUR - 1)
            usual_checks, usual_refused = repo.hour_totals(
                conn, name, [hour_start - timedelta(days=d) for d in range(1, USUAL_DAYS + 1)]
            )
            rate = refused / checks
            usual = usual_refused / usual_checks if usual_checks else 0.0
            # with no refusals usually, one in a hundred counts as the usual level
            if rate > rule.factor * max(usual, 0.01):
                return Condition(
                    round(rate, 4),
                    f"{name}：劝返率 {rate:.1%}，为平时（{usual:.1%}）的 {rule.factor:g} 倍以上。请核查规则或设备。",
                    f"{en}: refusal rate {rate:.1%}, over {rule.factor:g}× its usual {usual:.1%}. "
                    "Check the rules in force and the devices.",
                )
    elif isinstance(rule, SilentRule):
        since = now - timedelta(minutes=rule.minutes)
        if site.open_at(now) and site.open_at(since):
            last = repo.last_minute(conn, name, _minute(now) + timedelta(minutes=1))
            if last is not None and now - last > timedelta(days=7):
                return None  # a site not in use lately is not expected to swipe
            if last is not None and last < _minute(since):
                quiet = (now - last).total_seconds() / 60
                return Condition(
                    round(quiet, 1),
                    f"{name}：已 {quiet:.0f} 分钟没有查验记录。请确认检查站设备在线。",
                    f"{en}: no check for {quiet:.0f} min. Make sure the checkpoint's devices are online.",
                )
    return None


def _alert_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "rule": row.rule,
        "site": row.site,
        "state": row.state,
        "value": row.value,
        "opened_at": row.opened_at.isoformat(),
        "acknowledged_at": row.acknowledged_at.isoformat() if row.acknowledged_at else None,
        "acknowledged_by": row.acknowledged_by,
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        "message": {"zh": row.message_zh, "en": row.message_en},
    }


def evaluate(
    app: App, now: datetime, expiries: Sequence[Expiry] | None = None, actor: str = "system"
) -> dict[str, list[int]]:
    """Apply every rule: open an alert where a condition holds and none is live for that rule and
    site, resolve the live ones whose condition is gone. Each change is recorded in the alert's
    history and queued for the outbound channel, in one transaction. ``expiries``: None leaves
    expiry alerts as they are (the caller had nothing to say about them)."""
    rules = list(rule_book(app).rule)
    conditions = _conditions(app, now, rules, expiries)
    evaluated = {r.id for r in rules if expiries is not None or not isinstance(r, ExpiryRule)}
    opened: list[int] = []
    resolved: list[int] = []
    with app.transaction() as conn:
        live = {(a.rule, a.site): a for a in repo.live_alerts(conn)}
        for (rule_id, site), c in sorted(conditions.items()):
            if (rule_id, site) in live:
                continue
            alert_id = repo.open_alert(
                conn,
                {
                    "rule": rule_id,
                    "site": site,
                    "state": "open",
                    "open_key": f"{rule_id}|{site}",
                    "opened_at": now,
                    "value": c.value,
                    "message_zh": c.zh,
                    "message_en": c.en,
                },
            )
            if alert_id is None:
                continue
            repo.add_event(conn, alert_id, now, "opened", actor, json.dumps({"value": c.value}))
            _enqueue(conn, alert_id, "opened", now)
            opened.append(alert_id)
        for key, a in live.items():
            if key[0] in evaluated and key not in conditions:
                done = repo.set_state(
                    conn, a.id, {"state": "resolved", "open_key": None, "resolved_at": now}, unless="resolved"
                )
                if done:
                    repo.add_event(conn, a.id, now, "resolved", actor, "{}")
                    _enqueue(conn, a.id, "resolved", now)
                    resolved.append(a.id)
    return {"opened": opened, "resolved": resolved}


def _enqueue(conn: Any, alert_id: int, event: str, now: datetime) -> None:
    row = repo.alert(conn, alert_id)
    payload = {"event": event, "alert": _alert_json(row)}
    outbox.enqueue(conn, ALERTS_CHANNEL, f"alert-{alert_id}-{event}", payload, now)


def acknowledge(app: App, actor: audit.Actor, alert_id: int, now: datetime, note: str = "") -> dict[str, Any]:
    """An officer of the watch has seen the alert: it stays live until its condition is gone."""
    with app.transaction() as conn:
        row = repo.alert(conn, alert_id)
        if row is None:
            raise InputError("alert_id", f"no alert {alert_id}", f"没有编号为 {alert_id} 的预警")
        if row.state == "resolved":
            raise InputError(
                "alert_id",
                f"alert {alert_id} is resolved already: nothing to acknowledge",
                f"预警 {alert_id} 已解除，无需确认",
            )
        if repo.set_state(
            conn,
            alert_id,
            {"state": "acknowledged", "acknowledged_at": now, "acknowledged_by": actor.username[:64]},
            unless="acknowledged",
        ):
            repo.add_event(
                conn, alert_id, now, "acknowledged", actor.username[:64], json.dumps({"note": note})
            )
            _enqueue(conn, alert_id, "acknowledged", now)
        return _alert_with_history(conn, alert_id)


def _alert_with_history(conn: Any, alert_id: int) -> dict[str, Any]:
    row = repo.alert(conn, alert_id)
    return {
        **_alert_json(row),
        "history": [
            {"at": e.at.isoformat(), "event": e.event, "actor": e.actor, "detail": json.loads(e.detail)}
            for e in repo.history(conn, alert_id)
        ],
    }


def alert(app: App, alert_id: int) -> dict[str, Any]:
    with app.engine.connect() as conn:
        if repo.alert(conn, alert_id) is None:
            raise InputError("alert_id", f"no alert {alert_id}", f"没有编号为 {alert_id} 的预警")
        return _alert_with_history(conn, alert_id)


def alerts(app: App, *, live_only: bool = False) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = repo.live_alerts(conn) if live_only else repo.recent_alerts(conn)
        return [_alert_json(r) for r in rows]


# --- the outbound channel -----------------------------------------------------------------------


ALERTS_CHANNEL = "alerts"
"""The outbox channel the alerts go out on (the same outbox as the citizens' messages, ``kit.outbox``)."""

ALERT_RETRY = outbox.RetryPolicy(first_delay_seconds=10, max_delay_seconds=3600, lease_seconds=60)
"""Wait before the next try: 10 s, 20 s, 40 s … at most an hour; a claimed message is held 60 s."""


def deliver(app: App, now: datetime, *, client: httpx.Client | None = None) -> dict[str, int]:
    """Send the due alert messages to the webhook (``alert_webhook_url``) through the shared
    outbox: a message is claimed under a lease (so one server's sender takes it), sent with its
    stable id as ``Idempotency-Key`` (``alert-<id>-<event>``), marked sent on a 2xx and retried
    with back-off otherwise. So the receiver gets each message once; only a sender that dies
    between the receiver's answer and marking it could send it again, with the same key."""
    url = app.settings.alert_webhook_url
    if not url:
        return {"sent": 0, "failed": 0}
    report = outbox.deliver_due(
        app.engine, ALERTS_CHANNEL, url, retry=ALERT_RETRY, clock=lambda: now, client=client
    )
    return {"sent": report.sent, "failed": report.failed}
