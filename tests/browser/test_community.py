"""The community worker (社区工作人员) applies for a resident in the browser: what the policy
names and is missing is listed on their page and on the reviewer's; they see only their own
submissions; the form tells the reverse commuter how to apply (issue 13, item 5)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from playwright.sync_api import expect

from commutepass.domain.roles import Role
from tests.browser.conftest import AsRole, Shoot
from tests.helpers import make_id, masked

PDF = b"%PDF-1.4\n" + b"1" * 64


def test_a_community_worker_applies_for_a_resident_and_both_sides_see_what_is_missing(
    as_role: AsRole, shoot: Shoot, tmp_path: Path
) -> None:
    resident = make_id("131082", date(1979, 9, 9), 611)
    community = as_role(Role.COMMUNITY)
    assert community.url.endswith("/community")
    expect(community.locator("#signed-in-as")).to_contain_text("社区工作人员")
    expect(community.locator("#reverse-note")).to_contain_text("居住在北京、在环京地区工作")
    work = tmp_path / "work.pdf"
    work.write_bytes(PDF)
    community.fill("#applicant", resident)
    community.fill("#statement", "居民住三河市，在朝阳区上班，没有被大数据识别，社区代为申请。")
    community.fill("#home_county", "131082")
    community.set_input_files("#work_proof", str(work))
    community.click("#apply-form button[type=submit]")
    expect(community.locator("#created")).to_be_visible()
    row = community.locator("#my-applications tbody tr").first
    expect(row).to_contain_text(masked(resident))
    expect(row).to_contain_text("社区代办")
    missing = row.locator("td.missing li")
    expect(missing).to_have_count(4)  # work county, ID card, residence proof, NAT
    expect(missing.first).to_have_attribute("data-code", "APP_MISSING_WORK_COUNTY")
    expect(row.locator("td.missing")).to_contain_text("请上传身份证")
    application_id = row.get_attribute("data-id")
    shoot(community, "community-apply-zh")

    reviewer = as_role(Role.REVIEWER)
    reviewer.goto(reviewer.url.split("/reviewer")[0] + f"/reviewer/applications/{application_id}")
    expect(reviewer.locator("#missing li")).to_have_count(4)
    reviewer.check("input[name=status][value=approved]")
    reviewer.fill("#reason", "同意")
    reviewer.click("#decide-form button[type=submit]")
    expect(reviewer.locator("#form-error")).to_contain_text("尚不能批准")
    expect(reviewer.locator("#application-state")).to_have_text("待审核")

    # another community worker's page does not list it
    other = as_role(Role.COMMUNITY, "web-community-two")
    expect(other.locator(f"#my-applications tr[data-id='{application_id}']")).to_have_count(0)
