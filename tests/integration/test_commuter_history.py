"""The commuter database keeps its history: entries are closed, never overwritten, and it answers "as of"."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from commutepass.commuters.service import add_commuter, list_commuters
from commutepass.domain.clock import local_midnight
from commutepass.domain.errors import InputError
from commutepass.domain.facts import Source
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.policy import CommuterClass
from commutepass.kit.context import App
from commutepass.store import repositories as repo
from commutepass.store.tables import commuter_entries, people
from tests.helpers import at, make_id, masked, row_counts, with_wrong_check_digit

TIANJIN = make_id("120114", date(1987, 6, 5), 101)  # the letter's writer: lives in 天津, works in Beijing
YANJIAO = make_id("131082", date(1991, 9, 9), 102)


def _history(app: App, number: str) -> list[repo.EntryRow]:
    key = app.vault.key(parse_resident_id(number))
    with app.engine.connect() as conn:
        person_id = conn.execute(select(people.c.id).where(people.c.person_key == key)).scalar_one()
        return repo.entries_of(conn, person_id)


def _in_force(app: App, when: str) -> list[repo.ListedEntry]:
    with app.engine.connect() as conn:
        return repo.entries_in_force(conn, at(when))


def test_a_later_entry_supersedes_and_the_old_row_keeps_its_end(app: App) -> None:
    first = add_commuter(
        app, TIANJIN, since=date(2020, 3, 1), source=Source.HOTLINE, home_county="120114", reason="12345 call"
    )
    assert first["id"] == masked(TIANJIN)
    assert (first["source"], first["commuter_class"], first["valid_to"]) == ("hotline", "daily", None)
    assert first["valid_from"] == "2020-03-01T00:00:00+08:00"

    second = add_commuter(
        app,
        TIANJIN,
        since=date(2020, 3, 27),
        source=Source.MANUAL,
        commuter_class=CommuterClass.WEEKLY,
        home_county="120114",
    )
    assert (second["source"], second["commuter_class"]) == ("manual", "weekly")

    old, new = _history(app, TIANJIN)
    assert old.valid_to == local_midnight(date(2020, 3, 27)) == new.valid_from
    assert old.end_reason == "superseded by manual entry"
    assert (old.source, old.commuter_class, old.reason) == (Source.HOTLINE, CommuterClass.DAILY, "12345 call")
    assert new.valid_to is None and new.reason == "enrolled by manual"
    assert row_counts(app.engine)["commuter_entries"] == 2
    with app.engine.connect() as conn:
        ended_at = conn.execute(
            select(commuter_entries.c.ended_at).where(commuter_entries.c.id == old.id)
        ).scalar()
    assert ended_at is not None


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2020-02-29T23:59", []),
        ("2020-03-01T00:00", [("hotline", "daily")]),
        ("2020-03-26T23:59:59", [("hotline", "daily")]),
        ("2020-03-27T00:00", [("manual", "weekly")]),
        ("2020-03-27T09:00", [("manual", "weekly")]),  # what applied when the letter was posted
        ("2020-03-26T15:59:59+00:00", [("hotline", "daily")]),  # 23:59:59 on 03-26 in Beijing, given in UTC
        ("2020-03-26T16:00:00+00:00", [("manual", "weekly")]),  # 00:00 on 03-27 in Beijing
        ("2021-11-20T09:00", [("manual", "weekly")]),
    ],
)
def test_entries_in_force_as_of(app: App, when: str, expected: list[tuple[str, str]]) -> None:
    add_commuter(app, TIANJIN, since=date(2020, 3, 1), source=Source.HOTLINE)
    add_commuter(
        app, TIANJIN, since=date(2020, 3, 27), source=Source.MANUAL, commuter_class=CommuterClass.WEEKLY
    )

    found = _in_force(app, when)

    assert [(e.entry.source.value, e.entry.commuter_class.value) for e in found] == expected
    assert all(e.id_masked == masked(TIANJIN) for e in found)
    listed = list_commuters(app, at(when))
    assert [(e["source"], e["commuter_class"]) for e in listed] == expected
    assert all(e["id"] == masked(TIANJIN) for e in listed)


def test_list_commuters_shows_everyone_in_force_and_only_them(app: App) -> None:
    add_commuter(app, TIANJIN, since=date(2020, 3, 1), source=Source.HOTLINE, home_county="120114")
    add_commuter(app, YANJIAO, since=date(2020, 3, 10), source=Source.APPLICATION, home_county="131082")

    assert [e["id"] for e in list_commuters(app, at("2020-03-05T12:00"))] == [masked(TIANJIN)]
    both = list_commuters(app, at("2020-03-27T09:00"))
    assert [(e["id"], e["home_county"]) for e in both] == [
        (masked(TIANJIN), "120114"),
        (masked(YANJIAO), "131082"),
    ]
    assert all(e["valid_to"] is None for e in both)


@pytest.mark.parametrize("since", [date(2020, 3, 20), date(2020, 3, 27)])
def test_an_entry_starting_before_the_open_one_is_refused(app: App, since: date) -> None:
    add_commuter(app, TIANJIN, since=date(2020, 3, 27), source=Source.APPLICATION)

    with pytest.raises(InputError) as caught:
        add_commuter(app, TIANJIN, since=since, source=Source.MANUAL)

    assert caught.value.field == "since"
    assert "2020-03-27" in caught.value.en
    (only,) = _history(app, TIANJIN)
    assert only.valid_to is None and only.source is Source.APPLICATION


@pytest.mark.parametrize(
    ("county", "where"),
    [("130102", "石家庄"), ("370102", "济南"), ("110105", "北京")],
)
def test_a_home_county_outside_the_ring_area_is_refused(app: App, county: str, where: str) -> None:
    with pytest.raises(InputError) as caught:
        add_commuter(app, YANJIAO, since=date(2021, 11, 20), source=Source.APPLICATION, home_county=county)
    assert caught.value.field == "home_county"
    assert county in caught.value.en and where in caught.value.zh
    assert row_counts(app.engine)["commuter_entries"] == 0


def test_unknown_county_bad_id_and_auto_source_are_refused(app: App) -> None:
    with pytest.raises(InputError) as caught:
        add_commuter(app, YANJIAO, since=date(2021, 11, 20), source=Source.MANUAL, home_county="999999")
    assert caught.value.field == "home_county"
    with pytest.raises(InputError) as caught:
        add_commuter(app, with_wrong_check_digit(YANJIAO), since=date(2021, 11, 20), source=Source.MANUAL)
    assert caught.value.field == "id_number"
    with pytest.raises(InputError) as caught:
        add_commuter(app, YANJIAO, since=date(2021, 11, 20), source=Source.AUTO)
    assert caught.value.field == "source"
    counts = row_counts(app.engine)
    assert counts["commuter_entries"] == 0 and counts["people"] == 0
