"""The command line as a user runs it: a real ``commutepass`` process per command.

Every command gets ``--data-dir`` (a temporary directory) and ``COMMUTEPASS_SECRET``; output is
read as the contract says: one JSON object per line.
"""

from __future__ import annotations

import csv
import re
import shlex
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import ric

from tests.e2e.support import (
    Call,
    CliResult,
    masked,
    resident_id,
    run_cli,
    run_many,
    with_wrong_check_digit,
    write_csv,
)

pytestmark = pytest.mark.e2e

# --- people ---------------------------------------------------------------------------------------

COMMUTER = resident_id("131082", date(1990, 1, 1), 12)  # 三河 (Langfang): ring area
VISITOR = resident_id("130681", date(1985, 6, 15), 21)  # 涿州 (Baoding), not in the database
POSITIVE = resident_id("120101", date(1978, 3, 3), 33)  # 天津和平区, a positive test
RISKY = resident_id("130802", date(1992, 9, 9), 44)  # 承德双桥区, was in 承德县 (a case county)
DAILY = resident_id("131082", date(1988, 8, 8), 55)  # travel records of a daily road commuter
TOURIST = resident_id("130102", date(1970, 1, 20), 66)  # one trip from 石家庄
INFANT = resident_id("131082", date(2020, 5, 1), 77)
ELDER = resident_id("131024", date(1950, 2, 2), 88)  # 香河, no smartphone

AT = "2021-11-22T09:00"
"""The moment most checks of the shared region happen (no offset: Beijing time)."""

CONTRACT_STATUS = {"id", "at", "policy_version", "color", "popup", "commuter_badge", "commuter_class"}
CONTRACT_STATUS |= {"nat_valid_until", "reasons", "explanation"}
CONTRACT_CHECK = CONTRACT_STATUS | {"decision", "site", "mode", "status_reasons", "to_check_by_hand"}


def codes(line: dict[str, Any], key: str = "reasons") -> list[str]:
    return [r["code"] for r in line[key]]


def assert_status_contract(line: dict[str, Any]) -> None:
    missing = CONTRACT_STATUS - line.keys()
    assert not missing, f"missing {missing} in {line}"
    assert line["color"] in ("green", "yellow", "red")
    assert line["commuter_class"] in (None, "daily", "weekly")
    assert isinstance(line["commuter_badge"], bool)
    assert line["popup"] is None or {"code", "zh", "en"} <= line["popup"].keys()
    assert line["reasons"], "every answer carries at least one reason"
    for reason in line["reasons"]:
        assert re.fullmatch(r"[A-Z0-9_]+", reason["code"])
        assert reason["zh"] and reason["en"]
    assert set(line["explanation"]) == {"zh", "en"}
    assert re.search(r"[\u4e00-\u9fff]", line["explanation"]["zh"]), "the Chinese text is Chinese"
    assert line["explanation"]["en"].startswith("Policy in force")
    assert re.fullmatch(r"\d{3}\*{11}[\dX]{4}", line["id"]), "the ID number is shown masked"


def assert_check_contract(line: dict[str, Any]) -> None:
    missing = CONTRACT_CHECK - line.keys()
    assert not missing, f"missing {missing} in {line}"
    assert line["decision"] in ("allow", "allow_report", "allow_quarantine", "documents", "refuse")
    assert line["mode"] in ("road", "rail", "air")
    for reason in (*line["reasons"], *line["to_check_by_hand"]):
        assert re.fullmatch(r"[A-Z0-9_]+", reason["code"]) and reason["zh"] and reason["en"]
    # the status part of a check follows the status contract, its reasons under status_reasons
    assert_status_contract({**line, "reasons": line["status_reasons"]})


