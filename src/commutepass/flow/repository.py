"""The flow area's SQL: minute counts per entry channel, alerts with their history, the outbox."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from commutepass.store.facts import DriverStyle, on_driver
from commutepass.store.repositories import _insert
from commutepass.store.tables import alert_events, alerts, checks, flow_minutes

_UPSERT = (
    "INSERT INTO flow_minutes (site, lane, minute, arrivals, entered, documents, refused) "
    "VALUES ({m}, {m}, {m}, {m}, {m}, {m}, {m}) "
    "ON CONFLICT (site, lane, minute) DO UPDATE SET "
    "arrivals = flow_minutes.arrivals + excluded.arrivals, "
    "entered = flow_minutes.entered + excluded.entered, "
    "documents = flow_minutes.documents + excluded.documents, "
    "refused = flow_minutes.refused + excluded.refused"
)


_KIND = {"documents": 2, "refuse": 3}
"""The column (after arrivals) a decision counts in: 1 entered (any other decision), 2, 3."""

_UPSERT_SQL = {marker: _UPSERT.format(m=marker) for marker in ("?", "%s")}
"""The upsert with each driver's placeholder (SQLite ``?``, psycopg ``%s``)."""


def count(conn: Connection, swipes: Iterable[tuple[dict[str, Any], str]]) -> None:
    """Count stored swipes (a ``checks`` row and its lane) into their channel's minute, in the
    caller's transaction. The batch is tallied in memory first, then written as one executemany
    of one upsert per channel and minute, added to what is there (atomic on both engines, so
    several servers may count into the same minute); keys in sorted order, so two writers never
    wait on each other's rows in opposite orders.

    On the hot path of every check (the swipe writer calls it once per group commit): the rows go
    straight to the driver's cursor on the transaction's own connection, skipping SQLAlchemy's
    statement handling, a fixed cost on every commit however few swipes it holds."""
    # the minute as a whole number (epoch seconds // 60): far cheaper per swipe than building a
    # datetime for it, and the same key (stored times are UTC-aware); tallied at C speed by Counter
    tally = Counter(
        (row["site"], lane, int(row["at"].timestamp() // 60), row["decision"]) for row, lane in swipes
    )
    if not tally:
        return
    per_key: dict[tuple[str, str, int], list[int]] = {}
    for (site, lane, minute, decision), n in tally.items():
        counts = per_key.get((site, lane, minute))
        if counts is None:
            counts = per_key[(site, lane, minute)] = [0, 0, 0, 0]
        counts[0] += n
        counts[_KIND.get(decision, 1)] += n
    style = DriverStyle.of(conn)
    values = [
        (site, lane, style.time(datetime.fromtimestamp(minute * 60, UTC)), c[0], c[1], c[2], c[3])
        for (site, lane, minute), c in sorted(per_key.items())
    ]
    on_driver(conn, _UPSERT_SQL[style.placeholder], values, many=True)


def minutes(conn: Connection, since: datetime, until: datetime, site: str | None = None) -> list[Any]:
    """Minute rows in [since, until), by site, lane and minute."""
    query = select(flow_minutes).where(flow_minutes.c.minute >= since, flow_minutes.c.minute < until)
    if site is not None:
        query = query.where(flow_minutes.c.site == site)
    return list(conn.execute(query.order_by(flow_minutes.c.site, flow_minutes.c.minute)).all())


def sites_of_person(conn: Connection, person_id: int, since: datetime) -> list[str]:
    """The sites where the person was checked since ``since`` (their own checks: counts, no place
    beyond the checkpoint they chose), most used first."""
    n = func.count().label("n")
    rows = conn.execute(
        select(checks.c.site, n)
        .where(checks.c.person_id == person_id, checks.c.at >= since)
        .group_by(checks.c.site)
        .order_by(n.desc(), checks.c.site)
        .limit(5)
    ).all()
    return [r.site for r in rows]


def sites_seen(conn: Connection) -> list[str]:
    return list(conn.execute(select(flow_minutes.c.site).distinct().order_by(flow_minutes.c.site)).scalars())


def last_minute(conn: Connection, site: str, before: datetime) -> datetime | None:
    value: datetime | None = conn.execute(
        select(func.max(flow_minutes.c.minute)).where(
            flow_minutes.c.site == site, flow_minutes.c.minute < before
        )
    ).scalar()
    return value


def hour_totals(conn: Connection, site: str, starts: Sequence[datetime]) -> tuple[int, int]:
    """(checks, refusals) over the hours beginning at ``starts``."""
    if not starts:
        return 0, 0
    clauses = [
        and_(flow_minutes.c.minute >= s, flow_minutes.c.minute < s + timedelta(hours=1)) for s in starts
    ]
    row = conn.execute(
        select(
            func.coalesce(func.sum(flow_minutes.c.arrivals), 0),
            func.coalesce(func.sum(flow_minutes.c.refused), 0),
        ).where(flow_minutes.c.site == site, or_(*clauses))
    ).one()
    return int(row[0]), int(row[1])


# --- alerts ---------------------------------------------------------------------------------------


def live_alerts(conn: Connection) -> list[Any]:
    return list(
        conn.execute(
            select(alerts).where(alerts.c.state != "resolved").order_by(alerts.c.opened_at, alerts.c.id)
        ).all()
    )


def recent_alerts(conn: Connection, limit: int = 100) -> list[Any]:
    return list(conn.execute(select(alerts).order_by(alerts.c.id.desc()).limit(limit)).all())


def alert(conn: Connection, alert_id: int) -> Any:
    return conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()


def history(conn: Connection, alert_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(alert_events).where(alert_events.c.alert_id == alert_id).order_by(alert_events.c.id)
        ).all()
    )


def open_alert(conn: Connection, row: dict[str, Any]) -> int | None:
    """Open an alert unless one is live for the same rule and site (another server may have
    opened it meanwhile: the unique ``open_key`` decides). Its id, or None if one was live."""
    stmt = _insert(conn, alerts).values(**row).on_conflict_do_nothing().returning(alerts.c.id)
    found = conn.execute(stmt).first()
    return None if found is None else int(found[0])


def set_state(conn: Connection, alert_id: int, values: dict[str, Any], *, unless: str) -> bool:
    """Change a live alert; False if it is already in state ``unless`` or resolved."""
    done = conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.state != unless, alerts.c.state != "resolved")
        .values(**values)
    )
    return bool(done.rowcount)


def add_event(conn: Connection, alert_id: int, at: datetime, event: str, actor: str, detail: str) -> None:
    conn.execute(
        insert(alert_events).values(alert_id=alert_id, at=at, event=event, actor=actor, detail=detail)
    )
