"""On SQLite and PostgreSQL: the audit chain catches edited, inserted and deleted rows, appends
from many threads never fork it; retention deletes exactly the rows past the period and keeps
their counts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from commutepass.checks import repository as checks_repo
from commutepass.domain.clock import BEIJING
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.oversight import retention
from commutepass.store import repositories as repo
from commutepass.store.tables import audit_log, checks, daily_counts, itinerary, travel
from tests.helpers import at

ACTOR = audit.Actor("hotline-1", "hotline")


def _fill(app: App, n: int) -> None:
    with app.transaction() as conn:
        for i in range(n):
            audit.record(conn, app, ACTOR, "status.lookup", i + 1, f"caller {i}", at=str(i))


def _problems(app: App) -> list[tuple[int, str]]:
    return [(f.seq, f.problem) for f in audit.verify(app).findings]


def test_a_clean_log_verifies_and_each_tampering_is_caught(app: App) -> None:
    _fill(app, 6)
    result = audit.verify(app)
    assert (result.ok, result.entries) == (True, 6)
    with app.transaction() as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == 2).values(reason="nothing to see"))
    assert _problems(app) == [(2, "edited")]
    with app.transaction() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq == 4))
    assert _problems(app) == [(2, "edited"), (4, "deleted"), (5, "broken_link")]


def test_an_inserted_row_is_caught(app: App) -> None:
    _fill(app, 3)
    with app.engine.connect() as conn:
        last = conn.execute(select(audit_log).where(audit_log.c.seq == 3)).one()._asdict()
    with app.transaction() as conn:
        conn.execute(
            insert(audit_log).values({**last, "seq": 4, "prev_hash": last["hash"], "reason": "forged"})
        )
    found = _problems(app)
    assert (4, "edited") in found and (4, "tail_cut") in found


def test_deleting_the_newest_rows_is_caught(app: App) -> None:
    _fill(app, 4)
    with app.transaction() as conn:
        conn.execute(delete(audit_log).where(audit_log.c.seq >= 3))
    assert _problems(app) == [(2, "tail_cut")]


def test_concurrent_appends_keep_one_chain(app: App) -> None:
    def append(i: int) -> None:
        with app.transaction() as conn:
            audit.record(conn, app, ACTOR, "status.lookup", i, "parallel")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(append, range(40)))
    result = audit.verify(app)
    assert (result.ok, result.entries) == (True, 40)


def test_retention_deletes_old_rows_and_keeps_their_counts(app: App) -> None:
    now = at("2021-12-31T10:00")
    limit = retention.cutoff(app, now)
    assert limit == datetime(2021, 12, 1, tzinfo=BEIJING)  # 30 days in both shipped policies
    with app.transaction() as conn:
        ids = repo.ensure_people(conn, [("k1", date(1990, 1, 1), "131***********0001", "c")])
        person = ids["k1"]
        times = [
            limit - timedelta(days=3),
            limit - timedelta(microseconds=1),
            limit,
            limit + timedelta(days=2),
        ]
        conn.execute(
            insert(travel),
            [
                {
                    "person_id": person,
                    "event_time": t,
                    "direction": "enter",
                    "mode": "road",
                    "site": "白庙",
                    "county": "131082",
                }
                for t in times
            ],
        )
        days = [date(2021, 11, 29), date(2021, 11, 30), date(2021, 12, 1), date(2021, 12, 5)]
        conn.execute(insert(itinerary), [{"person_id": person, "day": d, "county": "131082"} for d in days])
        checks_repo.record_checks(
            conn,
            [
                {
                    "person_id": person,
                    "at": t,
                    "site": "白庙",
                    "mode": "road",
                    "smartphone": True,
                    "decision": "allow",
                    "entered": True,
                    "policy_version": "2021-11-17",
                    "reasons": ["COMMUTER_NAT_VALID"],
                }
                for t in times
            ],
        )
    summary = retention.run(app, now=now)
    assert summary["deleted"] == {"travel": 2, "itinerary": 2, "checks": 2}
    with app.engine.connect() as conn:
        kept_travel = sorted(conn.execute(select(travel.c.event_time)).scalars())
        kept_days = sorted(conn.execute(select(itinerary.c.day)).scalars())
        kept_checks = sorted(conn.execute(select(checks.c.at)).scalars())
        counts = {
            (k, d.isoformat()): n
            for k, d, n in conn.execute(select(daily_counts.c.kind, daily_counts.c.day, daily_counts.c.count))
        }
    assert kept_travel == times[2:] and kept_checks == times[2:]
    assert kept_days == days[2:]
    assert counts == {
        ("travel", "2021-11-28"): 1,
        ("travel", "2021-11-30"): 1,
        ("itinerary", "2021-11-29"): 1,
        ("itinerary", "2021-11-30"): 1,
        ("checks", "2021-11-28"): 1,
        ("checks", "2021-11-30"): 1,
    }
    again = retention.run(app, now=now)
    assert again["deleted"] == {"travel": 0, "itinerary": 0, "checks": 0}
    with app.engine.connect() as conn:
        assert conn.execute(select(func.sum(daily_counts.c.count))).scalar_one() == 6, "a rerun adds nothing"
    assert audit.verify(app).ok
