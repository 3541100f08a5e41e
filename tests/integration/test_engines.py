"""One job definition, two engines: DuckDB and Apache Spark (PySpark, local) must agree exactly.

Spark is real: a local session on the machine's Java (scripts/bootstrap installs Debian's JRE
when ``java`` is missing). One session for the whole test run; the data is small.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from commutepass.commuters.identification import (
    RESULT_COLUMNS,
    DuckDBEngine,
    Lake,
    SparkEngine,
    run_job,
    write_travel,
)
from commutepass.policies import builtin_policies
from commutepass.synth import write_region

START = date(2021, 9, 20)  # Mid-Autumn (20–21 September) and a make-up Sunday (26th) in the window
DAYS = 22
AS_OF = START + timedelta(days=DAYS - 2)


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkEngine]:
    if shutil.which("java") is None:
        pytest.fail("Spark needs Java: run scripts/bootstrap --system (installs default-jre-headless)")
    engine = SparkEngine(master="local[2]", conf={"spark.sql.shuffle.partitions": "2"})
    yield engine
    engine.session.stop()


def _lake(root: Path, region: Path) -> Lake:
    """The synthetic travel rows as the lake holds them (a row id per person, Beijing wall clock)."""
    travel = pq.read_table(region / "travel.parquet")
    people: dict[str, int] = {}
    ids = [people.setdefault(i, len(people) + 1) for i in travel["id_number"].to_pylist()]
    lake = Lake(root)
    write_travel(
        lake,
        pa.table(
            {
                "person_id": pa.array(ids, pa.int64()),
                "event_time": pc.strptime(travel["event_time"], "%Y-%m-%dT%H:%M", "us"),
                "direction": travel["direction"],
                "mode": travel["mode"],
                "site": travel["site"],
                "county": travel["county"],
            }
        ),
        "synth",
    )
    return lake


def test_duckdb_and_spark_give_identical_output(tmp_path: Path, spark: SparkEngine) -> None:
    region = write_region(tmp_path / "region", people=600, days=DAYS, start=START, seed=11, fmt="parquet")
    policy = builtin_policies().policies[-1]
    rules = policy.commuters.identification.model_copy(update={"window_days": DAYS - 1})
    results = {}
    for name, engine in (("duckdb", DuckDBEngine(threads=2)), ("spark", spark)):
        lake = _lake(tmp_path / f"lake-{name}", region.directory)
        full = run_job(lake, engine, AS_OF, rules, policy.ring_area)
        assert len(full.days_built) == DAYS - 1
        # the next day: only the new day's travel rows are read, the rest of the state is reused
        following = run_job(lake, engine, AS_OF + timedelta(days=1), rules, policy.ring_area)
        assert following.days_built == [AS_OF + timedelta(days=1)]
        # moving the rolling state on by a day gives what a run from nothing gives
        fresh = run_job(
            _lake(tmp_path / f"fresh-{name}", region.directory),
            engine,
            AS_OF + timedelta(days=1),
            rules,
            policy.ring_area,
        )
        assert len(fresh.days_built) == DAYS - 1
        assert following.result.to_pylist() == fresh.result.to_pylist()
        results[name] = (full.result, following.result)
    for duck, spark_result in zip(results["duckdb"], results["spark"], strict=True):
        assert duck.column_names == list(RESULT_COLUMNS)
        assert duck.num_rows > 300
        outcomes = set(duck["outcome"].to_pylist())
        assert {"daily", "weekly", "shift", "not_ring", "irregular"} <= outcomes
        assert duck.to_pylist() == spark_result.select(list(RESULT_COLUMNS)).to_pylist()
