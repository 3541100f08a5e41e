"""What-if replay (issue 12), on SQLite and PostgreSQL: recorded checks and daily statuses
re-decided under a candidate and under the version that applied, with the facts as known then;
the report, its files, the audit entry; the process pool and Spark give the same report."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from commutepass.checks.service import CheckRequest, check
from commutepass.commuters.service import add_commuter
from commutepass.domain.decisions import Mode
from commutepass.domain.errors import InputError
from commutepass.domain.facts import Source
from commutepass.kit.context import App
from commutepass.loads.service import COLUMNS, load_file
from commutepass.store.tables import audit_log
from commutepass.whatif import service
from tests.helpers import at, make_id, open_app, write_csv

ROOT = Path(__file__).resolve().parents[2]
NAT_7 = ROOT / "docs" / "whatif" / "nat-7-days.toml"

COMMUTER = make_id("131082", date(1985, 5, 5), 11)  # NAT reported 11-15: 14 days yes, 7 days no
ORDINARY = make_id("120101", date(1990, 1, 1), 12)  # not a commuter, a fresh 48 h NAT: no change
LATE_NAT = make_id("131082", date(1988, 8, 8), 13)  # its NAT is recorded after its check
PEOPLE = (COMMUTER, ORDINARY, LATE_NAT)


def _scenario(app: App, tmp_path: Path) -> None:
    for person in (COMMUTER, LATE_NAT):
        add_commuter(app, person, since=date(2021, 11, 1), source=Source.APPLICATION, home_county="131082")
    travel = [(p, "2021-11-18T08:00", "enter", "road", "白庙检查站", "131082") for p in (COMMUTER, LATE_NAT)]
    load_file(app, "travel", write_csv(tmp_path / "travel.csv", COLUMNS["travel"], travel))
    nats = [
        (COMMUTER, "2021-11-15T08:00", "2021-11-15T18:00", "negative", "廊坊市人民医院"),
        (ORDINARY, "2021-11-22T18:00", "2021-11-22T22:00", "negative", "天津市第一中心医院"),
    ]
    load_file(app, "nat", write_csv(tmp_path / "nat.csv", COLUMNS["nat"], nats))
    # a check the evening before the window: the daily statuses are known as that check knew them
    check(app, CheckRequest(ORDINARY, at("2021-11-21T20:00"), "白庙检查站", Mode.ROAD))
    for person in PEOPLE:
        check(app, CheckRequest(person, at("2021-11-23T09:00"), "白庙检查站", Mode.ROAD))
    time.sleep(0.01)
    late = [(LATE_NAT, "2021-11-20T08:00", "2021-11-20T18:00", "negative", "廊坊市人民医院")]
    load_file(app, "nat", write_csv(tmp_path / "late.csv", COLUMNS["nat"], late))


def _request(**changes: Any) -> service.WhatIf:
    base = service.WhatIf(
        candidate=service.candidate_from_file(NAT_7),
        source=str(NAT_7),
        first=date(2021, 11, 22),
        last=date(2021, 11, 23),
        workers=1,
    )
    return service.WhatIf(**{**base.__dict__, **changes})


def _diff(out: Path) -> list[dict[str, Any]]:
    return pq.read_table(out / "diff.parquet").to_pylist()


def test_a_shorter_commuter_nat_validity_refuses_the_commuter_and_takes_the_badge(
    app: App, tmp_path: Path
) -> None:
    _scenario(app, tmp_path)
    out = tmp_path / "report"
    result = service.run(app, _request(), out)

    summary = result["summary"]
    assert summary["checks"] == 3
    assert summary["baseline_differs_from_recorded"] == 0  # the baseline replays what was decided
    assert result["transitions"]["decision"] == [{"kind": "check", "from": "allow", "to": "refuse", "n": 1}]
    rows = {(r["kind"], r["at"][:10], r["recorded_decision"], r["base_decision"]): r for r in _diff(out)}
    checks = [r for r in _diff(out) if r["kind"] == "check"]
    changed = [r for r in checks if r["changed"]]
    assert len(changed) == 1
    row = changed[0]
    assert (row["base_decision"], row["cand_decision"]) == ("allow", "refuse")
    assert "COMMUTER_NAT_EXPIRED" in row["reasons_added"].split(",")
    assert row["base_badge"] and not row["cand_badge"]
    assert row["home_prefecture"].startswith("1310")
    assert "7" in row["cand_en"] and "14" in row["base_en"] and row["cand_zh"]
    # the check decided before its NAT was recorded is replayed as it was known then: refused both ways
    late = [r for r in checks if r["recorded_decision"] == "refuse"]
    assert [(r["base_decision"], r["cand_decision"]) for r in late] == [("refuse", "refuse")]
    # daily statuses at 07:30 on both days, for the database people and everyone checked
    statuses = [r for r in _diff(out) if r["kind"] == "status"]
    assert len(statuses) == 2 * len(PEOPLE)
    lost = [r for r in statuses if r["base_badge"] and not r["cand_badge"]]
    assert {r["person"] for r in lost} == {row["person"]}
    assert summary["people_losing_badge"] == 1 and summary["people_refused_first_time"] == 1
    assert result["people_refused_first_time"][0]["person"] == row["person"]
    assert result["sample"] and result["sample"][0]["base_en"]
    assert rows  # every row is keyed by kind, day and decisions

    # no ID number anywhere in what the run wrote
    written = "".join((out / name).read_text(encoding="utf-8") for name in ("report.json", "diff.csv"))
    written += pq.read_table(out / "diff.parquet").to_pandas().to_csv()
    for person in PEOPLE:
        assert person not in written and person[:17] not in written

    with app.engine.connect() as conn:
        entries = conn.execute(
            select(audit_log.c.action, audit_log.c.detail).where(audit_log.c.action == "whatif.run")
        ).all()
    assert len(entries) == 1 and json.loads(entries[0].detail)["candidate"] == "whatif-nat-7d"


def test_the_process_pool_gives_the_report_of_one_process(app: App, tmp_path: Path) -> None:
    _scenario(app, tmp_path)
    one = service.run(app, _request(workers=1), tmp_path / "one")
    pool = service.run(app, _request(workers=2, partition_size=1), tmp_path / "pool")
    assert pool["meta"]["partitions"] > 2
    one["meta"].pop("partitions"), pool["meta"].pop("partitions")
    one.pop("timing"), pool.pop("timing")
    assert one == pool


def test_against_a_named_version_and_bad_windows(app: App, tmp_path: Path) -> None:
    _scenario(app, tmp_path)
    result = service.run(app, _request(against="2021-11-17"), tmp_path / "against")
    assert result["meta"]["against"] == "2021-11-17"
    with pytest.raises(InputError, match="no policy version 'nope'"):
        service.run(app, _request(against="nope"), tmp_path / "x")
    with pytest.raises(InputError, match=r"ends .* before it starts"):
        service.run(app, _request(first=date(2021, 11, 23), last=date(2021, 11, 22)), tmp_path / "x")
    with pytest.raises(InputError, match="nothing to replay"):
        service.run(app, _request(first=date(2020, 5, 1), last=date(2020, 5, 2)), tmp_path / "x")
    # someone in the database before any policy version was in force: no status to compare either
    add_commuter(app, make_id("131082", date(1980, 1, 1), 14), since=date(2020, 1, 1), source=Source.MANUAL)
    with pytest.raises(InputError, match="nothing to replay"):
        service.run(app, _request(first=date(2020, 1, 5), last=date(2020, 1, 6)), tmp_path / "x")
    with pytest.raises(InputError, match="not local or spark"):
        service.run(app, _request(engine="hadoop"), tmp_path / "x")


def test_a_bad_candidate_file_names_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        NAT_7.read_text(encoding="utf-8").replace("commuter_valid_days = 7", "commuter_valid_days = -7")
    )
    with pytest.raises(InputError) as caught:
        service.candidate_from_file(bad)
    assert caught.value.field == "nat.commuter_valid_days"
    assert str(bad) in caught.value.en and "line" in caught.value.en and "行" in caught.value.zh
    with pytest.raises(InputError, match="no such file"):
        service.candidate_from_file(tmp_path / "missing.toml")


def test_spark_and_the_local_engine_give_identical_reports(tmp_path: Path) -> None:
    """The real Spark (local[2]) runs the same redecide function on the facts read into the lake."""
    app = open_app(tmp_path, f"sqlite:///{tmp_path / 'commutepass.db'}")
    app.settings = app.settings.model_copy(update={"spark_master": "local[2]"})
    try:
        _scenario(app, tmp_path)
        local = service.run(app, _request(workers=2, partition_size=2), tmp_path / "local")
        spark = service.run(app, _request(engine="spark", partition_size=2), tmp_path / "spark")
    finally:
        app.close()
    assert spark["meta"].pop("engine") == "spark" and local["meta"].pop("engine") == "local"
    local.pop("timing"), spark.pop("timing")
    assert local == spark
    assert local["summary"]["changed"] > 0
    assert _diff(tmp_path / "local") == _diff(tmp_path / "spark")
    # the lake's fact files of the run are gone; nothing there names a person by ID number
    assert not list((tmp_path / "lake" / "whatif").glob("*/items/*.parquet"))
