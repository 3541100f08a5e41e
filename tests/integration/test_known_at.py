"""Facts with two times (issue 11), on both engines: every fact a decision reads is seen only by
questions whose ``known_at`` is at or after its recorded time; endings add rows; each check
keeps the horizon and policy version it decided with; migration 0007 carries old rows forward."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select

from commutepass.checks.service import CheckRequest, check, preview, status_of
from commutepass.commuters.service import add_commuter
from commutepass.domain.decisions import Mode
from commutepass.domain.facts import Source
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.policy import CommuterClass
from commutepass.kit.context import App
from commutepass.loads.service import COLUMNS, load_file
from commutepass.oversight.risk_areas import add_risk_area, end_risk_area, list_risk_areas
from commutepass.store.db import alembic_config, make_engine
from commutepass.store.facts import FactReader
from commutepass.store.tables import UtcDateTime, checks, overrides, risk_periods, users
from tests.helpers import at, make_id, write_csv

PERSON = make_id("131082", date(1986, 8, 8), 501)
T = at("2021-11-22T09:00")


def _horizon() -> datetime:
    """A recorded-time horizon strictly between what was recorded before and what comes after."""
    time.sleep(0.01)
    moment = datetime.now(UTC)
    time.sleep(0.01)
    return moment


def test_a_nat_result_recorded_after_a_check_is_not_seen_with_the_checks_horizon(
    app: App, tmp_path: Path
) -> None:
    add_commuter(app, PERSON, since=date(2021, 11, 1), source=Source.APPLICATION, home_county="131082")
    request = CheckRequest(id_number=PERSON, at=T, site="白庙检查站", mode=Mode.ROAD)
    first = check(app, request)
    with app.engine.connect() as conn:
        row = conn.execute(select(checks.c.known_at, checks.c.policy_version, checks.c.recorded_at)).one()
    assert row.policy_version == first["policy_version"] == "2021-11-17"
    assert row.known_at <= row.recorded_at
    time.sleep(0.01)
    nat = [(PERSON, "2021-11-21T08:00", "2021-11-21T18:00", "negative", "廊坊市人民医院")]
    load_file(app, "nat", write_csv(tmp_path / "nat.csv", COLUMNS["nat"], nat))

    then = status_of(app, PERSON, T, row.known_at)
    now = status_of(app, PERSON, T)
    assert then["nat_valid_until"] is None and now["nat_valid_until"] is not None
    # the same check rehearsed with the stored horizon decides as it did; as known now it differs
    rehearsed = preview(app, CheckRequest(PERSON, T, "白庙检查站", Mode.ROAD, known_at=row.known_at))
    assert rehearsed["decision"] == first["decision"]
    assert preview(app, request)["decision"] != first["decision"]


def test_an_entry_ended_later_is_still_open_as_known_before(app: App) -> None:
    add_commuter(app, PERSON, since=date(2021, 11, 1), source=Source.APPLICATION, home_county="131082")
    before = _horizon()
    add_commuter(
        app,
        PERSON,
        since=date(2021, 11, 20),
        source=Source.MANUAL,
        commuter_class=CommuterClass.WEEKLY,
        home_county="131082",
    )
    assert status_of(app, PERSON, T, before)["commuter_class"] == "daily"
    assert status_of(app, PERSON, T)["commuter_class"] == "weekly"
    assert status_of(app, PERSON, T, datetime(2020, 1, 1, tzinfo=UTC))["commuter_badge"] is False


def test_ending_a_risk_period_adds_a_version_and_keeps_the_one_known_before(app: App, tmp_path: Path) -> None:
    load_file(
        app,
        "itinerary",
        write_csv(tmp_path / "it.csv", COLUMNS["itinerary"], [(PERSON, "2021-11-20", "131082")]),
    )
    add_risk_area(app, "131082", "case", date(2021, 11, 19), None, actor="admin1")
    open_known = _horizon()
    [area] = list_risk_areas(app)
    end_risk_area(app, area.id, date(2021, 11, 19), actor="admin2")
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(risk_periods)).scalar_one() == 2
    [ended] = list_risk_areas(app)
    assert ended.end == date(2021, 11, 19)
    assert status_of(app, PERSON, T, open_known)["popup"] is not None
    assert status_of(app, PERSON, T)["popup"] is None
    assert app.risk_map(open_known).by_county["131082"][0].end is None


def test_the_fact_reader_sees_only_rows_recorded_by_known_at(app: App, tmp_path: Path) -> None:
    nothing_yet = _horizon()
    nat = [(PERSON, "2021-11-21T08:00", "2021-11-21T18:00", "negative", "廊坊市人民医院")]
    load_file(app, "nat", write_csv(tmp_path / "nat.csv", COLUMNS["nat"], nat))
    load_file(
        app,
        "itinerary",
        write_csv(tmp_path / "it.csv", COLUMNS["itinerary"], [(PERSON, "2021-11-20", "131082")]),
    )
    passages = [(PERSON, "2021-11-18T07:05", "enter", "road", "台湖检查站", "131082")]
    load_file(app, "travel", write_csv(tmp_path / "travel.csv", COLUMNS["travel"], passages))
    loaded = _horizon()
    policy = app.policies.in_force(T)
    resident = parse_resident_id(PERSON)
    with app.transaction() as conn:
        person_id = app.ensure_person(conn, resident)
        reviewer = conn.execute(
            users.insert()
            .values(username="r", password_hash="x", role="reviewer", disabled=False, created_at=T)
            .returning(users.c.id)
        ).scalar_one()
        conn.execute(
            overrides.insert().values(
                person_id=person_id,
                appeal_id=None,
                field="color",
                valid_from=T - timedelta(days=1),
                valid_to=T + timedelta(days=1),
                reason="corrected",
                created_by=reviewer,
                created_at=T,
            )
        )
    with app.engine.connect() as conn:
        reader = FactReader(conn)
        empty = reader.facts(person_id, resident.birth_date, T, policy, nothing_yet)
        middle = reader.facts(person_id, resident.birth_date, T, policy, loaded)
        everything = reader.facts(person_id, resident.birth_date, T, policy)
    assert (empty.nats, empty.visits, empty.last_entry_at, empty.overrides) == ((), (), None, ())
    assert len(middle.nats) == 1 and len(middle.visits) == 1 and middle.last_entry_at is not None
    assert middle.overrides == ()
    assert [o.reason for o in everything.overrides] == ["corrected"]
    # the one-statement read of a check sees exactly the same at each horizon
    key = app.vault.key(resident)
    with app.engine.connect() as conn:
        reader = FactReader(conn)
        for horizon, facts in ((nothing_yet, empty), (loaded, middle), (None, everything)):
            assert reader.person_facts(key, resident.birth_date, T, policy, horizon) == (person_id, facts)
        assert reader.person_facts("no such key", resident.birth_date, T, policy)[0] is None


def test_migration_0007_carries_rows_forward_with_their_load_time(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        command.upgrade(alembic_config(engine), "0005_checks_of_codes")
        loaded = datetime(2021, 11, 20, 10, 0, tzinfo=UTC)
        checked = datetime(2021, 11, 21, 1, 0, tzinfo=UTC)
        stamp = sa.bindparam("t", type_=UtcDateTime())
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO loads (id, kind, file_name, sha256, rows_total, rows_added, "
                    "rows_duplicate, rows_rejected, loaded_at) VALUES (1, 'risk', 'r.csv', 'x', 1, 1, 0, 0, :t)"
                ).bindparams(stamp),
                {"t": loaded},
            )
            conn.execute(
                sa.text(
                    'INSERT INTO risk_periods (county, level, start, "end", load_id) '
                    "VALUES ('131082', 'case', :d, NULL, 1)"
                ),
                {"d": date(2021, 11, 19)},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO checks (person_id, at, site, mode, smartphone, decision, entered, "
                    "policy_version, reasons, recorded_at) VALUES "
                    "(NULL, :t, 's', 'road', :f, 'refuse', :f, '2021-11-17', '[]', :t)"
                ).bindparams(stamp),
                {"t": checked, "f": False},
            )
        command.upgrade(alembic_config(engine), "heads")
        with engine.connect() as conn:
            risk = conn.execute(select(risk_periods.c.recorded_at, risk_periods.c.end)).one()
            stored = conn.execute(select(checks.c.known_at, checks.c.reasons)).one()
            # the unique key is gone: a second version of the same period can be recorded
        with engine.begin() as conn:
            conn.execute(
                risk_periods.insert().values(
                    county="131082", level="case", start=date(2021, 11, 19), end=date(2021, 11, 25)
                )
            )
        assert risk.recorded_at == loaded
        assert stored.known_at == checked and json.loads(stored.reasons) == []
    finally:
        engine.dispose()
