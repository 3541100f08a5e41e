"""Identifying commuters from travel records (大数据自动赋码), against a synthetic region with known truth."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest

from commutepass.commuters.service import add_commuter, identify
from commutepass.domain.clock import local_midnight
from commutepass.domain.facts import Source
from commutepass.domain.identity import parse_resident_id
from commutepass.kit.context import App
from commutepass.loads.service import COLUMNS, load_file
from commutepass.store import repositories as repo
from commutepass.synth import SynthResult, write_region
from tests.helpers import at, make_id, row_counts, write_csv

AS_OF = date(2021, 11, 28)
EFFECTIVE = local_midnight(AS_OF + timedelta(days=1))


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> SynthResult:
    return write_region(
        tmp_path_factory.mktemp("region"), people=400, days=28, start=date(2021, 11, 1), seed=3
    )


def _load(app: App, region: SynthResult) -> None:
    for kind in ("travel", "nat", "itinerary", "risk"):
        summary = load_file(app, kind, region.files[kind])
        assert summary.rejected == 0, f"{kind}: the synthetic region has no bad rows"


def _truth(app: App, region: SynthResult) -> dict[str, str | None]:
    """person_key → the class identification should find (None: not a commuter)."""
    with region.files["truth"].open(encoding="utf-8", newline="") as handle:
        return {
            app.vault.key(parse_resident_id(row["id_number"])): row["expected_class"] or None
            for row in csv.DictReader(handle)
        }


def _in_force(app: App, when: str | None = None) -> dict[str, repo.EntryRow]:
    moment = at(when) if when else EFFECTIVE
    with app.engine.connect() as conn:
        return {listed.person_key: listed.entry for listed in repo.entries_in_force(conn, moment)}


def test_identification_finds_the_commuters_of_a_region(app: App, region: SynthResult) -> None:
    _load(app, region)
    truth = _truth(app, region)

    summary = identify(app, AS_OF)

    found = _in_force(app)
    assert summary.added == len(found) > 0
    expected = {key for key, cls in truth.items() if cls}
    hits = expected & set(found)
    precision = len(hits) / len(found)
    recall = len(hits) / len(expected)
    assert precision >= 0.97, f"precision {precision:.3f}: {len(found) - len(hits)} false commuters"
    assert recall >= 0.95, f"recall {recall:.3f}: {len(expected) - len(hits)} commuters missed"
    same_class = sum(1 for key in hits if found[key].commuter_class.value == truth[key])
    assert same_class / len(hits) >= 0.9
    assert summary.by_class == {
        cls: sum(1 for e in found.values() if e.commuter_class.value == cls) for cls in summary.by_class
    }
    for entry in found.values():
        assert entry.source is Source.AUTO
        assert entry.valid_from == EFFECTIVE and entry.valid_to is None
        assert entry.evidence and " / " in entry.evidence  # zh / en
        assert entry.home_county is not None and entry.home_county[:2] in ("12", "13")
    assert _in_force(app, "2021-11-28T23:59:59") == {}  # entries apply from the next day


def test_identifying_the_same_day_again_changes_nothing(app: App, region: SynthResult) -> None:
    _load(app, region)
    first = identify(app, AS_OF)
    entries_before = row_counts(app.engine)["commuter_entries"]

    again = identify(app, AS_OF)

    assert (again.added, again.changed_class, again.revoked) == (0, 0, 0)
    assert again.unchanged == first.added
    assert row_counts(app.engine)["commuter_entries"] == entries_before


def _daily_commuter_travel(path: Path, number: str, first: date, last: date) -> Path:
    rows = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            rows.append((number, f"{day}T07:20", "enter", "road", "白庙检查站", "131082"))
            rows.append((number, f"{day}T19:10", "exit", "road", "白庙检查站", "131082"))
        day += timedelta(days=1)
    return write_csv(path, COLUMNS["travel"], rows)


def test_an_application_is_kept_in_its_grace_period_and_revoked_after(app: App) -> None:
    applicant = make_id("131082", date(1984, 4, 4), 7)
    add_commuter(app, applicant, since=date(2021, 11, 1), source=Source.APPLICATION, home_county="131082")
    # the 30-day grace period runs to 2021-12-01 00:00; there is no travel at all

    kept = identify(app, date(2021, 11, 29))  # changes from 11-30 00:00

    assert (kept.kept_in_grace, kept.revoked) == (1, 0)
    assert _in_force(app, "2021-11-30T12:00")

    revoked = identify(app, date(2021, 11, 30))  # changes from 12-01 00:00, the end of the grace period

    assert (revoked.kept_in_grace, revoked.revoked) == (0, 1)
    (entry,) = _in_force(app, "2021-11-30T23:59").values()  # history still answers
    assert entry.valid_to == local_midnight(date(2021, 12, 1))
    assert entry.end_reason is not None and "lapsed" in entry.end_reason
    assert _in_force(app, "2021-12-01T00:00") == {}
    assert row_counts(app.engine)["commuter_entries"] == 1  # closed, not deleted


def test_an_auto_entry_is_revoked_when_travel_stops_and_its_row_is_kept(app: App, tmp_path: Path) -> None:
    commuter = make_id("131082", date(1990, 1, 15), 8)
    load_file(
        app,
        "travel",
        _daily_commuter_travel(tmp_path / "travel.csv", commuter, date(2021, 11, 1), date(2021, 11, 26)),
    )

    added = identify(app, date(2021, 11, 26))
    assert (added.added, added.by_class) == (1, {"daily": 1})
    still = identify(app, date(2021, 12, 8))  # last entry 12 days ago: still a commuter
    assert (still.added, still.unchanged, still.revoked) == (0, 1, 0)

    lapsed = identify(app, date(2021, 12, 20))  # last entry 24 days ago

    assert lapsed.revoked == 1
    (entry,) = _in_force(app, "2021-12-20T12:00").values()
    assert entry.valid_from == local_midnight(date(2021, 11, 27))
    assert entry.valid_to == local_midnight(date(2021, 12, 21))
    assert entry.end_reason is not None and entry.end_reason.startswith("pattern lapsed as of 2021-12-20")
    assert "24 days" in entry.end_reason
    assert _in_force(app, "2021-12-21T00:00") == {}
    assert row_counts(app.engine)["commuter_entries"] == 1
