"""Admins author policy versions through the pages, the API and the CLI (issue 11): errors name
the line and field (never a 500), the diff against the version in force is shown, and a draft is
scheduled and withdrawn."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from commutepass.app import create_app
from commutepass.kit.settings import Settings
from tests.e2e.auth import FAST_HASHING, PASSWORD, make_users
from tests.e2e.support import SECRET, resident_id, run_cli

pytestmark = pytest.mark.e2e
SHIPPED = (Path(__file__).resolve().parents[2] / "src/commutepass/policies/2021-11-17.toml").read_text(
    encoding="utf-8"
)


def _candidate(version: str, effective: datetime, old: str = "", new: str = "") -> str:
    text = SHIPPED.replace('version = "2021-11-17"', f'version = "{version}"').replace(
        "effective_from = 2021-11-17T00:00:00+08:00", f"effective_from = {effective.isoformat()}"
    )
    return text.replace(old, new) if old else text


def test_pages_and_api_author_a_version(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret=SECRET, **FAST_HASHING)
    make_users(settings, resident_id("131082", date(1990, 1, 1), 77))
    later = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    bad = _candidate("2031-01-01", later, '"1306", "1307"', '"1306", "1399"')
    bad_line = next(n for n, line in enumerate(bad.splitlines(), start=1) if "1399" in line)
    with TestClient(create_app(settings)) as client:
        token = client.post("/v1/auth/token", data={"username": "test-admin", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        refused = client.post("/v1/policies", json={"toml": bad}, headers=auth)
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["problems"]
        assert (problem["field"], problem["line"]) == ("ring_area.prefectures", bad_line)
        assert client.get("/v1/policies/versions", headers=auth).json()[-1]["version"] == "2021-11-17"

        assert client.post("/login", data={"username": "test-admin", "password": PASSWORD}).status_code == 200
        page = client.post("/admin/policies", data={"toml": "version = 1\n[nat\n"}, params={"lang": "en"})
        assert page.status_code == 422
        assert 'id="policy-problems"' in page.text and "line 2" in page.text
        good = _candidate("2031-01-01", later, "entry_window_hours = 48", "entry_window_hours = 24")
        drafted = client.post(
            "/admin/policies", data={"toml": good}, follow_redirects=True, params={"lang": "en"}
        )
        assert drafted.status_code == 200
        assert (
            'id="policy-diff"' in drafted.text and 'data-parameter="nat.entry_window_hours"' in drafted.text
        )
        assert 'data-version="2031-01-01" data-state="draft"' in drafted.text
        scheduled = client.post("/admin/policies/2031-01-01/schedule", follow_redirects=True)
        assert 'data-version="2031-01-01" data-state="scheduled"' in scheduled.text
        withdrawn = client.post(
            "/admin/policies/2031-01-01/withdraw", data={"reason": "not yet"}, follow_redirects=True
        )
        assert 'data-version="2031-01-01" data-state="withdrawn"' in withdrawn.text
        builtin = client.post("/admin/policies/2021-11-17/withdraw", data={"reason": "x"})
        assert builtin.status_code == 422


def test_the_cli_uploads_schedules_and_lists(tmp_path: Path) -> None:
    data = tmp_path / "data"
    later = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    negative = tmp_path / "2031-01-01.toml"
    negative.write_text(_candidate("2031-01-01", later, "entry_window_hours = 48", "entry_window_hours = -1"))
    failed = run_cli(data, "policy", "upload", str(negative), expect=2).line
    assert failed["error"]["field"] == "nat.entry_window_hours"
    assert failed["error"]["problems"][0]["line"] == next(
        n for n, line in enumerate(negative.read_text().splitlines(), start=1) if "entry_window_hours" in line
    )
    good = tmp_path / "good.toml"
    good.write_text(_candidate("2031-01-01", later))
    assert run_cli(data, "policy", "upload", str(good)).line["state"] == "draft"
    assert run_cli(data, "policy", "schedule", "2031-01-01").line["state"] == "scheduled"
    states = {line["version"]: line["state"] for line in run_cli(data, "policy", "list").lines}
    assert states == {"2020-02-14": "superseded", "2021-11-17": "in_force", "2031-01-01": "scheduled"}
