"""``synth`` → ``load`` → ``identify`` → ``evaluate``, as a user runs them (real processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.support import run_cli, write_csv

pytestmark = pytest.mark.e2e


def test_synth_load_identify_evaluate(tmp_path: Path) -> None:
    region = tmp_path / "region"
    made = run_cli(
        None,
        "synth",
        "--people",
        "800",
        "--days",
        "28",
        "--start",
        "2021-11-01",
        "--out",
        str(region),
        "--format",
        "csv",
    ).line
    assert made["people"] == 800 and made["travel_rows"] > 5000
    loaded = run_cli(tmp_path, "load", "travel", made["files"]["travel"]).lines
    assert loaded[0]["rejected"] == 0 and loaded[0]["added"] > 5000

    found = run_cli(tmp_path, "identify", "--as-of", "2021-11-28").line
    assert found["engine"] == "duckdb" and found["days_built"] == 28
    assert found["added"] == sum(found["by_class"].values()) > 300
    again = run_cli(tmp_path, "identify", "--as-of", "2021-11-28").line
    assert again["days_built"] == 0 and again["added"] == 0 and again["unchanged"] == found["added"]

    lines = run_cli(tmp_path, "evaluate", "--truth", made["files"]["truth"], "--as-of", "2021-11-28").lines
    overall = lines[0]
    assert overall["scope"] == "overall" and overall["people"] == 800
    assert overall["precision"] >= 0.99 and overall["recall"] >= 0.97 and overall["class_agreement"] >= 0.97
    matrix = overall["confusion"]
    assert sum(sum(row.values()) for row in matrix.values()) == 800
    assert matrix["none"]["none"] > 0 and matrix["daily"]["daily"] > 0 and matrix["weekly"]["weekly"] > 0
    behaviours = {line["behaviour"]: line for line in lines[1:]}
    assert behaviours["far_weekly"]["false_positive"] == 0  # never a commuter: not the ring area
    assert behaviours["weekly_fri_sun"]["recall"] >= 0.9


def test_bad_arguments_are_json_errors(tmp_path: Path) -> None:
    bad_engine = run_cli(tmp_path, "identify", "--as-of", "2021-11-28", "--engine", "hive", expect=2).line
    assert bad_engine["error"]["field"] == "engine" and "duckdb" in bad_engine["error"]["en"]
    too_many = run_cli(
        None,
        "synth",
        "--people",
        "0",
        "--days",
        "28",
        "--start",
        "2021-11-01",
        "--out",
        str(tmp_path / "r"),
        expect=2,
    ).line
    assert too_many["error"]["field"] == "people" and too_many["error"]["zh"]
    truth = write_csv(tmp_path / "truth.csv", ["id_number", "behaviour"], [["x", "y"]])
    missing = run_cli(tmp_path, "evaluate", "--truth", str(truth), "--as-of", "2021-11-28", expect=2).line
    assert missing["error"]["field"] == "truth" and "expected_class" in missing["error"]["en"]
    bad_id = write_csv(
        tmp_path / "bad.csv", ["id_number", "behaviour", "expected_class"], [["12345", "tourist", ""]]
    )
    row = run_cli(tmp_path, "evaluate", "--truth", str(bad_id), "--as-of", "2021-11-28", expect=2).line
    assert "row 2" in row["error"]["en"] and "第 2 行" in row["error"]["zh"]
