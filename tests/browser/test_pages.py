"""Each role's main path through the pages, in Debian's Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PEOPLE, Shoot, Site
from tests.helpers import masked


def _look_up(page: Page, number: str) -> None:
    page.fill("#id_number", number)
    page.click(".lookup button[type=submit]")


def test_citizen_sees_code_badge_countdown_and_why(site: Site, phone: Page, shoot: Shoot) -> None:
    phone.goto(f"{site.base}/citizen")
    expect(phone.locator("html")).to_have_attribute("lang", "zh-CN")
    _look_up(phone, PEOPLE.commuter)
    card = phone.locator(".code-card")
    expect(card).to_have_attribute("data-color", "green")
    expect(card.locator(".color-name")).to_have_text("绿码")
    expect(phone.locator("#commuter-badge .badge-mark")).to_have_text("通勤")
    expect(card.locator(".masked")).to_have_text(masked(PEOPLE.commuter))
    assert PEOPLE.commuter not in phone.content(), "the full ID number is never shown"
    # the NAT reported 11-26 counts 14 days: until 12-10 00:00, 10 days 16.5 h after 11-29 07:30
    countdown = phone.locator("#nat-countdown")
    expect(countdown).to_have_text(re.compile(r"^\d+:\d\d:\d\d$"))
    first = countdown.inner_text()
    assert re.fullmatch(r"256:(30:00|29:5\d)", first), first
    phone.wait_for_timeout(1_100)
    assert countdown.inner_text() != first, "the countdown ticks"
    why = phone.locator("#why")
    expect(why.locator(".explanation")).to_be_hidden()
    why.locator("summary").click()
    expect(why.locator(".explanation")).to_contain_text("适用政策：2021-11-17")
    expect(why.locator(".reasons li[data-code=BADGE_SHOWN]")).to_be_visible()
    shoot(phone, "citizen-zh")

    phone.click("#lang-switch")
    expect(phone.locator("html")).to_have_attribute("lang", "en")
    _look_up(phone, PEOPLE.commuter)
    expect(phone.locator(".code-card .color-name")).to_have_text("Green code")
    expect(phone.locator("#commuter-badge .badge-class")).to_have_text("daily commuter")
    phone.locator("#why summary").click()
    expect(phone.locator("#why .explanation")).to_contain_text("Policy in force: 2021-11-17")
    shoot(phone, "citizen-en")
    phone.goto(f"{site.base}/citizen?lang=zh")
    expect(phone.locator("html")).to_have_attribute("lang", "zh-CN")


def test_citizen_pop_up_says_why_and_what_to_do(site: Site, phone: Page, shoot: Shoot) -> None:
    phone.goto(f"{site.base}/citizen")
    _look_up(phone, PEOPLE.risky)
    popup = phone.locator("#popup")
    expect(popup).to_be_visible()
    expect(popup.locator("p").first).not_to_be_empty()
    shoot(phone, "citizen-popup-zh")
    popup.get_by_role("button", name="知道了").click()
    expect(popup).to_be_hidden()


def test_citizen_bad_id_number_is_explained_at_the_field(site: Site, phone: Page) -> None:
    phone.goto(f"{site.base}/citizen")
    _look_up(phone, PEOPLE.commuter[:-1] + ("0" if PEOPLE.commuter[-1] != "0" else "1"))
    expect(phone.locator("#form-error")).to_be_visible()
    expect(phone.locator("#id_number")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator(".code-card")).to_have_count(0)


def test_checkpoint_console_by_keyboard_alone(site: Site, desk: Page, shoot: Shoot) -> None:
    desk.goto(f"{site.base}/checkpoint")
    expect(desk.locator("#connection")).to_have_class(re.compile(r"\bonline\b"))
    assert desk.evaluate("document.activeElement.id") == "q", "the ID field has the focus"

    desk.keyboard.type(PEOPLE.commuter)
    desk.keyboard.press("Enter")
    verdict = desk.locator("#verdict")
    expect(verdict).to_have_attribute("data-decision", "allow")
    expect(verdict.locator("#verdict-title")).to_contain_text("放行")
    expect(verdict.locator(".badge-mark")).to_have_text("通勤")
    assert desk.evaluate("document.activeElement.id") == "q", "ready for the next swipe"
    shoot(desk, "checkpoint-zh")

    desk.keyboard.type(PEOPLE.visitor)
    expect(verdict).to_be_hidden()  # typing the next ID clears the last verdict at once
    desk.keyboard.press("Enter")
    expect(desk.locator("#verdict")).to_have_attribute("data-decision", "refuse")
    expect(desk.locator("#verdict .reasons")).to_contain_text("核酸")
    shoot(desk, "checkpoint-refused-zh")
    desk.keyboard.press("Escape")
    expect(desk.locator("#verdict")).to_be_hidden()
    expect(desk.locator("#q")).to_have_value("")

    # an elderly person without a smartphone: Alt+N, then the ID
    desk.keyboard.press("Alt+n")
    expect(desk.locator("#no_smartphone")).to_be_checked()
    desk.keyboard.type(PEOPLE.elder)
    desk.keyboard.press("Enter")
    expect(desk.locator("#verdict")).to_have_attribute("data-decision", "allow")
    expect(desk.locator("#verdict .reasons li[data-code=NO_SMARTPHONE_NAT_ONLY]")).to_be_visible()
    expect(desk.locator("#no_smartphone")).not_to_be_checked()  # the option was for that person only


def test_checkpoint_infant_with_companion_and_bad_input(site: Site, desk: Page) -> None:
    desk.goto(f"{site.base}/checkpoint")
    desk.fill("#companions", PEOPLE.elder)
    desk.fill("#q", PEOPLE.infant)
    desk.keyboard.press("Enter")
    verdict = desk.locator("#verdict")
    expect(verdict).to_have_attribute("data-decision", "allow")
    expect(verdict).to_contain_text(masked(PEOPLE.elder))

    desk.fill("#q", "12345")
    desk.keyboard.press("Enter")
    expect(desk.locator("#form-error")).to_be_visible()
    expect(desk.locator("#q")).to_have_attribute("aria-invalid", "true")
    expect(desk.locator("#verdict")).to_have_count(0)


def test_checkpoint_shows_when_the_service_cannot_be_reached(site: Site, desk: Page) -> None:
    desk.goto(f"{site.base}/checkpoint")
    expect(desk.locator("#connection")).to_have_class(re.compile(r"\bonline\b"))
    desk.route("**/health", lambda route: route.abort())
    expect(desk.locator("#connection")).to_have_class(re.compile(r"\boffline\b"), timeout=8_000)
    expect(desk.locator("#connection")).to_contain_text("离线")
    desk.unroute("**/health")
    expect(desk.locator("#connection")).to_have_class(re.compile(r"\bonline\b"), timeout=8_000)


def test_admin_adds_and_ends_a_case_period(site: Site, desk: Page, shoot: Shoot) -> None:
    desk.goto(f"{site.base}/admin/risk")
    desk.fill("#county", "999999")
    desk.fill("#start", "2021-11-27")
    desk.click("#risk-add button")
    expect(desk.locator("#form-error")).to_contain_text("999999")
    expect(desk.locator("#county")).to_have_attribute("aria-invalid", "true")

    desk.fill("#county", "130681")
    desk.fill("#start", "2021-11-27")
    desk.click("#risk-add button")
    row = desk.locator("#risk-table tr[data-county='130681']")
    expect(row).to_contain_text("涿州市")
    expect(row).to_contain_text("持续中")
    expect(row).to_contain_text("admin:web")
    expect(row.locator(".tag")).to_have_text("今日生效")
    shoot(desk, "admin-risk-zh")
    row.locator("input[name=end]").fill("2021-11-28")
    row.get_by_role("button", name="结束").click()
    row = desk.locator("#risk-table tr[data-county='130681']")
    expect(row).to_contain_text("2021-11-28")
    expect(row.locator(".tag")).to_have_count(0)


def test_admin_sees_policy_versions_side_by_side(site: Site, desk: Page, shoot: Shoot) -> None:
    desk.goto(f"{site.base}/admin/policies")
    header = desk.locator("#policy-table thead th .version")
    expect(header).to_have_text(["2020-02-14", "2021-11-17"])
    assert desk.locator("#policy-table td.changed").count() >= 3
    expect(desk.locator("#policy-table tbody")).to_contain_text("nat")
    shoot(desk, "admin-policies-zh")


def test_analyst_dashboard_counts_without_personal_rows(site: Site, desk: Page, shoot: Shoot) -> None:
    desk.goto(f"{site.base}/analyst?day=2021-11-28&days=7")
    totals = desk.locator("#totals dd")
    # the scene's four swipes on the 28th: three let in, one refused (no NAT at all)
    expect(totals).to_have_text(["4", "3", "0", "1"])
    expect(desk.locator("#entries svg")).to_have_count(1)
    expect(desk.locator("#holders svg")).to_have_count(1)
    expect(desk.locator("#refusals svg")).to_have_count(1)
    expect(desk.locator("#refusals tr[data-code=NAT_ENTRY_MISSING]")).to_contain_text("1")
    expect(desk.locator("#entries svg")).to_contain_text("白庙检查站")
    html = desk.content()
    for number in (PEOPLE.commuter, PEOPLE.elder, PEOPLE.visitor):
        assert number not in html and masked(number) not in html
    shoot(desk, "analyst-zh")
    desk.goto(f"{site.base}/analyst?day=2021-13-01")
    expect(desk.locator("#form-error")).to_be_visible()


def test_home_page_links_every_role(site: Site, desk: Page, shoot: Shoot) -> None:
    desk.goto(f"{site.base}/")
    for name in ("我的健康码", "检查站", "风险地区", "数据看板"):
        expect(desk.locator("main").get_by_role("link", name=name)).to_be_visible()
    desk.keyboard.press("Tab")
    expect(desk.locator(".skip")).to_be_focused()
    shoot(desk, "home-zh")


def test_a_code_shown_to_the_citizen_verifies_at_the_console(
    site: Site, browser_pages: tuple[Page, Page]
) -> None:
    phone, desk = browser_pages
    phone.goto(f"{site.base}/citizen")
    _look_up(phone, PEOPLE.commuter)
    expect(phone.locator("#qr svg")).to_be_visible()
    phone.locator("#code-text summary").click()
    code = phone.locator("#code-string").inner_text().strip()
    assert code.startswith("JJJ1:")

    desk.goto(f"{site.base}/checkpoint")
    desk.fill("#q", code)  # a scanner types the code like a keyboard
    desk.keyboard.press("Enter")
    expect(desk.locator("#verdict")).to_have_attribute("data-decision", "allow")
    expect(desk.locator("#code-validity")).to_have_attribute("data-valid", "true")
    expect(desk.locator("#code-validity")).to_contain_text(masked(PEOPLE.commuter))

    tampered = code[:-3] + ("A" if code[-3] != "A" else "B") + code[-2:]
    desk.fill("#q", tampered)
    desk.keyboard.press("Enter")
    expect(desk.locator("#verdict")).to_have_attribute("data-decision", "refuse")
    expect(desk.locator("#code-validity")).to_have_attribute("data-valid", "false")
    expect(desk.locator("#verdict .reasons li").first).to_have_attribute(
        "data-code", re.compile("^CREDENTIAL_")
    )
