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
NOTHING_DELETED = dict.fromkeys(
    (
        "travel",
        "itinerary",
        "checks",
        "nat",
        "documents",
        "applications",
        "sessions",
        "notifications",
        "outbox",
        "document_files",
        "lake_files",
    ),
    0,
)


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
    assert summary["deleted"] == {**NOTHING_DELETED, "travel": 2, "itinerary": 2, "checks": 2}
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
    assert again["deleted"] == NOTHING_DELETED
    with app.engine.connect() as conn:
        assert conn.execute(select(func.sum(daily_counts.c.count))).scalar_one() == 6, "a rerun adds nothing"
    assert audit.verify(app).ok


def test_retention_removes_every_kind_past_its_period_and_nothing_newer(app: App) -> None:
    """Test results, decided applications with their history, documents (rows and files), ended
    sessions, the citizen's messages and delivered outbox rows, and the lake's files: each older
    one goes, each newer one stays (an undelivered outbox row stays however old)."""
    from commutepass.applications import documents as files
    from commutepass.store.tables import (
        application_events,
        applications,
        auth_sessions,
        documents,
        nat_results,
        notifications,
        outbox,
        users,
    )

    now = at("2021-12-31T10:00")
    policy = app.policies.in_force(now)
    limit = {kind: retention.cutoff(app, now, kind) for kind in retention.KINDS}
    assert limit["nat"] == datetime(2021, 12, 1, tzinfo=BEIJING)  # 30 days
    assert limit["documents"] == datetime(2021, 10, 2, tzinfo=BEIJING)  # 90 days
    assert limit["applications"] == datetime(2020, 12, 31, tzinfo=BEIJING)  # 365 days
    assert limit["notifications"] == datetime(2021, 10, 2, tzinfo=BEIJING)  # 90 days
    assert policy.kept_days("audit") == 1825
    just = timedelta(microseconds=1)
    with app.transaction() as conn:
        person = repo.ensure_people(conn, [("k1", date(1990, 1, 1), "131***********0001", "c")])["k1"]
        user = conn.execute(
            insert(users)
            .values(
                username="u",
                password_hash="x",
                role="citizen",
                disabled=False,
                person_id=person,
                created_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
        # test results: reported just before / at the cut-off
        conn.execute(
            insert(nat_results),
            [
                {
                    "person_id": person,
                    "sampled_at": t - timedelta(hours=8),
                    "reported_at": t,
                    "positive": False,
                    "lab": f"l{i}",
                }
                for i, t in enumerate([limit["nat"] - just, limit["nat"]])
            ],
        )
        # applications: decided long ago (goes with its history and documents), decided within the
        # documents period (kept), decided between (documents go, the application stays), still open
        decided = {
            "old": limit["applications"] - just,
            "mid": limit["documents"] - just,
            "new": limit["documents"],
            "open": None,
        }
        ids = {}
        for name, when in decided.items():
            ids[name] = conn.execute(
                insert(applications)
                .values(
                    person_id=person,
                    channel="online",
                    status="rejected" if when else "submitted",
                    reason="r",
                    commuter_class="daily",
                    submitted_by=user,
                    submitted_at=(when or now) - timedelta(days=1),
                    waiting_since=(when or now) - timedelta(days=1),
                    decided_at=when,
                )
                .returning(applications.c.id)
            ).scalar_one()
            conn.execute(
                insert(application_events).values(
                    application_id=ids[name], to_status="submitted", reason="r", actor_id=user, at=now
                )
            )
            sha = f"{ids[name]:064d}"
            conn.execute(
                insert(documents).values(
                    application_id=ids[name],
                    kind="id_card",
                    sha256=sha,
                    media_type="image/png",
                    size=1,
                    uploaded_by=user,
                    uploaded_at=now,
                )
            )
            target = files.path_of(app.settings.data_dir, sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x")
        # sessions: expired before the cut-off, signed out before it, still running
        conn.execute(
            insert(auth_sessions),
            [
                {
                    "jti": "expired",
                    "user_id": user,
                    "issued_at": limit["sessions"] - timedelta(days=1),
                    "expires_at": limit["sessions"] - just,
                    "revoked_at": None,
                },
                {
                    "jti": "signed-out",
                    "user_id": user,
                    "issued_at": limit["sessions"] - timedelta(days=1),
                    "expires_at": now + timedelta(days=1),
                    "revoked_at": limit["sessions"] - just,
                },
                {
                    "jti": "live",
                    "user_id": user,
                    "issued_at": now,
                    "expires_at": now + timedelta(hours=8),
                    "revoked_at": None,
                },
                {
                    "jti": "ended-recently",
                    "user_id": user,
                    "issued_at": now - timedelta(days=2),
                    "expires_at": limit["sessions"],
                    "revoked_at": None,
                },
            ],
        )
        # messages: made just before / at the cut-off; outbox rows delivered before / at it, and
        # one never delivered (kept: nothing is lost to retention)
        cut = limit["notifications"]
        conn.execute(
            insert(notifications),
            [
                {
                    "person_id": person,
                    "key": f"k{i}",
                    "kind": "entry_added",
                    "at": t,
                    "created_at": t,
                    "body": "{}",
                }
                for i, t in enumerate([cut - just, cut])
            ],
        )
        conn.execute(
            insert(outbox),
            [
                {
                    "channel": "webhook",
                    "message_id": name,
                    "payload": "{}",
                    "created_at": cut - timedelta(days=9),
                    "attempts": 0,
                    "next_attempt_at": cut - timedelta(days=9),
                    "sent_at": sent,
                }
                for name, sent in (("sent-old", cut - just), ("sent-new", cut), ("never-sent", None))
            ],
        )
    # the lake: one day before the cut-off, the cut-off day
    lake = app.settings.resolved_lake_dir()
    old_day, new_day = (limit["lake"] - just).date(), limit["lake"].date()
    for day in (old_day, new_day):
        (lake / "travel" / day.isoformat()).mkdir(parents=True, exist_ok=True)
        (lake / "travel" / day.isoformat() / "load-1-0.parquet").write_bytes(b"x")
        (lake / "activity" / "ring-x" / "state-w28").mkdir(parents=True, exist_ok=True)
        (lake / "activity" / "ring-x" / f"{day.isoformat()}.parquet").write_bytes(b"x")
        (lake / "activity" / "ring-x" / f"{day.isoformat()}.sources").write_text("[]")
        (lake / "activity" / "ring-x" / "state-w28" / f"{day.isoformat()}.parquet").write_bytes(b"x")

    summary = retention.run(app, now=now)
    assert summary["deleted"] == {
        **NOTHING_DELETED,
        "nat": 1,
        "documents": 2,
        "applications": 1,
        "sessions": 2,
        "notifications": 1,
        "outbox": 1,
        "document_files": 2,
        "lake_files": 4,
    }
    with app.engine.connect() as conn:
        assert sorted(conn.execute(select(nat_results.c.lab)).scalars()) == ["l1"]
        kept_apps = set(conn.execute(select(applications.c.id)).scalars())
        assert kept_apps == {ids["mid"], ids["new"], ids["open"]}
        assert set(conn.execute(select(application_events.c.application_id)).scalars()) == kept_apps
        assert set(conn.execute(select(documents.c.application_id)).scalars()) == {ids["new"], ids["open"]}
        assert sorted(conn.execute(select(auth_sessions.c.jti)).scalars()) == ["ended-recently", "live"]
        assert list(conn.execute(select(notifications.c.key)).scalars()) == ["k1"]
        assert sorted(conn.execute(select(outbox.c.message_id)).scalars()) == ["never-sent", "sent-new"]
        counts = {
            (k, d.isoformat(), b): n
            for k, d, b, n in conn.execute(
                select(daily_counts.c.kind, daily_counts.c.day, daily_counts.c.bucket, daily_counts.c.count)
            )
        }
    assert counts == {
        ("nat", "2021-11-30", "negative"): 1,
        ("applications", "2020-12-30", "online|rejected"): 1,
    }
    for name in ("old", "mid"):
        assert not files.path_of(app.settings.data_dir, f"{ids[name]:064d}").exists()
    for name in ("new", "open"):
        assert files.path_of(app.settings.data_dir, f"{ids[name]:064d}").exists()
    remaining = sorted(str(p.relative_to(lake)) for p in lake.rglob("*") if p.is_file())
    assert remaining == sorted(
        [
            f"activity/ring-x/{new_day}.parquet",
            f"activity/ring-x/{new_day}.sources",
            f"activity/ring-x/state-w28/{new_day}.parquet",
            f"travel/{new_day}/load-1-0.parquet",
        ]
    )
    assert retention.run(app, now=now)["deleted"] == NOTHING_DELETED
    assert audit.verify(app).ok
