"""Telling the citizen (issue 13, item 3), on SQLite and PostgreSQL: the badge lapses at T (the
NAT turning 14 days old) 48 h and 24 h ahead; the badge lapsed and why; the database entry added
and ended with the evidence and the date; an application decided; reminders turned off; each
message told once, in the inbox and on the outbox in the same transaction."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from commutepass.accounts import service as auth
from commutepass.applications import service as applications
from commutepass.commuters.service import add_commuter
from commutepass.domain.facts import Source
from commutepass.domain.roles import Role
from commutepass.domain.workflows import AppState
from commutepass.kit.context import App
from commutepass.loads.service import load_file
from commutepass.notifications import service as inbox
from commutepass.store.tables import outbox
from tests.helpers import at, make_id, write_csv

COMMUTER = make_id("131082", date(1986, 8, 8), 701)
QUIET = make_id("131082", date(1987, 7, 7), 702)  # turns reminders off
NEWCOMER = make_id("120114", date(1990, 2, 2), 703)


def _setup(app: App, tmp_path: Path) -> dict[str, auth.User]:
    for number in (COMMUTER, QUIET):
        add_commuter(app, number, since=date(2021, 11, 1), source=Source.APPLICATION, home_county="131082")
    # reported 11-20: counts for a commuter through 12-03, lapses at 12-04 00:00 Beijing time
    nat = write_csv(
        tmp_path / "nat.csv",
        ["id_number", "sampled_at", "reported_at", "result", "lab"],
        [(n, "2021-11-19T18:00", "2021-11-20T09:00", "negative", "lab-a") for n in (COMMUTER, QUIET)],
    )
    assert load_file(app, "nat", nat).added == 2
    # both commute daily: entries on every day up to 12-05 (the badge does not lapse by rhythm)
    days = [date(2021, 11, d) for d in range(20, 31)] + [date(2021, 12, d) for d in range(1, 6)]
    trips = write_csv(
        tmp_path / "travel.csv",
        ["id_number", "event_time", "direction", "mode", "site", "county"],
        [
            (n, f"{d.isoformat()}T07:30", "enter", "road", "燕郊检查站", "131082")
            for n in (COMMUTER, QUIET)
            for d in days
        ],
    )
    assert load_file(app, "travel", trips).rejected == 0
    users = {}
    for name, number in (("commuter", COMMUTER), ("quiet", QUIET), ("newcomer", NEWCOMER)):
        auth.add_user(app, name, "long enough passphrase", Role.CITIZEN, id_number=number)
        users[name] = auth.sign_in(app, name, "long enough passphrase").user
    auth.add_user(app, "reviewer", "long enough passphrase", Role.REVIEWER)
    auth.add_user(app, "officer", "long enough passphrase", Role.OFFICER)
    users["reviewer"] = auth.sign_in(app, "reviewer", "long enough passphrase").user
    users["officer"] = auth.sign_in(app, "officer", "long enough passphrase").user
    return users


def _kinds(app: App, user: auth.User) -> list[str]:
    return [m["kind"] for m in inbox.inbox(app, user)["messages"]]


def test_lapse_reminders_48_and_24_hours_ahead_then_the_lapse_and_why(app: App, tmp_path: Path) -> None:
    users = _setup(app, tmp_path)
    assert inbox.set_reminders(app, users["quiet"], False) == {"reminders": False}

    # the entries were told already when the test results were loaded (each event is told once)
    assert _kinds(app, users["commuter"]) == ["entry_added"]
    made = inbox.refresh(app, now=at("2021-12-02T01:00"))  # 47 h before the lapse
    assert made == {"badge_lapses_48h": 1}
    assert inbox.refresh(app, now=at("2021-12-02T02:00")) == {}  # told once
    mine = inbox.inbox(app, users["commuter"])
    assert mine["reminders"] is True and mine["unread"] == 2, mine
    reminder = next(m for m in mine["messages"] if m["kind"] == "badge_lapses_48h")
    assert reminder["at"].startswith("2021-12-04T00:00") and reminder["codes"] == ["INBOX_BADGE_LAPSES"]
    assert "2021-12-04 00:00" in reminder["zh"] and "14" in reminder["zh"] and "核酸" in reminder["zh"]
    assert "lapses" in reminder["en"] and reminder["self"] is True
    added = next(m for m in mine["messages"] if m["kind"] == "entry_added")
    assert "2021-11-01" in added["zh"] and "application" in added["en"]
    # the quiet one turned reminders off: told of the entry, not reminded
    assert _kinds(app, users["quiet"]) == ["entry_added"]

    assert inbox.refresh(app, now=at("2021-12-03T02:00")) == {"badge_lapses_24h": 1}
    assert _kinds(app, users["commuter"])[0] == "badge_lapses_24h"

    lapsed = inbox.refresh(app, now=at("2021-12-04T08:00"))
    assert lapsed == {"badge_lapsed": 2}  # told even with reminders off: it is not a reminder
    told = inbox.inbox(app, users["commuter"])["messages"][0]
    assert told["kind"] == "badge_lapsed" and told["codes"][:2] == ["INBOX_BADGE_LAPSED", "BADGE_NAT_EXPIRED"]
    assert told["at"].startswith("2021-12-04T00:00") and "不再有效" in told["zh"] and "remedy" not in told
    assert inbox.refresh(app, now=at("2021-12-05T08:00")) == {}  # the same lapse is not told again

    # every message is on the outbox too, once, with the masked ID only
    with app.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.message_id, outbox.c.payload)).all()
    assert len(rows) == 2 + 1 + 1 + 2 and len({r.message_id for r in rows}) == len(rows)
    payloads = [json.loads(r.payload) for r in rows]
    assert COMMUTER not in json.dumps(payloads, ensure_ascii=False)
    assert {p["kind"] for p in payloads} == {
        "entry_added",
        "badge_lapses_48h",
        "badge_lapses_24h",
        "badge_lapsed",
    }


def test_a_decided_application_and_the_new_entry_are_told(app: App, tmp_path: Path) -> None:
    users = _setup(app, tmp_path)
    filed = applications.submit(
        app,
        users["officer"],
        NEWCOMER,
        statement="住武清，在朝阳上班",
        home_county="120114",
        work_county="110105",
    )
    for kind in ("id_card", "work_proof", "residence_proof", "nat_proof"):
        applications.add_document(app, users["officer"], filed["id"], kind, b"%PDF-1.4 " + kind.encode())
    assert _kinds(app, users["newcomer"]) == []
    applications.decide(app, users["reviewer"], filed["id"], AppState.APPROVED, "材料齐全")
    messages = inbox.inbox(app, users["newcomer"])["messages"]
    assert sorted(m["kind"] for m in messages) == ["application_decided", "entry_added"]
    decided = next(m for m in messages if m["kind"] == "application_decided")
    assert decided["codes"] == ["INBOX_APPLICATION_APPROVED"] and "材料齐全" in decided["zh"]
    assert f"{filed['id']}" in decided["en"] and "approved" in decided["en"]
    # the others' inboxes hold nothing of it
    assert "application_decided" not in _kinds(app, users["commuter"])
    assert inbox.mark_read(app, users["newcomer"]) == {"read": 2}
    assert inbox.inbox(app, users["newcomer"])["unread"] == 0


def test_an_ended_entry_is_told_with_the_reason_and_the_date(app: App, tmp_path: Path) -> None:
    """Identification ends an entry when the rhythm lapses: the person is told when and why."""
    from commutepass.store import repositories
    from commutepass.store.tables import commuter_entries

    users = _setup(app, tmp_path)
    inbox.refresh(app, now=at("2021-11-25T08:00"))
    with app.transaction() as conn:
        entry_id = conn.execute(select(commuter_entries.c.id).order_by(commuter_entries.c.id.desc())).scalar()
        repositories.end_entry(
            conn, int(entry_id), at("2021-11-28T00:00"), "pattern lapsed as of 2021-11-27: entered on 2 days"
        )
    made = inbox.refresh(app, now=at("2021-11-26T08:00"))
    assert made == {"entry_ended": 1}
    told = inbox.inbox(app, users["quiet"])["messages"][0]
    assert told["kind"] == "entry_ended" and told["codes"] == ["INBOX_ENTRY_ENDED"]
    assert "2021-11-28 00:00" in told["zh"] and "近期出行已不符合通勤规则" in told["zh"]
    assert "entered on 2 days" in told["en"] and told["zh"].count("拨打") == 1


def test_the_scheduled_job_makes_the_messages_and_sends_each_once(app: App, tmp_path: Path) -> None:
    """The ``notifications`` job (every 5 minutes in ``serve``/``worker``): the messages due now are
    made and, with a receiver configured, sent from the outbox shared with the alerts, each once."""
    from commutepass.jobs import service as jobs
    from tests.webhook import webhook_receiver

    _setup(app, tmp_path)
    app.settings.now = at("2021-12-02T01:00")  # 47 h before the badge lapses
    with webhook_receiver() as receiver:
        app.settings.notify_webhook_url = receiver.url
        receiver.fail_next = 1  # the gateway is down for the first message: it waits for its retry
        first = json.loads(jobs.notifications_job(app, app.now()))
        assert first["made"] == {"badge_lapses_48h": 2}
        assert (first["sent"], first["failed"]) == (3, 1), first  # two entries and two reminders
        with app.engine.begin() as conn:  # the first retry's back-off has passed
            conn.execute(outbox.update().values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
        again = json.loads(jobs.notifications_job(app, app.now()))
        assert again["made"] == {} and (again["sent"], again["failed"]) == (1, 0), again  # told once
        kinds = sorted(p["kind"] for p in receiver.accepted)
        assert kinds == ["badge_lapses_48h"] * 2 + ["entry_added"] * 2, (first, again, kinds)
        assert len(set(receiver.keys)) == 4  # each with its own idempotency key
        assert COMMUTER not in json.dumps(receiver.accepted, ensure_ascii=False)
        with app.engine.connect() as conn:
            assert all(row.sent_at is not None for row in conn.execute(select(outbox)).all())


def test_a_positive_result_takes_the_badge_and_is_told_once(app: App, tmp_path: Path) -> None:
    """A member whose result comes back positive loses the badge at once (their negative still
    had days to run): the next refresh tells them the badge went and why, dated the report, once."""
    users = _setup(app, tmp_path)
    positive = write_csv(
        tmp_path / "positive.csv",
        ["id_number", "sampled_at", "reported_at", "result", "lab"],
        [(COMMUTER, "2021-11-24T18:00", "2021-11-25T09:00", "positive", "lab-b")],
    )
    assert load_file(app, "nat", positive).added == 1
    assert inbox.refresh(app, now=at("2021-11-25T09:05")) == {"badge_lapsed": 1}
    assert inbox.refresh(app, now=at("2021-11-25T09:10")) == {}  # told once
    told = inbox.inbox(app, users["commuter"])["messages"][0]
    assert told["kind"] == "badge_lapsed" and told["codes"][:1] == ["INBOX_BADGE_LAPSED"]
    assert "NAT_POSITIVE" in told["codes"]
    assert told["at"].startswith("2021-11-25T09:00")
    assert _kinds(app, users["quiet"]) == ["entry_added"]  # the other member's badge stands


def test_the_scans_take_a_citys_members_in_chunks(app: App) -> None:
    """The badge scan asks about every member; a city's members are more than one statement may
    carry (PostgreSQL: 65,535 parameters; SQLite: as built), so each read goes in chunks."""
    from commutepass.notifications import repository as repo

    ids = range(1, 70_001)
    now = datetime(2021, 11, 25, tzinfo=UTC)
    with app.engine.connect() as conn:
        assert repo.latest_negative_reports(conn, ids, now) == {}
        assert repo.last_entries(conn, ids, now) == {}
        assert repo.travelled_to_risk_counties(conn, date(2021, 11, 11), date(2021, 11, 25), ids) == set()
        assert repo.positive_reports(conn, ids, now - timedelta(days=2), now) == set()
