"""Decisions true to their time (issue 11): a risk period loaded after a refusal does not change
what the system knew at the refusal (``status --at T --known-at T``), does change the answer as
known now, and the reviewer's appeal page shows both side by side."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from commutepass.app import create_app
from commutepass.domain.clock import BEIJING
from commutepass.kit.settings import Settings
from commutepass.loads.service import COLUMNS
from tests.e2e.auth import FAST_HASHING, PASSWORD, make_users
from tests.e2e.support import SECRET, resident_id, run_cli, write_csv

pytestmark = pytest.mark.e2e


def test_a_risk_period_loaded_after_a_refusal_changes_now_but_not_then(tmp_path: Path) -> None:
    data = tmp_path / "data"
    today = datetime.now(BEIJING)
    person = resident_id("131082", date(1986, 8, 8), 311)
    settings = Settings(data_dir=data, secret=SECRET, **FAST_HASHING)
    make_users(settings, person)
    trip_day = (today - timedelta(days=2)).date().isoformat()
    itinerary = write_csv(tmp_path / "it.csv", COLUMNS["itinerary"], [(person, trip_day, "131082")])
    run_cli(data, "load", "itinerary", str(itinerary))

    time.sleep(0.05)
    t = datetime.now(BEIJING).isoformat(timespec="microseconds")
    refused = run_cli(data, "check", person, "--at", t, "--site", "白庙检查站", "--mode", "road").line
    assert refused["decision"] == "refuse"  # no NAT result at all
    assert refused["popup"] is None

    time.sleep(0.05)
    start = (today - timedelta(days=5)).date().isoformat()
    risk = write_csv(tmp_path / "risk.csv", COLUMNS["risk"], [("131082", "case", start, "")])
    run_cli(data, "load", "risk", str(risk))

    then = run_cli(data, "status", person, "--at", t, "--known-at", t).line
    now = run_cli(data, "status", person, "--at", t).line
    later = datetime.now(BEIJING).isoformat()
    known_now = run_cli(data, "status", person, "--at", t, "--known-at", later).line
    assert then["popup"] is None and then["known_at"] is not None
    assert now["popup"] is not None and now["known_at"] is None
    assert known_now["popup"] == now["popup"]
    assert [r["code"] for r in then["reasons"]] != [r["code"] for r in now["reasons"]]

    with TestClient(create_app(settings)) as client:
        signed = client.post("/v1/auth/token", data={"username": "test-citizen", "password": PASSWORD})
        token = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        filed = client.post(
            "/v1/appeals",
            json={"id_number": person, "kind": "popup", "statement": "我被拒绝时并无风险地区", "at": t},
            headers=token,
        )
        assert filed.status_code == 201, filed.text
        # the snapshot of the disputed decision is what the system knew at the check
        assert (
            client.post("/login", data={"username": "test-reviewer", "password": PASSWORD}).status_code == 200
        )
        page = client.get(f"/reviewer/appeals/{filed.json()['id']}", params={"lang": "en"})
        assert page.status_code == 200, page.text[-2000:]
        html = page.text
        assert 'id="knowledge-diff"' in html
        assert 'data-field="popup"' in html
        assert "What we knew then" in html and "What we know now" in html
        api = client.get(f"/v1/appeals/{filed.json()['id']}")
        assert api.status_code == 200, api.text
        knowledge = api.json()["knowledge"]
        assert knowledge["then"]["popup"] is None
        assert knowledge["now"]["popup"] is not None
        assert {d["field"] for d in knowledge["differences"]} >= {"popup", "reasons"}
        assert api.json()["automated_decision"]["popup"] is None

        # the hotline's look-up page takes the same two times
        client.cookies.clear()
        assert (
            client.post("/login", data={"username": "test-hotline", "password": PASSWORD}).status_code == 200
        )
        form = {"id_number": person, "reason": "caller asks about Tuesday", "at": t}
        then_page = client.post("/hotline/lookup", data={**form, "known_at": t})
        now_page = client.post("/hotline/lookup", data=form)
        assert then_page.status_code == now_page.status_code == 200
        assert f'data-color="{then["color"]}"' in then_page.text and 'id="lookup-known-at"' in then_page.text
        assert f'data-color="{now["color"]}"' in now_page.text
        assert then["color"] != now["color"]
