"""The citizen's messages in the browser (issue 13, item 3): the 24 h lapse reminder with its
time and remedy, the entry told, and reminders turned off and on again."""

from __future__ import annotations

from playwright.sync_api import expect

from commutepass.domain.roles import Role
from tests.browser.conftest import AsRole, Shoot


def test_the_citizen_reads_the_lapse_reminder_and_turns_reminders_off(as_role: AsRole, shoot: Shoot) -> None:
    phone = as_role(Role.CITIZEN, "citizen-lapsing")
    box = phone.locator("#inbox")
    expect(box).to_be_visible()
    reminder = box.locator("li[data-kind=badge_lapses_24h]")
    expect(reminder).to_have_count(1)
    expect(reminder).to_contain_text("2021-11-30 00:00")
    expect(reminder).to_contain_text("请在此之前完成核酸检测")
    expect(box.locator("li[data-kind=entry_added]")).to_contain_text("2021-11-20")
    expect(phone.locator("#inbox-unread")).to_have_text("2")
    shoot(phone, "citizen-inbox-zh")

    expect(phone.locator("#reminders-state")).to_have_attribute("data-on", "true")
    phone.click("#reminders-toggle")
    expect(phone.locator("#reminders-state")).to_have_attribute("data-on", "false")
    expect(phone.locator("#reminders-state")).to_contain_text("失效提醒已关闭")
    phone.click("#reminders-toggle")
    expect(phone.locator("#reminders-state")).to_have_attribute("data-on", "true")


def test_the_commuter_without_a_lapse_is_told_only_of_the_entry(as_role: AsRole) -> None:
    phone = as_role(Role.CITIZEN)
    messages = phone.locator("#inbox-messages li")
    expect(messages).to_have_count(1)
    expect(messages.first).to_have_attribute("data-kind", "entry_added")
