"""Every page renders in both languages, bad input is answered on the page, and the pages carry
what a browser needs offline (no script or style from another host)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from commutepass.api.app import create_app
from commutepass.settings import Settings
from commutepass.web.i18n import LANG_COOKIE, TEXTS
from tests.helpers import make_id

PAGES = ("/", "/citizen", "/checkpoint", "/admin/risk", "/admin/policies", "/analyst")
NOW = "2021-11-29T07:30:00+08:00"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, secret="x", now=NOW)  # type: ignore[arg-type]
    with TestClient(create_app(settings), raise_server_exceptions=True) as test_client:
        yield test_client


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_in_both_languages(client: TestClient, path: str, lang: str) -> None:
    response = client.get(path, params={"lang": lang})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in html
    assert TEXTS["app.name"][0 if lang == "zh" else 1] in html
    assert response.cookies.get(LANG_COOKIE) == lang
    # nothing fetched from another host: the pages work with no internet
    assert not re.search(r'(src|href)="(https?:)?//', html), "a page refers to another host"


def test_the_language_choice_is_remembered(client: TestClient) -> None:
    client.get("/citizen", params={"lang": "en"})
    assert 'lang="en"' in client.get("/checkpoint").text
    client.get("/", params={"lang": "zh"})
    assert 'lang="zh-CN"' in client.get("/checkpoint").text


def test_a_check_on_the_console_is_recorded_and_explained(client: TestClient) -> None:
    number = make_id("130681", date(1970, 5, 5), 9)
    response = client.post("/checkpoint", data={"q": number, "site": "白庙检查站", "mode": "road"})
    assert response.status_code == 200
    assert 'data-decision="refuse"' in response.text
    assert number not in response.text
    dashboard = client.get("/analyst", params={"day": "2021-11-29", "days": "1"}).text
    assert '<tr data-code="NAT_ENTRY_MISSING">' in dashboard
    assert number not in dashboard


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/checkpoint", {"q": "12345", "site": "白庙", "mode": "road"}, "id_number"),
        ("/checkpoint", {"q": make_id(), "site": " ", "mode": "road"}, "site"),
        ("/checkpoint", {"q": make_id(), "site": "白庙", "mode": "plane"}, "mode"),
        ("/citizen", {"id_number": "abc"}, "id_number"),
        ("/admin/risk", {"county": "131082", "level": "case", "start": "2021-02-30"}, "start"),
        ("/admin/risk/999/end", {"end": "2021-11-01"}, "id"),
    ],
)
def test_bad_input_is_answered_on_the_page_with_the_field(
    client: TestClient, path: str, form: dict[str, str], field: str
) -> None:
    response = client.post(path, data=form)
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert f"({field})" in response.text


def test_dashboard_rejects_a_bad_day_and_a_too_long_span(client: TestClient) -> None:
    bad_day = client.get("/analyst", params={"day": "2021-13-01"})
    assert bad_day.status_code == 422 and "(day)" in bad_day.text
    assert client.get("/analyst", params={"days": "400"}).status_code == 422


def test_static_files_are_served(client: TestClient) -> None:
    for name in ("app.css", "console.js", "citizen.js"):
        assert client.get(f"/static/{name}").status_code == 200
