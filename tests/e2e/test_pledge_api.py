"""The pledge at service-area test points (seed 003) through the one check pipeline: the officer
records the pledge, the swipe records it, a positive result turns the code red at once and puts
the case in the reviewer's queue."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from commutepass.app import create_app
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from commutepass.loads.service import load_file
from commutepass.store.tables import audit_log, checks
from tests.e2e.auth import FAST_HASHING, StaffClient, make_users
from tests.e2e.support import resident_id, write_csv

pytestmark = pytest.mark.e2e

DRIVER = resident_id("131024", date(1988, 4, 2), 7)  # 香河
CITIZEN = resident_id("131082", date(1985, 6, 1), 32)
SITE = "京哈高速临京服务区检测点"


def test_pledge_recorded_then_a_positive_result_turns_red_and_reaches_the_reviewer(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path, secret="x", now=datetime.fromisoformat("2021-11-22T09:00+08:00"), **FAST_HASHING
    )
    make_users(settings, CITIZEN)
    body = {
        "id_number": DRIVER,
        "at": "2021-11-22T07:00",
        "site": "西集检查站",
        "mode": "road",
        "pledge": {"site": SITE, "sampled_at": "2021-11-22T06:10"},
    }
    with StaffClient(create_app(settings), raise_server_exceptions=False) as client:
        client.sign_in_all()
        answer = client.post("/v1/checks", json=body)
        assert answer.status_code == 200, answer.text
        seen = answer.json()
        assert seen["decision"] == "allow_pledge"
        assert [r["code"] for r in seen["to_check_by_hand"]] == ["CHECK_SAMPLING_SLIP", "CHECK_PLEDGE_FORM"]
        assert "承诺书" in seen["explanation"]["zh"]
        unlisted = client.post(
            "/v1/checks", json={**body, "pledge": {"site": "别处", "sampled_at": "2021-11-22T06:10"}}
        )
        assert unlisted.json()["decision"] == "refuse"
        bad = client.post("/v1/checks", json={**body, "pledge": {"site": "", "sampled_at": "x"}})
        assert bad.status_code == 422

        reviewer = client.tokens[Role.REVIEWER]
        assert client.get("/v1/pledges/positive", headers=reviewer).json() == []
        # the result arrives: positive
        nat = write_csv(
            tmp_path / "nat.csv",
            ("id_number", "sampled_at", "reported_at", "result", "lab"),
            [[DRIVER, "2021-11-22T06:10", "2021-11-22T08:40", "positive", "廊坊市人民医院"]],
        )
        application = App.open(settings)
        try:
            load_file(application, "nat", nat)
        finally:
            application.close()
        status = client.post("/v1/status", json={"id_number": DRIVER, "at": "2021-11-22T09:00"}).json()
        assert status["color"] == "red"
        (case,) = client.get("/v1/pledges/positive", headers=reviewer).json()
        assert case["site"] == "西集检查站" and case["entered_at"] == "2021-11-22T07:00:00+08:00"
        assert case["sampled_at"] == "2021-11-22T06:10:00+08:00" and case["lab"] == "廊坊市人民医院"
        assert DRIVER not in str(case) and case["person"].startswith("131")
        assert client.get("/v1/pledges/positive", headers=client.tokens[Role.OFFICER]).status_code == 403

    application = App.open(settings)
    try:
        with application.engine.connect() as conn:
            rows = conn.execute(select(checks.c.decision, checks.c.reasons, checks.c.entered)).all()
            actions = list(conn.execute(select(audit_log.c.action)).scalars())
    finally:
        application.close()
    recorded = [r for r in rows if r.decision == "allow_pledge"]
    assert len(recorded) == 1 and recorded[0].entered
    assert "PLEDGE_ACCEPTED" in str(recorded[0].reasons)
    assert "pledge.cases.read" in actions
