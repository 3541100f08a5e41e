"""The analyst's aggregates and the admin's risk-area changes, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from commutepass.checks.service import CheckRequest, check, status_of
from commutepass.commuters.service import add_commuter
from commutepass.domain.decisions import Mode
from commutepass.domain.errors import InputError
from commutepass.domain.facts import Source
from commutepass.domain.policy import CommuterClass
from commutepass.kit.context import App
from commutepass.loads.service import COLUMNS, load_file
from commutepass.oversight import dashboard
from commutepass.oversight.risk_areas import add_risk_area, end_risk_area, list_risk_areas
from tests.helpers import at, make_id, write_csv

COMMUTER = make_id("131082", date(1986, 8, 8), 301)
VISITOR = make_id("130681", date(1970, 5, 5), 302)  # no NAT: refused
WEEKLY = make_id("120104", date(1990, 1, 1), 303)


def _swipe(app: App, number: str, when: str, site: str) -> str:
    result = check(app, CheckRequest(id_number=number, at=at(when), site=site, mode=Mode.ROAD))
    return str(result["decision"])


@pytest.fixture
def swiped(app: App, tmp_path: Path) -> App:
    add_commuter(app, COMMUTER, since=date(2021, 11, 1), source=Source.APPLICATION, home_county="131082")
    add_commuter(
        app,
        WEEKLY,
        since=date(2021, 11, 20),
        source=Source.HOTLINE,
        commuter_class=CommuterClass.WEEKLY,
        home_county="120104",
    )
    nats = [(COMMUTER, "2021-11-20T08:00", "2021-11-20T18:00", "negative", "廊坊市人民医院")]
    load_file(app, "nat", write_csv(tmp_path / "nat.csv", COLUMNS["nat"], nats))
    assert _swipe(app, COMMUTER, "2021-11-22T07:01", "白庙检查站") != "refuse"
    assert _swipe(app, COMMUTER, "2021-11-22T07:04", "白庙检查站") != "refuse"
    assert _swipe(app, COMMUTER, "2021-11-22T07:06", "白庙检查站") != "refuse"
    assert _swipe(app, COMMUTER, "2021-11-22T08:30", "京哈高速白鹿收费站") != "refuse"
    assert _swipe(app, VISITOR, "2021-11-22T07:02", "白庙检查站") == "refuse"
    assert _swipe(app, VISITOR, "2021-11-21T23:59", "白庙检查站") == "refuse"  # the day before
    return app


def test_entries_are_counted_per_site_per_five_minutes_in_beijing_time(swiped: App) -> None:
    sites = dashboard.entries_per_site(swiped, date(2021, 11, 22))
    assert [s.site for s in sites] == ["白庙检查站", "京哈高速白鹿收费站"]
    baimiao = {moment.strftime("%H:%M"): n for moment, n in sites[0].counts.items()}
    # 07:01 and 07:04 share the 07:00 bucket, 07:06 is in 07:05; the refused swipe is not an entry
    assert baimiao == {"07:00": 2, "07:05": 1}
    assert {m.strftime("%H:%M"): n for m, n in sites[1].counts.items()} == {"08:30": 1}
    assert dashboard.entries_per_site(swiped, date(2021, 11, 23)) == []


def test_totals_and_refusals_by_reason(swiped: App) -> None:
    day = date(2021, 11, 22)
    totals = dashboard.totals(swiped, day, day)
    assert (totals.checks, totals.entered, totals.refused) == (5, 4, 1)
    both_days = dashboard.totals(swiped, date(2021, 11, 21), day)
    assert (both_days.checks, both_days.refused) == (6, 2)
    refusals = {r.code: r.count for r in dashboard.refusals_by_reason(swiped, date(2021, 11, 21), day)}
    assert refusals["NAT_ENTRY_MISSING"] == 2


def test_badge_holders_per_day_by_class(swiped: App) -> None:
    holders = dashboard.badge_holders(swiped, date(2021, 10, 31), date(2021, 11, 21))
    by_day = {h.day: (h.daily, h.weekly) for h in holders}
    assert by_day[date(2021, 10, 31)] == (0, 0)
    assert by_day[date(2021, 11, 1)] == (1, 0)
    assert by_day[date(2021, 11, 19)] == (1, 0)
    assert by_day[date(2021, 11, 20)] == (1, 1)
    assert by_day[date(2021, 11, 21)] == (1, 1)
    assert dashboard.latest_day(swiped, at("2021-11-30T00:00")) == date(2021, 11, 22)
    assert dashboard.latest_day(swiped, at("2021-11-22T00:00")) == date(2021, 11, 21)
    assert dashboard.latest_day(swiped, at("2021-11-01T00:00")) is None


def test_the_analyst_view_suppresses_small_cells_with_no_total_giving_one_back(
    swiped: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 6 on the analyst page: the same suppression as ``GET /v1/stats``."""
    first, day = date(2021, 11, 21), date(2021, 11, 22)
    # k = 1 suppresses nothing: the view is the raw figures
    monkeypatch.setattr(swiped.settings, "analyst_min_cell", 1)
    plain = dashboard.view(swiped, first, day)
    assert (plain.totals.checks, plain.totals.entered, plain.totals.refused, plain.totals.documents) == (
        6,
        4,
        2,
        0,
    )
    assert [s.site for s in plain.sites] == ["白庙检查站", "京哈高速白鹿收费站"]
    assert {r.code: r.count for r in plain.refusals}["NAT_ENTRY_MISSING"] == 2
    assert {h.day: (h.daily, h.weekly) for h in plain.holders}[day] == (1, 1)

    monkeypatch.setattr(swiped.settings, "analyst_min_cell", 5)
    shown = dashboard.view(swiped, first, day)
    assert shown.min_cell == 5
    # entered 4 and refused 2 are too few; the checks (6) stay: 6 - nothing shown says nothing
    assert (shown.totals.checks, shown.totals.entered, shown.totals.refused, shown.totals.documents) == (
        6,
        None,
        None,
        0,
    )
    # every 5-minute cell holds fewer than five people; both sites are still listed
    assert sorted(s.site for s in shown.sites) == ["京哈高速白鹿收费站", "白庙检查站"]
    assert all(n is None for s in shown.sites for n in s.counts.values())
    assert all(r.count is None for r in shown.refusals) and shown.refusals
    assert {h.day: (h.daily, h.weekly) for h in shown.holders}[day] == (None, None)
    # one day: the day's entries table withheld its total, so the "entered" total is withheld too
    one_day = dashboard.view(swiped, day, day)
    assert one_day.totals.entered is None and one_day.totals.checks == 5


