"""The public waiting-times page (a phone, no sign-in, zh and en) and the live alerts on the admin
page (updating without a reload), against the real server and Chromium. A rush at 康庄检查站
(2 lanes × 1.5 a minute) is recorded in-process on the server's store, the way a checkpoint's
swipes arrive; the warnings are evaluated as the scheduler would."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import Browser, expect

from commutepass.checks.service import CheckRequest, check
from commutepass.domain.decisions import Mode
from commutepass.domain.roles import Role
from commutepass.flow import service as flow
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from tests.browser.conftest import PHONE, AsRole, Shoot, Site, _context_page
from tests.e2e.support import SECRET
from tests.helpers import at, make_id

RUSH_SITE = "康庄检查站"
RUSH_PEOPLE = [make_id("130730", date(1975, 1, 1) + timedelta(days=i), 500 + i) for i in range(10)]


def _rush(site: Site) -> None:
    """Ten minutes of 10 arrivals a minute against a capacity of 3, then the rules evaluated."""
    app = App.open(Settings(data_dir=site.data_dir, secret=SECRET))
    try:
        start = at("2021-11-29T07:20")
        for minute in range(10):
            for i in range(10):
                moment = start + timedelta(minutes=minute, seconds=6 * i)
                check(app, CheckRequest(RUSH_PEOPLE[i], moment, RUSH_SITE, Mode.ROAD, lane=f"L{i % 2 + 1}"))
        flow.evaluate(app, at("2021-11-29T07:30"))
    finally:
        app.close()


def test_public_waits_on_a_phone_then_live_alerts_for_the_admin(
    browser: Browser, site: Site, as_role: AsRole, shoot: Shoot
) -> None:
    admin = as_role(Role.ADMIN)
    admin.goto(f"{site.base}/admin/risk")
    alerts = admin.locator("#alerts-list")
    expect(admin.locator("#live-alerts")).to_have_attribute("data-loaded", "true")
    expect(alerts.locator("li[data-rule='flow-over-capacity']")).to_have_count(0)

    _rush(site)

    phone = _context_page(browser, PHONE, is_mobile=True, has_touch=True)
    try:
        phone.goto(f"{site.base}/waits")
        expect(phone.locator("h1")).to_have_text("进京检查站排队等候时间")
        card = phone.locator(f"#waits li[data-site='{RUSH_SITE}']")
        # 70 people over capacity in 10 minutes, cleared at 3 a minute: about 23 minutes
        expect(card.locator(".wait-value")).to_have_text("23 分钟")
        expect(card.locator("svg.bars rect")).to_have_count(12)
        expect(phone.locator("#signed-in-as")).to_have_count(0)
        shoot(phone, "waits-zh")
        phone.goto(f"{site.base}/waits?lang=en")
        expect(phone.locator("h1")).to_have_text("Waiting times at the entry checkpoints")
        expect(card.locator(".wait-name")).to_contain_text("Kangzhuang checkpoint")
        expect(card.locator(".wait-value")).to_have_text("23 min")
        assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        for number in RUSH_PEOPLE:
            assert number not in phone.content()
    finally:
        phone.context.close()

    # the admin's page shows the new alert without a reload, and acknowledges it there
    flood = alerts.locator("li[data-rule='flow-over-capacity']")
    expect(flood).to_contain_text(RUSH_SITE, timeout=15_000)
    expect(flood).to_contain_text("333%")
    flood.locator("button.ack").click()
    expect(flood).to_contain_text("已确认", timeout=15_000)
    expect(flood).to_contain_text("web-admin")
    shoot(admin, "admin-live-alerts-zh")


def test_the_citizen_sees_the_waits_where_they_cross(as_role: AsRole) -> None:
    phone = as_role(Role.CITIZEN)
    waits = phone.locator("#your-waits")
    # the scene's commuter was checked at 白庙检查站 and 京哈高速白鹿收费站 (a site with default lanes)
    expect(waits.locator("li[data-site='白庙检查站'] .wait-value")).to_have_text("< 1 分钟")
    expect(waits.locator("li.wait-card")).to_have_count(2)
    expect(waits.get_by_role("link", name="全部检查站")).to_have_attribute("href", "/waits")
