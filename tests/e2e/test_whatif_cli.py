"""``commutepass whatif`` as a user runs it: the three worked examples of docs/whatif.md on a small
scene built with the real command line, and every kind of bad input answered with a clear error."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from tests.e2e.support import resident_id, run_cli, write_csv

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "whatif"
COMMUTER = resident_id("131082", date(1985, 5, 5), 21)  # NAT reported 11-15: 14 days yes, 7 no
VISITOR = resident_id("120101", date(1990, 1, 1), 22)  # NAT sampled 27 h before the check


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("whatif")
    files = data / "files"
    files.mkdir()
    run_cli(
        data,
        "commuters",
        "add",
        COMMUTER,
        "--since",
        "2021-11-01",
        "--source",
        "application",
        "--home-county",
        "131082",
    )
    travel = [[COMMUTER, "2021-11-18T08:00", "enter", "road", "白庙检查站", "131082"]]
    nat = [
        [COMMUTER, "2021-11-15T08:00", "2021-11-15T18:00", "negative", "廊坊市人民医院"],
        [VISITOR, "2021-11-22T06:00", "2021-11-22T12:00", "negative", "天津市第一中心医院"],
    ]
    cols = {
        "travel": ["id_number", "event_time", "direction", "mode", "site", "county"],
        "nat": ["id_number", "sampled_at", "reported_at", "result", "lab"],
    }
    run_cli(data, "load", "travel", str(write_csv(files / "travel.csv", cols["travel"], travel)))
    run_cli(data, "load", "nat", str(write_csv(files / "nat.csv", cols["nat"], nat)))
    for person in (COMMUTER, VISITOR):
        line = run_cli(
            data, "check", person, "--at", "2021-11-23T09:00", "--site", "白庙检查站", "--mode", "road"
        ).lines[-1]
        assert line["decision"] == "allow"
    return data


def _whatif(data: Path, example: str, *extra: str) -> dict[str, object]:
    out = data / f"out-{example}"
    result = run_cli(
        data,
        "whatif",
        "--policy",
        str(EXAMPLES / f"{example}.toml"),
        "--from",
        "2021-11-23",
        "--to",
        "2021-11-23",
        "--out",
        str(out),
        *extra,
    )
    line = result.lines[-1]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["changed"] == line["changed"]
    assert (out / "diff.csv").is_file() and (out / "diff.parquet").is_file()
    text = (out / "diff.csv").read_text(encoding="utf-8") + json.dumps(report, ensure_ascii=False)
    assert COMMUTER not in text and VISITOR not in text
    return line


def test_the_three_worked_examples_run_from_the_command_line(scene: Path) -> None:
    nat7 = _whatif(scene, "nat-7-days")
    assert nat7["checks"] == 2 and nat7["baseline_differs_from_recorded"] == 0
    assert nat7["transitions"]["decision"] == [{"kind": "check", "from": "allow", "to": "refuse", "n": 1}]
    assert nat7["people_losing_badge"] == 1

    cangzhou = _whatif(scene, "ring-adds-cangzhou")
    assert cangzhou["checks"] == 2 and cangzhou["changed"] == 0

    entry24 = _whatif(scene, "entry-24h", "--against", "2021-11-17")
    assert entry24["transitions"]["decision"] == [{"kind": "check", "from": "allow", "to": "refuse", "n": 1}]
    assert entry24["people_refused_first_time"] == 1 and entry24["people_losing_badge"] == 0


def test_bad_input_is_answered_with_what_and_where(scene: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (EXAMPLES / "nat-7-days.toml")
        .read_text(encoding="utf-8")
        .replace("entry_window_hours = 48", "entry_window_hours = -1"),
        encoding="utf-8",
    )
    base = ["whatif", "--from", "2021-11-23", "--to", "2021-11-23", "--out", str(tmp_path / "o")]
    error = run_cli(scene, *base, "--policy", str(bad), expect=2).lines[-1]["error"]
    assert error["field"] == "nat.entry_window_hours" and str(bad) in error["en"] and "line 23" in error["en"]
    error = run_cli(scene, *base, "--policy", str(tmp_path / "none.toml"), expect=2).lines[-1]["error"]
    assert "no such file" in error["en"] and error["zh"]
    good = str(EXAMPLES / "nat-7-days.toml")
    error = run_cli(
        scene, "whatif", "--policy", good, "--from", "2021-11-31", "--to", "2021-12-01", expect=2
    ).lines[-1]["error"]
    assert error["field"] == "from"
    error = run_cli(
        scene, "whatif", "--policy", good, "--from", "2021-11-24", "--to", "2021-11-23", expect=2
    ).lines[-1]["error"]
    assert error["field"] == "to" and "before it starts" in error["en"]
    error = run_cli(
        scene,
        "whatif",
        "--policy",
        good,
        "--from",
        "2020-06-01",
        "--to",
        "2020-06-02",
        "--out",
        str(tmp_path / "e"),
        expect=2,
    ).lines[-1]["error"]
    assert "nothing to replay" in error["en"] and not (tmp_path / "e").exists()
    error = run_cli(scene, *base, "--policy", good, "--against", "1999-01-01", expect=2).lines[-1]["error"]
    assert error["field"] == "against"
    error = run_cli(scene, *base, "--policy", good, "--engine", "mapreduce", expect=2).lines[-1]["error"]
    assert error["field"] == "engine"
