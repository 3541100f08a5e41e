"""Issue 16 item 6 beyond ``GET /v1/stats``: the analyst page and the appeal response times an
analyst reads are suppressed the same way (``domain.privacy``, k = ``analyst_min_cell``), through
the web server; a reviewer, who works the cases, still sees every figure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient

from commutepass.accounts import service as auth
from commutepass.app import create_app
from commutepass.appeals import service as appeals
from commutepass.checks.service import CheckRequest, check
from commutepass.domain.decisions import Mode
from commutepass.domain.roles import Role
from commutepass.domain.workflows import AppealKind
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from tests.e2e.auth import FAST_HASHING, PASSWORD, make_users
from tests.helpers import at, make_id

pytestmark = pytest.mark.e2e
NOW = "2021-11-29T12:00:00+08:00"
CITIZEN_ID = make_id("131082", date(1990, 1, 1), 8)
VISITORS = [make_id("130681", date(1970, 5, 5), 310 + n) for n in range(3)]  # no NAT: refused


@pytest.fixture(scope="module", params=[1, 5], ids=["k1", "k5"])
def clients(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, dict[Role, TestClient]]]:
    k = int(request.param)
    settings = Settings(  # type: ignore[arg-type]
        data_dir=tmp_path_factory.mktemp("analyst"), secret="x", now=NOW, analyst_min_cell=k, **FAST_HASHING
    )
    make_users(settings, CITIZEN_ID)
    app = App.open(settings)
    try:
        for n, number in enumerate(VISITORS):
            check(app, CheckRequest(number, at(f"2021-11-29T07:0{n}"), "白庙检查站", Mode.ROAD))
        hotline = auth.sign_in(app, "test-hotline", PASSWORD).user
        appeals.file(app, hotline, VISITORS[0], AppealKind.COLOR, "the test was done in Langfang")
    finally:
        app.close()
    api = create_app(settings)
    with TestClient(api) as first:
        opened = {}
        for role in (Role.ANALYST, Role.REVIEWER):
            client = first if role is Role.ANALYST else TestClient(api)
            signed = client.post("/login", data={"username": f"test-{role.value}", "password": PASSWORD})
            assert signed.status_code == 200, signed.text
            opened[role] = client
        yield k, opened


def _totals(html: str) -> list[str]:
    block = html[html.index('id="totals"') : html.index("</dl>", html.index('id="totals"'))]
    return [re.sub(r"<[^>]+>", "", dd).strip() for dd in re.findall(r"<dd>(.*?)</dd>", block, re.S)]


def test_the_analyst_page_suppresses_cells_below_the_threshold(
    clients: tuple[int, dict[Role, TestClient]],
) -> None:
    k, opened = clients
    page = opened[Role.ANALYST].get("/analyst", params={"day": "2021-11-29", "days": "1", "lang": "en"})
    assert page.status_code == 200, page.text[-2000:]
    html = page.text
    refused_row = re.search(r'<tr data-code="NAT_ENTRY_MISSING">.*?</tr>', html, re.S)
    assert refused_row is not None
    # three checks, all refused, none entered, none sent to documents
    if k == 1:
        assert _totals(html) == ["3", "0", "0", "3"]
        assert "<td>3</td>" in refused_row.group(0)
        assert "suppressed" not in refused_row.group(0)
    else:
        # checks 3 and refused 3 are fewer than five people; zero says nobody and is shown
        assert _totals(html) == ["—", "0", "0", "—"]
        assert 'class="suppressed"' in refused_row.group(0) and "<td>3</td>" not in refused_row.group(0)
        assert "Figures about fewer than 5 people" in html


def test_the_analyst_reads_appeal_response_times_suppressed(
    clients: tuple[int, dict[Role, TestClient]],
) -> None:
    k, opened = clients
    as_analyst = opened[Role.ANALYST].get("/v1/appeals/response-times")
    as_reviewer = opened[Role.REVIEWER].get("/v1/appeals/response-times")
    assert as_analyst.status_code == as_reviewer.status_code == 200
    nat_analyst = next(r for r in as_analyst.json() if r["kind"] == AppealKind.COLOR.value)
    nat_reviewer = next(r for r in as_reviewer.json() if r["kind"] == AppealKind.COLOR.value)
    assert nat_reviewer["open"] == 1  # the reviewer works the case: every figure
    assert nat_analyst["open"] == (1 if k == 1 else None)
    stats = opened[Role.ANALYST].get("/v1/stats").json()
    nat_stats = next(r for r in stats["appeal_response_times"] if r["kind"] == AppealKind.COLOR.value)
    assert nat_stats == nat_analyst  # one rule for both
