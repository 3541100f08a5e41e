"""The check pipeline's service functions on an in-memory SQLite store: a swipe is stored once,
audited once, a checkpoint's swipe id counts once, and the officer's view names no place."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from commutepass.checks import service
from commutepass.domain.decisions import CheckOutcome, Mode, Reason, Status
from commutepass.domain.policy import Color, Decision
from commutepass.domain.roles import Role
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from commutepass.store.tables import audit_log, checks, people
from tests.helpers import at, make_id

OFFICER = audit.Actor("gate-1", "officer")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://", secret="unit")  # type: ignore[call-arg]
    application = App.open(settings)
    try:
        yield application
    finally:
        application.close()


def _count(app: App, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    with app.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def _request(number: str) -> service.CheckRequest:
    return service.CheckRequest(number, at("2021-11-29T07:30"), " 白庙检查站 ", Mode.ROAD)


def test_a_recorded_check_is_stored_once_and_audited_once(app: App) -> None:
    decided = service.decide(app, _request(make_id("120114")))
    assert decided.person_id is None and decided.person is not None  # never seen: created on record
    with app.transaction() as conn:
        assert service.record(conn, app, OFFICER, [decided.swipe()]) == [True]
    assert (_count(app, checks), _count(app, people)) == (1, 1)
    assert _count(app, audit_log, audit_log.c.action == "check", audit_log.c.actor == "gate-1") == 1
    with app.engine.connect() as conn:
        site = conn.execute(sa.select(checks.c.site)).scalar_one()
    assert site == "白庙检查站"  # the one site check trims what the officer typed


def test_a_checkpoint_swipe_id_counts_once(app: App) -> None:
    swipe = replace(
        service.decide(app, _request(make_id("120114"))).swipe(checkpoint="白庙"), swipe_id=str(uuid.uuid4())
    )
    with app.transaction() as conn:
        first = service.record(conn, app, OFFICER, [swipe])
    with app.transaction() as conn:
        again = service.record(conn, app, OFFICER, [swipe])
    assert (first, again) == ([True], [False])
    assert _count(app, checks) == 1
    assert _count(app, audit_log, audit_log.c.action == "check") == 1


def test_an_empty_site_is_refused_before_anything_is_read(app: App) -> None:
    with pytest.raises(service.InputError) as refused:
        service.decide(app, replace(_request(make_id("120114")), site="  "))
    assert refused.value.field == "site"
    assert _count(app, checks) == 0


def test_no_policy_in_force_is_one_error_naming_the_time(app: App) -> None:
    with pytest.raises(service.InputError) as refused:
        service.decide(app, replace(_request(make_id("120114")), at=at("2019-01-01T08:00")))
    assert (
        refused.value.field == "at"
        and "2019-01-01" in refused.value.en
        and "没有生效的政策" in refused.value.zh
    )


def test_the_officer_view_names_no_place_and_no_trip_date(app: App) -> None:
    trip = Reason.of(
        "TRAVEL_CASE_COUNTY",
        place="河北省承德市承德县（130821）",
        first_day=date(2021, 11, 27),
        last_day=date(2021, 11, 27),
        risk_place="河北省承德市承德县（130821）",
        until=date(2021, 12, 11),
    )
    status = Status("2021-11-17", Color.RED, None, False, None, None, (trip,))
    outcome = CheckOutcome(Decision.REFUSE, status, (Reason.of("REFUSE_RISK_TRAVEL", days=14),))
    policy = app.policies.in_force(at("2021-11-29T07:30"))
    when = at("2021-11-29T07:30")
    full = service.view("120***********1234", when, "白庙检查站", Mode.ROAD, outcome, policy, role=None)
    officer = service.view(
        "120***********1234", when, "白庙检查站", Mode.ROAD, outcome, policy, role=Role.OFFICER
    )
    assert "130821" in orjson.dumps(full).decode()  # the operator's view says where (so the test can fail)
    shown = orjson.dumps(officer).decode()
    assert "130821" not in shown and "承德" not in shown and "2021-11-27" not in shown
    assert officer["decision"] == "refuse" and officer["color"] == "red"
    assert [r["code"] for r in officer["status_reasons"]] == []
