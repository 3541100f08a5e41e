"""The admin's what-if in Chromium: upload a draft, replay it on a recorded day, read the report
(charts, transitions, side-by-side cases) and download the diff — no ID number anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from commutepass.domain.roles import Role
from tests.browser.conftest import PEOPLE, AsRole, Shoot
from tests.helpers import masked

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CANDIDATE = Path(__file__).resolve().parents[2] / "docs" / "whatif" / "entry-24h.toml"


def test_an_admin_replays_a_draft_and_reads_the_report(as_role: AsRole, shoot: Shoot) -> None:
    desk = as_role(Role.ADMIN)
    base = desk.url.split("/", 3)[:3]
    root = "/".join(base)
    desk.goto(f"{root}/admin/policies")
    desk.fill("#toml", CANDIDATE.read_text(encoding="utf-8"))
    desk.click("#policy-upload button[type=submit]")
    row = desk.locator("#policy-versions tr[data-version='whatif-entry-24h']")
    expect(row).to_have_attribute("data-state", "draft")
    row.locator("a.whatif-link").click()

    expect(desk.locator("#version")).to_have_value("whatif-entry-24h")
    desk.fill("#from", "2021-11-29")
    desk.fill("#to", "2021-11-28")
    desk.click("#whatif-form button[type=submit]")
    expect(desk.locator("#form-error")).to_contain_text("早于开始日")  # the window ends before it starts
    expect(desk.locator("#to")).to_have_attribute("aria-invalid", "true")

    desk.fill("#from", "2021-11-28")
    desk.fill("#to", "2021-11-28")
    desk.click("#whatif-form button[type=submit]", timeout=120_000)
    expect(desk.locator("h1")).to_contain_text("whatif-entry-24h", timeout=120_000)
    # the commuter's first check of the policy had a NAT sampled 47 h before: allowed at 48 h, not at 24 h
    expect(desk.locator("#whatif-summary tr[data-key='checks'] td")).to_have_text("4")
    expect(desk.locator("#whatif-summary tr[data-key='changed_checks'] td")).to_have_text("1")
    expect(desk.locator("#whatif-summary tr[data-key='baseline_differs_from_recorded'] td")).to_have_text("0")
    expect(desk.locator("#whatif-transitions")).to_contain_text("allow")
    expect(desk.locator("#whatif-transitions")).to_contain_text("refuse")
    for chart in ("day", "transitions", "prefecture", "checkpoint"):
        expect(desk.locator(f"#chart-{chart} svg")).to_have_count(1)
    case = desk.locator(".whatif-case[data-kind='check']").first
    expect(case).to_contain_text("24")
    expect(case).to_contain_text("48")
    shoot(desk, "admin-whatif-zh")

    csv_url = desk.locator("#download-csv").get_attribute("href")
    answer = desk.context.request.get(f"{root}{csv_url}")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
    text = answer.text()
    assert text.startswith("kind,item,check_id,person") and "allow,refuse" in text
    parquet = desk.context.request.get(f"{root}{desk.locator('#download-parquet').get_attribute('href')}")
    assert parquet.status == 200 and parquet.body()[:4] == b"PAR1"
    html = desk.content()
    for number in (PEOPLE.commuter, PEOPLE.visitor, PEOPLE.elder):
        assert number not in text and number not in html and masked(number) not in html

    desk.goto(f"{root}/admin/whatif")
    expect(desk.locator("#whatif-runs tbody tr")).to_have_count(1)
    expect(desk.locator("#whatif-runs")).to_contain_text("whatif-entry-24h")
