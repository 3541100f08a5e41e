"""An EU certificate (HC1:) on the checkpoint console and at POST /v1/codes/verify."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from commutepass.app import create_app
from commutepass.credentials import service
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from tests.e2e.auth import FAST_HASHING, PASSWORD, make_users
from tests.helpers import make_id
from tests.integration.test_hcert_and_revocations import _hc1, _signer

pytestmark = pytest.mark.e2e
NOW = "2021-11-29T07:30:00+08:00"


@pytest.fixture(scope="module")
def officer_and_code(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    folder = tmp_path_factory.mktemp("hcert")
    settings = Settings(data_dir=folder / "data", secret="x", now=NOW, **FAST_HASHING)  # type: ignore[arg-type]
    make_users(settings, make_id("131082", date(1990, 1, 1), 7))
    key, certificate = _signer(Path(folder))
    application = App.open(settings)
    try:
        service.add_hcert_certificate(application, certificate)
    finally:
        application.close()
    with TestClient(create_app(settings)) as client:
        signed = client.post("/login", data={"username": f"test-{Role.OFFICER.value}", "password": PASSWORD})
        assert signed.status_code == 200
        yield client, _hc1(key, certificate)


@pytest.mark.parametrize(("lang", "shown"), [("zh", "阴性"), ("en", "negative")])
def test_the_console_shows_the_test_of_an_eu_certificate(
    officer_and_code: tuple[TestClient, str], lang: str, shown: str
) -> None:
    client, code = officer_and_code
    page = client.post(
        "/checkpoint", data={"q": code, "site": "白庙检查站", "mode": "road"}, params={"lang": lang}
    )
    assert page.status_code == 200, page.text[-2000:]
    html = page.text
    assert 'data-hcert="true"' in html and 'data-result="negative"' in html and 'data-counts="false"' in html
    assert 'data-decision="documents"' in html and shown in html and "Gabriele Musterfrau" in html
    assert 'data-code="HCERT_ISSUER_NOT_ACCEPTED"' in html and 'data-code="CHECK_GREEN_CODE"' in html


def test_the_api_answers_an_eu_certificate_with_its_test(officer_and_code: tuple[TestClient, str]) -> None:
    client, code = officer_and_code
    answer = client.post("/v1/codes/verify", json={"code": code, "site": "白庙检查站"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["valid"], body["decision"], body["hcert"]["issuer"]) == (True, "documents", "AT")
    assert body["hcert"]["test"]["result"] == "negative" and body["hcert"]["counts_as_nat"] is False
    tampered = code[:-3] + ("A" if code[-3] != "A" else "B") + code[-2:]
    refused = client.post("/v1/codes/verify", json={"code": tampered}).json()
    assert (refused["valid"], refused["decision"]) == (False, "refuse")