# --- the shared region: every kind loaded once from small CSV files -----------------------------


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A data directory with travel, NAT (two files in one command), itinerary and risk loaded."""
    root = tmp_path_factory.mktemp("region")
    data = root / "data"
    files = root / "files"
    files.mkdir()
    travel_rows = []
    for day in range(1, 27):
        when = date(2021, 11, day)
        if when.weekday() < 5:
            travel_rows.append([DAILY, f"{when}T07:30", "enter", "road", "白庙检查站", "131082"])
            travel_rows.append([DAILY, f"{when}T18:30", "exit", "road", "白庙检查站", "131082"])
    travel_rows.append([TOURIST, "2021-11-10T11:00", "enter", "rail", "石家庄站", "130102"])
    travel_rows.append([TOURIST, "2021-11-12T15:00", "sideways", "rail", "石家庄站", "130102"])
    travel = write_csv(
        files / "travel.csv", ("id_number", "event_time", "direction", "mode", "site", "county"), travel_rows
    )
    nat_header = ("id_number", "sampled_at", "reported_at", "result", "lab")
    nat_a = write_csv(
        files / "nat_a.csv",
        nat_header,
        [
            [VISITOR, "2021-11-21T10:00", "2021-11-21T18:00", "negative", "保定市第一医院"],
            [POSITIVE, "2021-11-20T09:00", "2021-11-20T21:00", "positive", "天津金域医学检验"],
            ["123", "2021-11-20T09:00", "2021-11-20T21:00", "negative", "lab"],
        ],
    )
    nat_b = write_csv(
        files / "nat_b.csv",
        nat_header,
        [
            [RISKY, "2021-11-21T08:00", "2021-11-21T20:00", "negative", "承德市医院"],
            [DAILY, "2021-11-26T09:00", "2021-11-26T21:00", "negative", "廊坊市人民医院"],
            [ELDER, "2021-11-21T11:00", "2021-11-21T19:00", "negative", "廊坊市人民医院"],
        ],
    )
    itinerary = write_csv(
        files / "itinerary.csv",
        ("id_number", "date", "county"),
        [
            [RISKY, "2021-11-20", "130821"],
            [RISKY, "2021-11-21", "130802"],
            [VISITOR, "2021-11-21", "130681"],
            [VISITOR, "2021-11-21", "999999"],
        ],
    )
    risk = write_csv(
        files / "risk.csv",
        ("county", "level", "start", "end"),
        [
            ["130821", "case", "2021-11-15", ""],
            ["152501", "border_port", "2020-01-01", ""],
            ["120116", "extreme", "2021-11-01", ""],
        ],
    )
    loads = {
        "travel": run_cli(data, "load", "travel", str(travel)),
        "nat": run_cli(data, "load", "nat", str(nat_a), str(nat_b)),
        "itinerary": run_cli(data, "load", "itinerary", str(itinerary)),
        "risk": run_cli(data, "load", "risk", str(risk)),
    }
    return {"data": data, "files": files, "loads": loads}


def test_load_each_kind_reports_rows_added_and_rejects(region: dict[str, Any]) -> None:
    loads: dict[str, CliResult] = region["loads"]
    expected = {  # kind: [(rows, added, rejected)] per file
        "travel": [(42, 41, 1)],
        "nat": [(3, 2, 1), (3, 3, 0)],
        "itinerary": [(4, 3, 1)],
        "risk": [(3, 2, 1)],
    }
    for kind, per_file in expected.items():
        lines = loads[kind].lines
        assert [(x["rows"], x["added"], x["rejected"]) for x in lines] == per_file, kind
        assert all(x["kind"] == kind and x["duplicate"] == 0 for x in lines)
        assert "rows" in loads[kind].stderr, "a human summary goes to stderr"
        for line in lines:
            rejects = line["rejects_file"]
            if line["rejected"]:
                with Path(rejects).open(encoding="utf-8") as handle:
                    rows = list(csv.DictReader(handle))
                assert len(rows) == 1 and int(rows[0]["row"]) >= 2 and rows[0]["reason"]
            else:
                assert rejects is None
    # the reject names the row (spreadsheet numbering: the header is row 1) and the field
    with (region["files"] / "nat_a.csv.rejects.csv").open(encoding="utf-8") as handle:
        (reject,) = list(csv.DictReader(handle))
    assert (reject["row"], reject["field"]) == ("4", "id_number")


def test_loading_the_same_file_again_adds_nothing(region: dict[str, Any]) -> None:
    again = run_cli(region["data"], "load", "risk", str(region["files"] / "risk.csv")).line
    assert (again["rows"], again["added"], again["duplicate"], again["rejected"]) == (3, 0, 2, 1)


def test_status_single_has_contract_fields_and_reads_offsets(region: dict[str, Any]) -> None:
    # 01:00 UTC is 09:00 in Beijing: the answer is given in Beijing time
    line = run_cli(region["data"], "status", VISITOR, "--at", "2021-11-22T01:00:00+00:00").line
    assert_status_contract(line)
    assert line["id"] == masked(VISITOR)
    assert line["at"] == "2021-11-22T09:00:00+08:00"
    assert line["policy_version"] == "2021-11-17"
    assert (line["color"], line["popup"], line["commuter_badge"], line["commuter_class"]) == (
        "green",
        None,
        False,
        None,
    )
    assert codes(line) == ["CODE_GREEN", "NOT_IN_COMMUTER_DB"]
    # an ordinary traveller's countdown is the 48 h entry window from sampling (11-21 10:00)
    assert line["nat_valid_until"] == "2021-11-23T10:00:00+08:00"
    assert VISITOR not in line["explanation"]["zh"] + line["explanation"]["en"]


def test_check_single_allows_a_visitor_with_a_48h_test(region: dict[str, Any]) -> None:
    line = run_cli(
        region["data"], "check", VISITOR, "--at", AT, "--site", "琉璃河检查站", "--mode", "road"
    ).line
    assert_check_contract(line)
    assert line["decision"] == "allow"
    assert codes(line) == ["NAT_ENTRY_VALID"]
    assert (line["site"], line["mode"], line["at"]) == ("琉璃河检查站", "road", "2021-11-22T09:00:00+08:00")
    assert "放行" in line["explanation"]["zh"] and "allowed" in line["explanation"]["en"]


def test_check_at_an_airport_and_on_three_proofs_at_a_rail_station(region: dict[str, Any]) -> None:
    air = run_cli(
        region["data"], "check", VISITOR, "--at", AT, "--site", "天津滨海国际机场", "--mode", "air"
    ).line
    assert_check_contract(air)
    assert (air["decision"], air["mode"]) == ("allow", "air")
    # four days after the test (sampled 11-21): no 48 h test, but within 14 days
    later = "2021-11-25T09:00"
    rail = run_cli(
        region["data"], "check", VISITOR, "--at", later, "--site", "涿州东站", "--mode", "rail"
    ).line
    assert_check_contract(rail)
    assert rail["decision"] == "documents"
    assert "RAIL_THREE_PROOFS" in codes(rail)
    assert codes(rail, "to_check_by_hand") == [
        "CHECK_RING_COMMUTE",
        "CHECK_WORK_PROOF",
        "CHECK_PAPER_NAT",
        "CHECK_GREEN_CODE",
    ]
    road = run_cli(
        region["data"], "check", VISITOR, "--at", later, "--site", "琉璃河检查站", "--mode", "road"
    ).line
    assert road["decision"] == "refuse"
    plane = run_cli(
        region["data"], "check", VISITOR, "--at", later, "--site", "天津滨海国际机场", "--mode", "air"
    ).line
    assert plane["decision"] == "refuse" and "RAIL_THREE_PROOFS" not in codes(plane)


def test_check_single_refuses_after_a_case_county(region: dict[str, Any]) -> None:
    line = run_cli(region["data"], "check", RISKY, "--at", AT, "--site", "承德南站", "--mode", "rail").line
    assert_check_contract(line)
    assert line["decision"] == "refuse"
    assert line["color"] == "yellow"
    assert line["popup"]["code"] == "POPUP_TRAVEL_CASE_COUNTY"
    assert "REFUSE_RISK_TRAVEL" in codes(line)
    assert "TRAVEL_CASE_COUNTY" in codes(line, "status_reasons")


def test_status_batch_decides_good_rows_and_reports_bad_ones(region: dict[str, Any]) -> None:
    batch = write_csv(
        region["files"] / "status_batch.csv",
        ("id_number", "at"),
        [
            [VISITOR, AT],
            ["12345", AT],
            [VISITOR, "2021-13-45T99:00"],
            [POSITIVE, AT],
            [with_wrong_check_digit(VISITOR), AT],
            [VISITOR, "2019-01-01T00:00"],  # before any policy
            [ELDER, "2021-11-22"],  # a bare date means 00:00
        ],
    )
    result = run_cli(region["data"], "status", "--batch", str(batch))
    lines = result.lines
    assert [x["row"] for x in lines] == [2, 3, 4, 5, 6, 7, 8], "one line per row, in file order"
    errors = {x["row"]: x["error"] for x in lines if "error" in x}
    assert {row: e["field"] for row, e in errors.items()} == {
        3: "id_number",
        4: "at",
        6: "id_number",
        7: "at",
    }
    assert all(e["en"] and e["zh"] for e in errors.values())
    assert with_wrong_check_digit(VISITOR) not in result.stdout, "raw ID numbers never echo back"
    decided = {x["row"]: x for x in lines if "error" not in x}
    for line in decided.values():
        assert_status_contract(line)
    assert decided[2]["color"] == "green"
    assert decided[5]["color"] == "red" and codes(decided[5])[0] == "NAT_POSITIVE"
    assert decided[8]["at"] == "2021-11-22T00:00:00+08:00"


def test_check_batch_uses_smartphone_and_companion_columns(region: dict[str, Any]) -> None:
    batch = write_csv(
        region["files"] / "check_batch.csv",
        ("id_number", "at", "site", "mode", "smartphone", "companions"),
        [
            [INFANT, AT, "白庙检查站", "road", "true", f"{VISITOR}; {ELDER}"],
            [ELDER, AT, "西集检查站", "road", "false", ""],
            [VISITOR, "2020-03-01T09:00", "琉璃河检查站", "road", "true", ""],
            [POSITIVE, AT, "台湖检查站", "road", "yes", ""],
            [VISITOR, AT, "琉璃河检查站", "plane", "true", ""],
            [VISITOR, AT, "琉璃河检查站", "road", "maybe", ""],
            [INFANT, AT, "白庙检查站", "road", "true", "1234"],
        ],
    )
    lines = run_cli(region["data"], "check", "--batch", str(batch)).lines
    assert [x["row"] for x in lines] == [2, 3, 4, 5, 6, 7, 8]
    infant, elder, in_2020, positive = lines[:4]
    for line in (infant, elder, in_2020, positive):
        assert_check_contract(line)
    assert infant["decision"] == "allow"
    assert codes(infant) == ["INFANT_COMPANIONS_CHECKED", "COMPANION_NAT_VALID", "COMPANION_NAT_VALID"]
    assert codes(infant, "to_check_by_hand") == ["CHECK_COMPANIONS"]
    assert elder["decision"] == "allow" and codes(elder)[0] == "NO_SMARTPHONE_NAT_ONLY"
    assert "CHECK_PAPER_NAT" in codes(elder, "to_check_by_hand")
    # the 2020 policy: 14 days of observation for someone outside the commuter database
    assert (in_2020["policy_version"], in_2020["decision"]) == ("2020-02-14", "allow_quarantine")
    assert "OBSERVATION_14D" in codes(in_2020)
    assert (positive["decision"], positive["color"]) == ("refuse", "red")
    assert "REFUSE_POSITIVE" in codes(positive)
    assert [x["error"]["field"] for x in lines[4:]] == ["mode", "smartphone", "companions"]


def test_identify_then_list_and_badge(region: dict[str, Any]) -> None:
    data = region["data"]
    summary = run_cli(data, "identify", "--as-of", "2021-11-28").line
    assert summary["as_of"] == "2021-11-28" and summary["window_days"] == 28
    assert summary["people_seen"] == 2
    assert (summary["added"], summary["by_class"]) == (1, {"daily": 1})
    before, after, status_result = run_many(
        [
            Call(data, ("commuters", "list", "--as-of", "2021-11-28T23:59")),
            Call(data, ("commuters", "list", "--as-of", "2021-11-29")),
            Call(data, ("status", DAILY, "--at", "2021-11-29T07:30")),
        ]
    )
    # entries change from the next day, 00:00 Beijing time
    assert before.lines == []
    (entry,) = after.lines
    assert entry["id"] == masked(DAILY)
    assert (entry["source"], entry["commuter_class"], entry["valid_to"]) == ("auto", "daily", None)
    assert entry["valid_from"] == "2021-11-29T00:00:00+08:00"
    assert entry["evidence"] and "workdays" in entry["evidence"]
    status = status_result.line
    assert_status_contract(status)
    assert (status["commuter_badge"], status["commuter_class"]) == (True, "daily")
    assert "BADGE_SHOWN" in codes(status)
    # the commuter's countdown is 14 days from the report date (11-26): 12-10 00:00
    assert status["nat_valid_until"] == "2021-12-10T00:00:00+08:00"


# --- batch order: each check is recorded before the next is decided -------------------------------


def _commuters_with_a_test(root: Path, *names: str) -> list[Path]:
    """Fresh data directories: COMMUTER enrolled from 11-01, negative test sampled 11-19 08:00."""
    nat = write_csv(
        root / "commuter-nat.csv",
        ("id_number", "sampled_at", "reported_at", "result", "lab"),
        [[COMMUTER, "2021-11-19T08:00", "2021-11-19T20:00", "negative", "廊坊市人民医院"]],
    )
    dirs = [root / name for name in names]
    for loaded in run_many([Call(d, ("load", "nat", str(nat))) for d in dirs]):
        assert loaded.line["added"] == 1
    enrol = ("commuters", "add", COMMUTER, "--since", "2021-11-01", "--source", "manual")
    for added in run_many([Call(d, enrol) for d in dirs]):
        assert added.line["source"] == "manual"
    return dirs


def test_batch_checks_are_recorded_in_file_order(tmp_path: Path) -> None:
    header = ("id_number", "at", "site", "mode", "smartphone", "companions")
    ordered, alone = _commuters_with_a_test(tmp_path, "ordered", "alone")
    batch = write_csv(
        tmp_path / "ordered.csv",
        header,
        [
            [COMMUTER, "2021-11-20T07:00", "白庙检查站", "road", "true", ""],
            ["13108219900101", "2021-11-22T07:00", "白庙检查站", "road", "true", ""],
            [COMMUTER, "20/11/2021 07:00", "白庙检查站", "road", "true", ""],
            [COMMUTER, "2021-11-25T07:00", "白庙检查站", "road", "true", ""],
        ],
    )
    only_second = write_csv(
        tmp_path / "alone.csv", header, [[COMMUTER, "2021-11-25T07:00", "白庙检查站", "road", "true", ""]]
    )
    both, single = run_many(
        [Call(ordered, ("check", "--batch", str(batch))), Call(alone, ("check", "--batch", str(only_second)))]
    )
    first, bad_id, bad_time, second = both.lines
    assert (bad_id["row"], bad_id["error"]["field"]) == (3, "id_number")
    assert (bad_time["row"], bad_time["error"]["field"]) == (4, "at")
    # the first check under the 2021-11-17 policy needs the 48 h test: sampled 11-19 08:00
    assert (first["row"], first["decision"]) == (2, "allow")
    assert codes(first) == ["COMMUTER_FIRST_CHECK", "NAT_ENTRY_VALID"]
    assert first["commuter_badge"] is True and first["commuter_class"] == "daily"
    # the first check was recorded as an entry, so the second needs only the 14-day test
    assert (second["row"], second["decision"]) == (5, "allow")
    assert "COMMUTER_NAT_VALID" in codes(second)
    assert "COMMUTER_FIRST_CHECK" not in codes(second)

    # the same second check alone, with no first check recorded, is a first check and is refused
    refused = single.line
    assert (refused["row"], refused["decision"]) == (2, "refuse")
    assert {"COMMUTER_FIRST_CHECK", "NAT_ENTRY_EXPIRED"} <= set(codes(refused))

    # a single check is recorded too: once the 11-20 entry is on record, 11-25 passes
    road = ("--site", "白庙检查站", "--mode", "road")
    entry = run_cli(alone, "check", COMMUTER, "--at", "2021-11-20T07:00", *road).line
    assert entry["decision"] == "allow"
    later = run_cli(alone, "check", COMMUTER, "--at", "2021-11-25T08:00", *road).line
    assert later["decision"] == "allow" and "COMMUTER_NAT_VALID" in codes(later)


# --- the commuter database ------------------------------------------------------------------------


def test_commuters_add_then_list_before_and_after(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli(data, "commuters", "list", "--as-of", "2021-11-15").lines == []
    added = run_cli(
        data,
        "commuters",
        "add",
        COMMUTER,
        "--since",
        "2021-11-01",
        "--source",
        "hotline",
        "--class",
        "weekly",
    ).line
    assert added["id"] == masked(COMMUTER)
    assert (added["source"], added["commuter_class"]) == ("hotline", "weekly")
    assert (added["valid_from"], added["valid_to"]) == ("2021-11-01T00:00:00+08:00", None)
    (listed,) = run_cli(data, "commuters", "list", "--as-of", "2021-11-15").lines
    assert listed["person_key"] == added["person_key"] and listed["source"] == "hotline"
    assert COMMUTER not in listed["person_key"], "people are stored under a pseudonym"
    earlier, duplicate = run_many(
        [
            Call(data, ("commuters", "list", "--as-of", "2021-10-31T23:59:59")),
            Call(data, ("commuters", "add", COMMUTER, "--since", "2021-11-01", "--source", "manual"), 2),
        ]
    )
    assert earlier.lines == [], "the entry starts at 00:00 on its first day"
    assert duplicate.line["error"]["field"] == "since"


# --- errors and exit codes ------------------------------------------------------------------------


BAD_COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "bad-id": (
        ("check", with_wrong_check_digit(VISITOR), "--at", AT, "--site", "x", "--mode", "road"),
        "id_number",
    ),
    "bad-time": (("status", VISITOR, "--at", "yesterday"), "at"),
    "bad-mode": (("check", VISITOR, "--at", AT, "--site", "x", "--mode", "plane"), "mode"),
    "no-id": (("status",), "id_number"),
    "bad-kind": (("load", "vaccines", "x.csv"), "kind"),
    "missing-batch": (("check", "--batch", "no-such-batch.csv"), "batch"),
    "bad-source": (("commuters", "add", VISITOR, "--since", "2021-11-01", "--source", "friend"), "source"),
}


@pytest.fixture(scope="module")
def bad_commands(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliResult]:
    """Every bad command once, side by side (each in its own data directory)."""
    root = tmp_path_factory.mktemp("bad")
    calls = [Call(root / name, args, None, root) for name, (args, _field) in BAD_COMMANDS.items()]
    return dict(zip(BAD_COMMANDS, run_many(calls), strict=True))


@pytest.mark.parametrize("name", list(BAD_COMMANDS))
def test_a_bad_single_command_prints_a_json_error_and_exits_non_zero(
    bad_commands: dict[str, CliResult], name: str
) -> None:
    result = bad_commands[name]
    assert result.returncode == 2, str(result)
    error = result.line["error"]
    assert error["field"] == BAD_COMMANDS[name][1]
    assert error["en"] and re.search(r"[\u4e00-\u9fff]", error["zh"])
    assert "Traceback" not in result.stderr
    assert with_wrong_check_digit(VISITOR) not in result.stdout, "raw ID numbers never echo back"


def test_load_of_a_missing_file_reports_it_and_loads_the_others(tmp_path: Path) -> None:
    present = write_csv(
        tmp_path / "nat.csv",
        ("id_number", "sampled_at", "reported_at", "result", "lab"),
        [[VISITOR, "2021-11-21T10:00", "2021-11-21T18:00", "negative", "lab"]],
    )
    missing = tmp_path / "not-there.csv"
    result = run_cli(tmp_path / "data", "load", "nat", str(missing), str(present), expect=1)
    failed, loaded = result.lines
    assert failed["file"] == str(missing) and failed["error"]["en"] == "no such file"
    assert failed["error"]["zh"]
    assert (loaded["file"], loaded["added"]) == (str(present), 1)


def test_a_batch_row_with_a_time_out_of_range_is_an_error_line(tmp_path: Path) -> None:
    batch = write_csv(
        tmp_path / "batch.csv", ("id_number", "at"), [[VISITOR, "9999-12-31T23:59:59-12:00"], [VISITOR, AT]]
    )
    result = run_cli(tmp_path / "data", "status", "--batch", str(batch), expect=None)
    assert "Traceback" not in result.stderr
    out_of_range, decided = result.lines
    assert (out_of_range["row"], out_of_range["error"]["field"]) == (2, "at")
    assert (decided["row"], decided["color"]) == (3, "green")


# --- the demo -------------------------------------------------------------------------------------


def test_demo_without_serving_prints_samples_that_the_cli_reproduces(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    result = run_cli(data, "demo", "--no-serve", "--people", "600")
    out = result.stdout
    assert "Serving the API" not in out
    assert re.search(r"600 people, \d+ passages", out)
    assert re.search(r"as of 2021-11-28: \d+ travellers; added \d+", out)
    ids = re.findall(r"^\s+ID (\S+)\s", out, flags=re.MULTILINE)
    assert len(ids) >= 5, out
    assert all(len(n) == 18 and ric.calc_check_digit(n) == n[-1] for n in ids), ids
    chinese = re.findall(r"^\s+中文：(.+)$", out, flags=re.MULTILINE)
    english = re.findall(r"^\s+English: (.+)$", out, flags=re.MULTILINE)
    assert len(chinese) == len(english) == len(ids)
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in chinese)
    assert all(text.startswith("Policy in force") for text in english)
    # the first sample's "try:" command, run for real, gives the decision the demo printed
    printed = re.findall(r"^\s+decision: (\S+)", out, flags=re.MULTILINE)
    tries = re.findall(r"^\s+try: commutepass (.+)$", out, flags=re.MULTILINE)
    assert len(printed) == len(tries) == len(ids)
    args = shlex.split(tries[0])
    assert args[:2] == ["--data-dir", str(data)]
    reproduced = run_cli(None, *args).line
    assert reproduced["decision"] == printed[0]
    assert reproduced["id"] == masked(ids[0])


def test_identify_past_the_calendar_is_a_clear_error(region: dict[str, Any]) -> None:
    line = run_cli(region["data"], "identify", "--as-of", "2027-01-10", expect=2).line
    assert line["error"]["field"] == "calendar"
    assert "2027.toml" in line["error"]["en"] and "2027" in line["error"]["zh"]