def test_an_admin_adds_and_ends_a_case_period_and_status_follows(app: App, tmp_path: Path) -> None:
    person = make_id("131082", date(1986, 8, 8), 304)
    load_file(
        app,
        "itinerary",
        write_csv(tmp_path / "it.csv", COLUMNS["itinerary"], [(person, "2021-11-20", "131082")]),
    )
    before = status_of(app, person, at("2021-11-22T09:00"))
    add_risk_area(app, "131082", "case", date(2021, 11, 19), None, actor="admin1")
    areas = list_risk_areas(app)
    assert [(a.county, a.level.value, a.start, a.end, a.changed_by) for a in areas] == [
        ("131082", "case", date(2021, 11, 19), None, "admin:admin1")
    ]
    assert "三河市" in areas[0].name
    time.sleep(0.01)
    during = status_of(app, person, at("2021-11-22T09:00"))
    assert (before["popup"], during["popup"]) != (None, None)
    assert during["popup"] is not None and before["popup"] is None
    end_risk_area(app, areas[0].id, date(2021, 11, 19), actor="admin2")
    [ended] = list_risk_areas(app)
    assert (ended.end, ended.changed_by) == (date(2021, 11, 19), "admin:admin2")
    # still a trip within the case period (the 20th is after the end, so no longer)
    after = status_of(app, person, at("2021-11-22T09:00"))
    assert after["popup"] is None


def test_admin_input_errors_say_which_field(app: App) -> None:
    with pytest.raises(InputError) as county:
        add_risk_area(app, "999999", "case", date(2021, 11, 19), None, actor="a")
    assert county.value.field == "county"
    with pytest.raises(InputError) as level:
        add_risk_area(app, "131082", "outbreak", date(2021, 11, 19), None, actor="a")
    assert level.value.field == "level"
    with pytest.raises(InputError) as order:
        add_risk_area(app, "131082", "case", date(2021, 11, 19), date(2021, 11, 1), actor="a")
    assert order.value.field == "end"
    with pytest.raises(InputError) as missing:
        end_risk_area(app, 12345, date(2021, 11, 19), actor="a")
    assert missing.value.field == "id"
    assert list_risk_areas(app) == []
