"""Checkpoint checks against the store: swipes are recorded, and recorded entries change later decisions."""

from __future__ import annotations

import itertools
import json
from collections.abc import Generator
from datetime import date
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select

from commutepass.checks.service import CheckRequest, check, check_batch, preview
from commutepass.commuters.service import add_commuter
from commutepass.domain.decisions import Mode
from commutepass.domain.errors import InputError
from commutepass.domain.facts import Source
from commutepass.domain.identity import parse_resident_id
from commutepass.kit.context import App
from commutepass.loads.service import COLUMNS, load_file
from commutepass.store.tables import checks, people
from tests.helpers import at, make_id, masked, row_counts, with_wrong_check_digit, write_csv

FIRST = make_id("131082", date(1986, 8, 8), 201)  # commuter, checked twice
NO_ENTRY = make_id("131024", date(1979, 2, 2), 202)  # commuter, no entry recorded yet
BY_TRAVEL = make_id("120114", date(1993, 3, 3), 203)  # commuter, entered per the travel records
BEFORE_POLICY = make_id("131022", date(1982, 4, 4), 204)  # commuter, entered before 2021-11-17 only
VISITOR = make_id("130681", date(1970, 5, 5), 205)  # not in the commuter database
NEWCOMER = make_id("130602", date(1999, 9, 9), 206)  # nowhere in the store
COMMUTERS = (FIRST, NO_ENTRY, BY_TRAVEL, BEFORE_POLICY)


@pytest.fixture
def scene(app: App, tmp_path: Path) -> App:
    """Everyone has one negative NAT, sampled 2021-11-20 08:00 and reported 18:00 the same day."""
    for number in COMMUTERS:
        add_commuter(app, number, since=date(2021, 11, 1), source=Source.APPLICATION, home_county=number[:6])
    nats = [
        (n, "2021-11-20T08:00", "2021-11-20T18:00", "negative", "廊坊市人民医院")
        for n in (*COMMUTERS, VISITOR)
    ]
    load_file(app, "nat", write_csv(tmp_path / "nat.csv", COLUMNS["nat"], nats))
    passages = [
        (BY_TRAVEL, "2021-11-18T07:05", "enter", "road", "台湖检查站", "120114"),
        (BEFORE_POLICY, "2021-11-16T07:05", "enter", "road", "榆垡检查站", "131022"),
    ]
    load_file(app, "travel", write_csv(tmp_path / "travel.csv", COLUMNS["travel"], passages))
    return app


def _check(app: App, number: str, when: str, mode: Mode = Mode.ROAD, **extra: Any) -> dict[str, Any]:
    return check(app, CheckRequest(id_number=number, at=at(when), site="白庙检查站", mode=mode, **extra))


def _codes(result: dict[str, Any]) -> list[str]:
    return [r["code"] for r in result["reasons"]]


def _swipes(app: App) -> list[Any]:
    with app.engine.connect() as conn:
        return list(
            conn.execute(
                select(checks, people.c.person_key)
                .join(people, people.c.id == checks.c.person_id)
                .order_by(checks.c.id)
            )
        )


def test_a_check_is_recorded_as_a_swipe(scene: App) -> None:
    result = _check(scene, FIRST, "2021-11-21T07:30")

    assert result["decision"] == "allow"
    assert result["id"] == masked(FIRST)
    assert result["policy_version"] == "2021-11-17"
    (swipe,) = _swipes(scene)
    assert swipe.person_key == scene.vault.key(parse_resident_id(FIRST))
    assert swipe.at == at("2021-11-21T07:30")
    assert (swipe.site, swipe.mode, swipe.smartphone) == ("白庙检查站", "road", True)
    assert (swipe.decision, swipe.entered, swipe.policy_version) == ("allow", True, "2021-11-17")
    recorded = json.loads(swipe.reasons)
    assert "COMMUTER_FIRST_CHECK" in recorded and "NAT_ENTRY_VALID" in recorded


def test_preview_decides_without_a_swipe(scene: App) -> None:
    result = preview(scene, CheckRequest(FIRST, at("2021-11-21T07:30"), "白庙检查站", Mode.ROAD))
    assert result["decision"] == "allow"
    assert _swipes(scene) == []


def test_first_commuter_check_needs_48h_nat_then_14_days_suffice(scene: App) -> None:
    first = _check(scene, FIRST, "2021-11-21T07:30")  # NAT sampled 23.5 h before
    assert first["decision"] == "allow"
    assert _codes(first)[:2] == ["COMMUTER_FIRST_CHECK", "NAT_ENTRY_VALID"]

    later = _check(scene, FIRST, "2021-11-26T07:30")  # the same NAT, now 6 days old

    assert later["decision"] == "allow"
    assert "COMMUTER_NAT_VALID" in _codes(later)
    assert "COMMUTER_FIRST_CHECK" not in _codes(later)
    assert later["nat_valid_until"] == "2021-12-04T00:00:00+08:00"  # report date + 14 days
    assert [s.entered for s in _swipes(scene)] == [True, True]


def test_without_a_recorded_entry_a_commuter_is_on_the_first_check(scene: App) -> None:
    refused = _check(scene, NO_ENTRY, "2021-11-26T07:30")

    assert refused["decision"] == "refuse"
    assert _codes(refused)[:2] == ["COMMUTER_FIRST_CHECK", "NAT_ENTRY_EXPIRED"]
    # a refused check is no entry: the next try is still a first check
    assert _check(scene, NO_ENTRY, "2021-11-26T07:45")["decision"] == "refuse"
    assert [s.entered for s in _swipes(scene)] == [False, False]


