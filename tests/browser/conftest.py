"""Browser tests: the real server (``commutepass serve``) and Debian's Chromium driven by Playwright.

The scene is built in-process (explicit people, NAT results, itineraries, risk periods, commuter
entries and a morning of swipes) with the same secret as the server; the server's clock is held
at 2021-11-29 07:30 Beijing time. Set UPDATE_SCREENSHOTS=1 to write docs/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from commutepass.accounts import service as auth
from commutepass.checkpoints import service as checkpoints
from commutepass.checks.service import CheckRequest, check
from commutepass.commuters.service import add_commuter
from commutepass.domain.decisions import Mode
from commutepass.domain.facts import Source
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.sessions import User
from commutepass.kit.settings import Settings
from commutepass.loads.service import COLUMNS, load_file
from commutepass.notifications import service as inbox
from tests.e2e.auth import FAST_HASHING, PASSWORD
from tests.e2e.support import SECRET, Running, background, free_port, wait_until_healthy
from tests.helpers import at, make_id, write_csv

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
NOW = "2021-11-29T07:30:00+08:00"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@dataclass(frozen=True)
class People:
    commuter: str = make_id("131082", date(1986, 8, 8), 401)  # 三河市, daily commuter, NAT 11-26
    visitor: str = make_id("130681", date(1970, 5, 5), 402)  # 涿州市, no NAT at all
    lapsing: str = make_id("131082", date(1984, 4, 4), 409)  # 三河市, badge lapses 11-30 00:00
    risky: str = make_id("120104", date(1991, 2, 3), 403)  # trip to a county with a case
    elder: str = make_id("131022", date(1950, 6, 1), 404)  # no smartphone, NAT within 48 h
    infant: str = make_id("131082", date(2020, 1, 1), 405)  # 1 year old


PEOPLE = People()
USERS = {role: f"web-{role.value}" for role in Role}
Shoot = Callable[[Page, str], Path]
AsRole = Callable[..., Page]


@dataclass(frozen=True)
class Site:
    base: str
    server: Running
    data_dir: Path


def _build_scene(data_dir: Path) -> None:
    app = App.open(Settings(data_dir=data_dir, secret=SECRET, **FAST_HASHING))
    tmp = data_dir / "scene"
    tmp.mkdir()
    try:
        p = PEOPLE
        add_commuter(
            app, p.commuter, since=date(2021, 11, 1), source=Source.APPLICATION, home_county="131082"
        )
        nats = [
            (p.commuter, "2021-11-26T08:00", "2021-11-26T18:00", "negative", "三河市人民医院"),
            (p.risky, "2021-11-28T09:00", "2021-11-28T15:00", "negative", "天津市第一中心医院"),
            (p.elder, "2021-11-28T10:00", "2021-11-28T16:00", "negative", "固安县医院"),
        ]
        load_file(app, "nat", write_csv(tmp / "nat.csv", COLUMNS["nat"], nats))
        trips = [(p.risky, "2021-11-24", "120116")]
        load_file(app, "itinerary", write_csv(tmp / "itinerary.csv", COLUMNS["itinerary"], trips))
        risk = [("120116", "case", "2021-11-20", "")]
        load_file(app, "risk", write_csv(tmp / "risk.csv", COLUMNS["risk"], risk))
        # the morning before: swipes the dashboard counts (the tests' own swipes are on the 29th)
        for number, when, site in [
            (p.commuter, "2021-11-28T07:02", "白庙检查站"),
            (p.elder, "2021-11-28T17:03", "白庙检查站"),
            (p.visitor, "2021-11-28T07:08", "白庙检查站"),
            (p.commuter, "2021-11-28T18:20", "京哈高速白鹿收费站"),
        ]:
            smartphone = number != p.elder
            check(app, CheckRequest(number, at(when), site, Mode.ROAD, smartphone=smartphone))
        for role in Role:
            linked = PEOPLE.commuter if role is Role.CITIZEN else None
            auth.add_user(app, USERS[role], PASSWORD, role, id_number=linked)
        auth.add_user(app, "citizen-two", PASSWORD, Role.CITIZEN, id_number=PEOPLE.visitor)
        auth.add_user(app, "web-community-two", PASSWORD, Role.COMMUNITY)
        # in the database since 11-20 (an application), NAT reported 11-16: the badge lapses at
        # 11-30 00:00, so at the scene's 11-29 07:30 the inbox holds the 24 h reminder
        add_commuter(
            app, p.lapsing, since=date(2021, 11, 20), source=Source.APPLICATION, home_county="131082"
        )
        lapsing_nat = [(p.lapsing, "2021-11-15T08:00", "2021-11-16T10:00", "negative", "三河市人民医院")]
        load_file(app, "nat", write_csv(tmp / "nat-lapsing.csv", COLUMNS["nat"], lapsing_nat))
        auth.add_user(app, "citizen-lapsing", PASSWORD, Role.CITIZEN, id_number=p.lapsing)
        inbox.refresh(app, now=at(NOW))
        # the officer's checkpoint took its offline snapshot at 06:00 (the console shows its age)
        officer = User(0, USERS[Role.OFFICER], Role.OFFICER, None)
        checkpoints.hand_out_snapshot(app, officer, at("2021-11-29T06:00"))
    finally:
        app.close()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("web") / "data"
    data_dir.mkdir()
    _build_scene(data_dir)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with background(data_dir, "serve", "--port", str(port), env={"COMMUTEPASS_NOW": NOW}) as server:
        wait_until_healthy(base, server)
        yield Site(base, server, data_dir)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Debian's Chromium is not at {CHROMIUM}: run scripts/bootstrap --system")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def desk(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESK, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def sign_in(page: Page, base: str, username: str, start: str = "/login") -> None:
    """Sign in through the form, as a person would; the page lands on the role's first page."""
    page.goto(f"{base}{start}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#signed-in-as")).to_contain_text(username)
    # deferred scripts (the console's keyboard shortcuts, the camera) run before "load": a key
    # pressed earlier would go to a page that is not listening yet
    page.wait_for_load_state("load")


def _context_page(browser: Browser, viewport: dict[str, int], **options: object) -> Page:
    context = browser.new_context(viewport=viewport, locale="zh-CN", **options)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def as_role(browser: Browser, site: Site) -> Iterator[AsRole]:
    """``as_role(Role.X)``: a fresh browser (a phone for a citizen) signed in as that role's user."""
    opened: list[Page] = []

    def open_as(role: Role, username: str | None = None) -> Page:
        phone = role is Role.CITIZEN
        page = _context_page(browser, PHONE if phone else DESK, is_mobile=phone, has_touch=phone)
        opened.append(page)
        sign_in(page, site.base, username or USERS[role])
        return page

    yield open_as
    for page in opened:
        page.context.close()


@pytest.fixture
def shoot(tmp_path: Path) -> Iterator[Shoot]:
    """``shoot(page, name)``: a full-page screenshot, kept in docs/screenshots with UPDATE_SCREENSHOTS=1."""
    update = os.environ.get("UPDATE_SCREENSHOTS") == "1"

    def take(page: Page, name: str) -> Path:
        target = (SCREENSHOTS if update else tmp_path) / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 5_000, f"{target} looks empty"
        return target

    yield take
