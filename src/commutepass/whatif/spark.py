"""The Spark engine of the what-if replay.

The partitions' items — each a recorded check or a daily status with the facts it needs, as known
then — are read from the store (the same fact reader as a live check, the same partitions as the
local engine) into the lake, ``LAKE/whatif/<run>/items/*.parquet``, keyed by the store's row ids
and pseudonyms, never by an ID number. Spark reads them and ships ``replay.redecide_all`` — the
domain's decision functions — to its executors with ``mapInArrow``; the diff files it writes are
the ones the local engine writes, and the report is built from them the same way.

The session is the identification job's (``commuters.identification.SparkEngine``): the same
master (``COMMUTEPASS_SPARK_MASTER`` or the setting), time zone and memory settings.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from commutepass.commuters.identification import SparkEngine
from commutepass.domain.regions import region_catalog
from commutepass.kit.context import App
from commutepass.whatif.partitions import Reader, Shared, Task, run_with
from commutepass.whatif.replay import DIFF_SCHEMA, RiskHistory, items_of, redecide_all

_SPARK_TYPES = {
    pa.string(): "string",
    pa.int64(): "bigint",
    pa.bool_(): "boolean",
    pa.date32(): "date",
}


def spark_schema(schema: pa.Schema) -> str:
    """The DDL of ``schema`` for Spark."""
    return ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in schema)


def extract(app: App, shared: Shared, tasks: list[Task], items: Path) -> tuple[int, int]:
    """Read every partition's items into the lake (one file per partition)."""
    reader = Reader(shared, app.engine)
    total = skipped = 0
    for task in tasks:
        n, s = run_with(reader, task, items, extract_only=True)
        total, skipped = total + n, skipped + s
    return total, skipped


def run(app: App, shared: Shared, tasks: list[Task], lake: Path, parts: Path, cores: int) -> tuple[int, int]:
    """Extract the items to ``lake``, re-decide them on Spark, write the diff files to ``parts``."""
    items_dir = lake / "items"
    total, skipped = extract(app, shared, tasks, items_dir)
    try:
        if total:
            _decide_on_spark(app, shared, items_dir, parts, max(1, len(tasks)))
    finally:
        shutil.rmtree(lake, ignore_errors=True)
    return total, skipped


def _decide_on_spark(app: App, shared: Shared, items_dir: Path, parts: Path, partitions: int) -> None:
    policies, candidate, rows = shared.policies, shared.candidate, shared.risk_rows

    def decide(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        catalog = region_catalog()
        risk = RiskHistory(rows, catalog)
        for batch in batches:
            table = redecide_all(items_of(pa.Table.from_batches([batch])), policies, candidate, risk, catalog)
            yield from table.to_batches()

    session = SparkEngine(master=app.settings.spark_master).session
    frame = session.read.parquet(str(items_dir)).repartition(partitions)
    diff = frame.mapInArrow(decide, spark_schema(DIFF_SCHEMA))
    diff.write.mode("overwrite").parquet(str(parts))