def test_an_enter_row_in_the_travel_records_counts_as_an_entry(scene: App) -> None:
    result = _check(scene, BY_TRAVEL, "2021-11-26T07:30")
    assert result["decision"] == "allow"
    assert "COMMUTER_NAT_VALID" in _codes(result)


def test_an_entry_before_the_policy_took_effect_does_not_count(scene: App) -> None:
    result = _check(scene, BEFORE_POLICY, "2021-11-26T07:30")
    assert result["decision"] == "refuse"
    assert "COMMUTER_FIRST_CHECK" in _codes(result)


def test_a_visitor_needs_the_48h_nat_every_time(scene: App) -> None:
    assert _check(scene, VISITOR, "2021-11-21T07:30")["decision"] == "allow"
    later = _check(scene, VISITOR, "2021-11-26T07:30")
    assert later["decision"] == "refuse"
    assert "NAT_ENTRY_EXPIRED" in _codes(later)


def test_under_the_2020_policy_a_commuter_passes_and_others_observe(app: App) -> None:
    tianjin = make_id("120114", date(1987, 6, 5), 101)
    add_commuter(app, tianjin, since=date(2020, 3, 1), source=Source.HOTLINE, home_county="120114")

    commuter = _check(app, tianjin, "2020-03-27T09:00")
    before = _check(app, tianjin, "2020-02-28T09:00")  # not yet in the database

    assert (commuter["decision"], commuter["policy_version"]) == ("allow", "2020-02-14")
    assert "COMMUTER_ROUTINE_PASSAGE" in _codes(commuter)
    assert before["decision"] == "allow_quarantine"


def test_a_bad_request_is_refused_and_not_recorded(scene: App) -> None:
    with pytest.raises(InputError) as caught:
        _check(scene, with_wrong_check_digit(FIRST), "2021-11-21T07:30")
    assert caught.value.field == "id_number"
    with pytest.raises(InputError) as caught:
        check(scene, CheckRequest(FIRST, at("2021-11-21T07:30"), "  ", Mode.ROAD))
    assert caught.value.field == "site"
    assert _swipes(scene) == []


def test_check_batch_goes_in_file_order_and_reports_bad_rows(scene: App, tmp_path: Path) -> None:
    bad_id = with_wrong_check_digit(FIRST)
    path = write_csv(
        tmp_path / "checks.csv",
        ["id_number", "at", "site", "mode"],
        [
            (FIRST, "2021-11-21T07:30", "白庙检查站", "road"),  # row 2: first check, 48 h NAT
            (bad_id, "2021-11-22T07:30", "白庙检查站", "road"),  # row 3
            (FIRST, "22/11/2021 7:30", "白庙检查站", "road"),  # row 4
            (FIRST, "2021-11-26T07:30", "白庙检查站", "road"),  # row 5: counts the entry of row 2
            (VISITOR, "2021-11-26T07:30", "白庙检查站", "ship"),  # row 6
            (VISITOR, "2021-11-26T07:30", "西集检查站", "road"),  # row 7
            (NEWCOMER, "2021-11-26T08:00", "西集检查站", "road"),  # row 8: not in the store yet
            (NEWCOMER, "2021-11-26T08:05", "西集检查站", "road"),  # row 9
        ],
    )
    people_before = row_counts(scene.engine)["people"]

    lines = list(check_batch(scene, path))

    assert [line["row"] for line in lines] == [2, 3, 4, 5, 6, 7, 8, 9]
    errors = {line["row"]: line["error"]["field"] for line in lines if "error" in line}
    assert errors == {3: "id_number", 4: "at", 6: "mode"}
    assert all(line["error"]["en"] and line["error"]["zh"] for line in lines if "error" in line)
    assert masked(bad_id) in lines[1]["error"]["en"] and bad_id not in json.dumps(lines, ensure_ascii=False)
    decided = {line["row"]: line for line in lines if "error" not in line}
    assert decided[2]["decision"] == "allow" and "COMMUTER_FIRST_CHECK" in _codes(decided[2])
    assert decided[5]["decision"] == "allow" and "COMMUTER_NAT_VALID" in _codes(decided[5])
    assert decided[7]["decision"] == decided[8]["decision"] == decided[9]["decision"] == "refuse"
    assert "NAT_ENTRY_MISSING" in _codes(decided[9])
    newcomer = scene.vault.key(parse_resident_id(NEWCOMER))
    assert [(s.at, s.decision, s.person_key == newcomer) for s in _swipes(scene)] == [
        (at("2021-11-21T07:30"), "allow", False),
        (at("2021-11-26T07:30"), "allow", False),
        (at("2021-11-26T07:30"), "refuse", False),
        (at("2021-11-26T08:00"), "refuse", True),
        (at("2021-11-26T08:05"), "refuse", True),
    ]
    assert row_counts(scene.engine)["people"] == people_before + 1


def test_check_batch_keeps_the_swipes_made_before_the_reader_stops(scene: App, tmp_path: Path) -> None:
    rows = [(VISITOR, f"2021-11-21T07:{n:02d}", "白庙检查站", "road") for n in range(7)]
    path = write_csv(tmp_path / "checks.csv", ["id_number", "at", "site", "mode"], rows)
    batch = cast(Generator[dict[str, Any], None, None], check_batch(scene, path, commit_every=3))

    taken = list(itertools.islice(batch, 4))
    batch.close()

    assert [line["decision"] for line in taken] == ["allow"] * 4
    assert [s.at for s in _swipes(scene)] == [at(f"2021-11-21T07:{n:02d}") for n in range(4)]
