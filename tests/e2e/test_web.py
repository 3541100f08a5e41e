"""Every page renders in both languages for the role it is for, bad input is answered on the
page with the field, and the pages carry what a browser needs offline (nothing from another host)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from commutepass.app import create_app
from commutepass.domain.roles import Role
from commutepass.kit.i18n import LANG_COOKIE, TEXTS
from commutepass.kit.render import NAV
from commutepass.kit.settings import Settings
from tests.e2e.auth import FAST_HASHING, PASSWORD, make_users
from tests.helpers import make_id

pytestmark = pytest.mark.e2e
NOW = "2021-11-29T07:30:00+08:00"
CITIZEN_ID = make_id("131082", date(1990, 1, 1), 7)
PAGES = sorted(
    {(path, role) for role, items in NAV.items() for path, _key in items} | {("/", None), ("/login", None)},
    key=str,
)


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Role | None, TestClient]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("web"), secret="x", now=NOW, **FAST_HASHING)  # type: ignore[arg-type]
    make_users(settings, CITIZEN_ID)
    api = create_app(settings)
    opened: dict[Role | None, TestClient] = {}
    with TestClient(api) as anonymous:
        opened[None] = anonymous
        for role in Role:
            client = TestClient(api)
            signed = client.post("/login", data={"username": f"test-{role.value}", "password": PASSWORD})
            assert signed.status_code == 200 and "commutepass_session" in client.cookies, signed.text
            opened[role] = client
        yield opened


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize(("path", "role"), PAGES)
def test_every_page_renders_in_both_languages(
    clients: dict[Role | None, TestClient], path: str, role: Role | None, lang: str
) -> None:
    response = clients[role].get(path, params={"lang": lang})
    assert response.status_code == 200, response.text[-2000:]
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in html
    assert TEXTS["app.name"][0 if lang == "zh" else 1] in html
    assert response.cookies.get(LANG_COOKIE) == lang
    # nothing fetched from another host: the pages work with no internet
    assert not re.search(r'(src|href|action)="(https?:)?//', html), "a page refers to another host"


def test_a_page_asks_for_sign_in_or_refuses_the_role(clients: dict[Role | None, TestClient]) -> None:
    anonymous = clients[None].get("/reviewer")
    assert anonymous.status_code == 401 and 'id="login-form"' in anonymous.text
    assert 'name="next" value="/reviewer"' in anonymous.text
    refused = clients[Role.OFFICER].get("/reviewer", params={"lang": "zh"})
    assert refused.status_code == 403 and TEXTS["forbidden.title"][0] in refused.text
    # the API under the same gate still answers with problem details
    assert clients[None].post("/v1/status", json={}).headers["content-type"] == "application/problem+json"


def test_sign_in_goes_back_only_to_a_page_of_this_site(clients: dict[Role | None, TestClient]) -> None:
    client = clients[None]
    for target, landing in [
        ("/analyst", "/analyst"),
        ("//evil.example/x", "/analyst"),
        ("https://evil.example", "/analyst"),
    ]:
        answer = client.post(
            "/login",
            data={"username": "test-analyst", "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert answer.status_code == 303 and answer.headers["location"] == landing, target
    client.cookies.clear()
    wrong = client.post("/login", data={"username": "test-analyst", "password": "nope"})
    assert wrong.status_code == 401 and 'id="form-error"' in wrong.text


def test_a_check_on_the_console_is_recorded_and_counted(clients: dict[Role | None, TestClient]) -> None:
    number = make_id("130681", date(1970, 5, 5), 9)
    officer = clients[Role.OFFICER]
    console = officer.get("/checkpoint", params={"lang": "zh"}).text
    # no snapshot taken by this checkpoint yet: the officer is told what that means offline
    assert (
        'id="snapshot" class="snapshot stale" data-stale="true"' in console and "尚未下载离线快照" in console
    )
    response = officer.post("/checkpoint", data={"q": number, "site": "白庙检查站", "mode": "road"})
    assert response.status_code == 200
    assert 'data-decision="refuse"' in response.text
    assert number not in response.text
    dashboard = clients[Role.ANALYST].get("/analyst", params={"day": "2021-11-29", "days": "1"}).text
    assert '<tr data-code="NAT_ENTRY_MISSING">' in dashboard
    assert number not in dashboard


@pytest.mark.parametrize(
    ("role", "path", "form", "field"),
    [
        (Role.OFFICER, "/checkpoint", {"q": "12345", "site": "白庙", "mode": "road"}, "id_number"),
        (Role.OFFICER, "/checkpoint", {"q": make_id(), "site": " ", "mode": "road"}, "site"),
        (Role.OFFICER, "/checkpoint", {"q": make_id(), "site": "白庙", "mode": "plane"}, "mode"),
        (Role.CITIZEN, "/citizen/family", {"id_number": "abc"}, "id_number"),
        (Role.CITIZEN, "/citizen/appeal", {"who": "0", "kind": "mood", "statement": "x"}, "kind"),
        (Role.CITIZEN, "/citizen/apply", {"who": "9", "statement": "x"}, "who"),
        (
            Role.OFFICER,
            "/checkpoint/apply",
            {"id_number": make_id(), "statement": "x", "home_county": "999999"},
            "home_county",
        ),
        (Role.HOTLINE, "/hotline/lookup", {"id_number": make_id(), "reason": ""}, "reason"),
        (Role.ADMIN, "/admin/risk", {"county": "131082", "level": "case", "start": "2021-02-30"}, "start"),
        (Role.ADMIN, "/admin/risk/999/end", {"end": "2021-11-01"}, "id"),
        (
            Role.ADMIN,
            "/admin/users",
            {"username": "x", "password": "long enough pw", "role": "officer"},
            "username",
        ),
        (
            Role.ADMIN,
            "/admin/users",
            {"username": "someone", "password": "long enough pw", "role": "boss"},
            "role",
        ),
    ],
)
def test_bad_input_is_answered_on_the_page_with_the_field(
    clients: dict[Role | None, TestClient], role: Role, path: str, form: dict[str, str], field: str
) -> None:
    response = clients[role].post(path, data=form)
    assert response.status_code == 422, response.text[-1500:]
    assert 'role="alert"' in response.text
    assert f"({field})" in response.text


def test_dashboard_rejects_a_bad_day_and_a_too_long_span(clients: dict[Role | None, TestClient]) -> None:
    analyst = clients[Role.ANALYST]
    bad_day = analyst.get("/analyst", params={"day": "2021-13-01"})
    assert bad_day.status_code == 422 and "(day)" in bad_day.text
    assert analyst.get("/analyst", params={"days": "400"}).status_code == 422


def test_static_files_are_served(clients: dict[Role | None, TestClient]) -> None:
    for name in ("app.css", "console.js", "citizen.js"):
        assert clients[None].get(f"/static/{name}").status_code == 200


def test_a_document_that_is_not_what_it_claims_is_refused_before_anything_is_stored(
    clients: dict[Role | None, TestClient], tmp_path: Path
) -> None:
    citizen = clients[Role.CITIZEN]
    before = citizen.get("/citizen/apply").text.count("<tr data-id=")
    answer = citizen.post(
        "/citizen/apply",
        data={"who": "0", "statement": "每天从燕郊到国贸上班"},
        files={"work_proof": ("work.pdf", b"MZ\x90\x00 an executable", "application/pdf")},
    )
    assert answer.status_code == 422 and "(work_proof)" in answer.text
    assert answer.text.count("<tr data-id=") == before, "no application was created"
