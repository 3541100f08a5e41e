"""The commuter identification job (大数据识别): one definition, run on DuckDB or Apache Spark.

The job is written once as Ibis expressions; Ibis compiles them to DuckDB SQL (the embedded
default) or to Spark SQL (a cluster, or ``local[*]``). It reads the privacy-safe travel copy
(the "lake": Parquet files per Beijing calendar day, keyed by the store's row id of the person,
never an ID number) and works in three steps:

1. **daily activity** — one row per person and day (entered?, first entry minute, passages,
   passages to the ring area, the ring county entered from), computed from that day's travel
   files only and kept as state, so the next day's run reads only the new day's rows;
2. **rolling state** — one row per person over the window (the days entered and left as bit
   masks, each day's first entry minute packed into a few integers, and sums), built from the
   window's daily activity, or moved on by one day from the previous day's state (the leaving day
   subtracted, the new day added) so the next day's run does not re-read the window;
3. **features and rules** — from the state and the window's holiday calendar (its kinds of day
   as constant masks, so each count is a ``bit_count``): entry days,
   workday entries, active weeks, entries on the first/last workday of the week, days since the
   last entry, the usual entry time and its spread (the regularity of the entry hour), home
   county; then the rules, every threshold a named parameter of the policy, give ``daily``,
   ``weekly`` or none.

Thresholds are compared in integer arithmetic (shares as per-mille), so both engines decide
exactly alike.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ibis.backends.sql.datatypes import DuckDBType

from commutepass.domain.commuters import Features, Outcome
from commutepass.domain.errors import InputError
from commutepass.domain.policy import IdentificationRules, RingArea
from commutepass.domain.workdays import calendar

TRAVEL_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),  # the store's row id of the person: no ID number, no key
        ("event_time", pa.timestamp("us")),  # Beijing wall-clock time (no zone: no DST since 1991)
        ("direction", pa.string()),
        ("mode", pa.string()),
        ("site", pa.string()),
        ("county", pa.string()),
    ]
)
ACTIVITY_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("day", pa.date32()),
        ("entered", pa.int32()),
        ("first_entry_min", pa.int32()),
        ("passages", pa.int64()),
        ("ring_passages", pa.int64()),
        ("entry_county", pa.string()),
        ("exited", pa.int32()),
    ]
)
ACTIVITY_VERSION = 4
"""Bumped when ACTIVITY_SCHEMA or the state's columns change: a lake built by an older version
is rebuilt (in a folder of its own) rather than misread. 2: exits per day; 3: as one number;
4: the days entered as one number too, the minutes packed."""
RESULT_COLUMNS = (
    "person_id",
    "outcome",
    "span_days",
    "span_workdays",
    "entry_days",
    "entry_workdays",
    "active_weeks",
    "edge_entries",
    "rhythm",
    "rhythm_entries",
    "rhythm_days",
    "days_since_last_entry",
    "days_since_last_passage",
    "stayed_starts",
    "stayed_start_weeks",
    "end_returns",
    "end_return_weeks",
    "passages",
    "ring_passages",
    "home_county",
    "entry_min_first",
    "entry_min_last",
    "entry_min_sum",
    "entry_min_sumsq",
)


# ── the lake: travel files per day, and the daily-activity state ──────────────────────────


class Lake:
    """``ROOT/travel/YYYY-MM-DD/NAME.parquet`` and ``ROOT/activity/RING/YYYY-MM-DD.parquet``.

    ROOT may be a local folder; on a cluster it is the same layout on shared or object storage
    (see docs/identification.md). A day's activity file remembers which travel files it was
    built from, and is rebuilt when they change.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.travel_root = root / "travel"

    def travel_files(self, day: date) -> list[Path]:
        folder = self.travel_root / day.isoformat()
        return sorted(folder.glob("*.parquet")) if folder.is_dir() else []

    def activity_dir(self, ring: RingArea) -> Path:
        key = [ring.provinces, ring.prefectures, ACTIVITY_VERSION]
        digest = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:12]
        return self.root / "activity" / f"ring-{digest}"

    def activity_file(self, ring: RingArea, day: date) -> Path:
        return self.activity_dir(ring) / f"{day.isoformat()}.parquet"

    def state_file(self, ring: RingArea, window: int, as_of: date) -> Path:
        return self.activity_dir(ring) / f"state-w{window}" / f"{as_of.isoformat()}.parquet"

    def sources_of(self, day: date) -> str:
        return json.dumps([[p.name, p.stat().st_size, p.stat().st_mtime_ns] for p in self.travel_files(day)])

    def activity_is_current(self, ring: RingArea, day: date) -> bool:
        target = self.activity_file(ring, day)
        stamp = target.with_suffix(".sources")
        return target.is_file() and stamp.is_file() and stamp.read_text() == self.sources_of(day)

    def exported_names(self) -> set[str]:
        if not self.travel_root.is_dir():
            return set()
        return {p.name for p in self.travel_root.glob("*/*.parquet")}


def write_travel(lake: Lake, table: pa.Table, name: str) -> int:
    """Append travel rows (TRAVEL_SCHEMA) to the lake, one file ``NAME.parquet`` per day.

    Files are written under a temporary name and renamed, so a reader never sees half a file;
    writing the same NAME again replaces it (idempotent)."""
    table = table.select(TRAVEL_SCHEMA.names).cast(TRAVEL_SCHEMA)
    days = pc.cast(table["event_time"], pa.date32())
    written = 0
    for day in pc.unique(days).to_pylist():
        part = table.filter(pc.equal(days, pa.scalar(day, pa.date32())))
        folder = lake.travel_root / day.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.parquet.tmp"
        pq.write_table(part, tmp, compression="zstd")
        os.replace(tmp, folder / f"{name}.parquet")
        written += part.num_rows
    return written


# ── engines: where the one definition runs ────────────────────────────────────────────────


class Engine(Protocol):
    name: str

    def read(self, paths: list[Path], schema: pa.Schema) -> ir.Table: ...

    def to_arrow(self, expr: ir.Table) -> pa.Table: ...

    def write(self, expr: ir.Table, path: Path) -> None:
        """Write the result of ``expr`` to one Parquet file (zstd), the columns as typed in
        ``expr``; under a temporary name first, so a reader never sees half a file."""

    def write_by_day(self, expr: ir.Table, folder: Path) -> dict[date, Path]:
        """Write the result of ``expr`` to one Parquet file per value of its ``day`` column,
        under the new folder ``folder``; return the file of each day."""

    def save(self, expr: ir.Table, path: Path) -> ir.Table:
        """Write the result of ``expr`` to ``path`` (as ``write``) and return it as a table the
        engine holds, for the next query of the run."""


def _write_arrow(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


class DuckDBEngine:
    """The embedded default: an in-process DuckDB over the Parquet files."""

    name = "duckdb"

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.con = ibis.duckdb.connect(
            **({"threads": threads} if threads else {}),
            **({"memory_limit": memory_limit} if memory_limit else {}),
        )
        # no file or table the job writes is read in row order (the result is sorted by person):
        # DuckDB may then write in parallel, holding less in memory
        self.con.raw_sql("SET preserve_insertion_order = false")
        self._saved = 0

    def read(self, paths: list[Path], schema: pa.Schema) -> ir.Table:
        if not paths:
            return ibis.memtable(schema.empty_table())
        return self.con.read_parquet([str(p) for p in paths])

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def _copy(self, expr: ir.Table, path: Path, options: str) -> None:
        """DuckDB writes the files itself (``COPY … TO``): no rows cross into Python. Each column
        is cast to its type in ``expr`` (DuckDB's own sum of BIGINT is a HUGEINT)."""
        columns = ", ".join(
            f'CAST("{name}" AS {DuckDBType.to_string(dtype)}) AS "{name}"'
            for name, dtype in expr.schema().items()
        )
        self.con._run_pre_execute_hooks(expr)  # registers the in-memory tables, as to_parquet does
        query = f"SELECT {columns} FROM ({self.con.compile(expr)})"
        target = str(path).replace("'", "''")
        self.con.raw_sql(f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION zstd{options})")

    def write(self, expr: ir.Table, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        self._copy(expr, tmp, "")
        os.replace(tmp, path)

    def save(self, expr: ir.Table, path: Path) -> ir.Table:
        """Computed once into a temporary table in memory (spilled to disk past the memory
        limit), written from there; the run's next query reads the table, not the file."""
        self._saved += 1
        table = self.con.create_table(f"commutepass_saved_{self._saved}", expr, temp=True, overwrite=True)
        self.write(table, path)
        return table

    def write_by_day(self, expr: ir.Table, folder: Path) -> dict[date, Path]:
        self._copy(expr, folder, ", PARTITION_BY (day), WRITE_PARTITION_COLUMNS true")
        files: dict[date, Path] = {}
        for part in folder.glob("day=*"):
            day = date.fromisoformat(part.name.removeprefix("day="))
            pieces = sorted(part.glob("*.parquet"))
            if len(pieces) == 1:
                files[day] = pieces[0]
            else:  # DuckDB may split a large partition: one file per day for the lake
                files[day] = part / "day.parquet"
                _write_arrow(pa.concat_tables(pq.read_table(p) for p in pieces), files[day])
        return files


class SparkEngine:
    """Apache Spark through PySpark: ``local[*]`` by default, or any master URL
    (``COMMUTEPASS_SPARK_MASTER``, e.g. ``spark://host:7077`` or ``yarn``)."""

    name = "spark"

    def __init__(self, master: str | None = None, conf: dict[str, str] | None = None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:  # a checkpoint server installs without Spark
            raise InputError(
                "engine",
                "the Spark engine needs PySpark: install commutepass[spark] (or use --engine duckdb)",
                "Spark 引擎需要 PySpark：请安装 commutepass[spark]（或改用 --engine duckdb）",
            ) from None

        builder = (
            SparkSession.builder.master(master or os.environ.get("COMMUTEPASS_SPARK_MASTER", "local[*]"))
            .appName("commutepass-identify")
            .config("spark.sql.session.timeZone", "Asia/Shanghai")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", os.environ.get("COMMUTEPASS_SPARK_PARTITIONS", "8"))
            # the driver collects a week of daily activity at a time (millions of rows at Beijing scale)
            .config("spark.driver.memory", os.environ.get("COMMUTEPASS_SPARK_DRIVER_MEMORY", "4g"))
            .config("spark.driver.maxResultSize", "0")
        )
        for key, value in (conf or {}).items():
            builder = builder.config(key, value)
        self.session = builder.getOrCreate()
        self.session.sparkContext.setLogLevel("ERROR")
        self.con = ibis.pyspark.connect(self.session)
        self._views = 0

    def read(self, paths: list[Path], schema: pa.Schema) -> ir.Table:
        if not paths:
            return ibis.memtable(schema.empty_table())
        frame = self.session.read.parquet(*[str(p) for p in paths])
        self._views += 1
        name = f"commutepass_input_{self._views}"
        frame.createOrReplaceTempView(name)
        return self.con.table(name)

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)

    def write(self, expr: ir.Table, path: Path) -> None:
        _write_arrow(self.to_arrow(expr), path)

    def save(self, expr: ir.Table, path: Path) -> ir.Table:
        self.write(expr, path)
        return self.read([path], pa.schema([]))

    def write_by_day(self, expr: ir.Table, folder: Path) -> dict[date, Path]:
        table = self.to_arrow(expr)
        files: dict[date, Path] = {}
        for day in pc.unique(table["day"]).to_pylist():
            files[day] = folder / f"{day.isoformat()}.parquet"
            _write_arrow(table.filter(pc.equal(table["day"], pa.scalar(day, pa.date32()))), files[day])
        return files


def engine_named(name: str) -> Engine:
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        return SparkEngine()
    raise ValueError(f"unknown engine {name!r}")


# ── the one definition ────────────────────────────────────────────────────────────────────


def _in_ring(county: ir.StringValue, ring: RingArea) -> ir.BooleanValue:
    test: ir.BooleanValue = ibis.literal(False)
    if ring.provinces:
        test = test | county.substr(0, 2).isin(list(ring.provinces))
    if ring.prefectures:
        test = test | county.substr(0, 4).isin(list(ring.prefectures))
    return test


def daily_activity(travel: ir.Table, ring: RingArea) -> ir.Table:
    """One row per person and Beijing calendar day from travel rows. Lake rows are unique (the
    store's unique key); a repeated swipe a minute later falls into the same day."""
    t = travel
    t = t.mutate(
        day=t.event_time.date(),
        entering=t.direction == "enter",
        ring=_in_ring(t.county, ring),
        minute=(t.event_time.hour() * 60 + t.event_time.minute()).cast("int32"),
    )
    return (
        t.group_by("person_id", "day")
        .aggregate(
            entered=t.entering.cast("int32").max(),
            first_entry_min=t.minute.min(where=t.entering),
            passages=t.count(),
            ring_passages=t.ring.cast("int64").sum(),
            entry_county=t.county.min(where=t.entering & t.ring),
            exited=(~t.entering).cast("int32").max(),
        )
        .select(*ACTIVITY_SCHEMA.names)
    )


def calendar_table(as_of: date, window_days: int) -> pa.Table:
    first = as_of - timedelta(days=window_days - 1)
    days = calendar(first, as_of)
    return pa.table(
        {
            "day": pa.array([d.day for d in days], pa.date32()),
            "day_no": pa.array(range(len(days)), pa.int32()),
            "workday": pa.array([int(d.workday) for d in days], pa.int32()),
            "week": pa.array([d.week for d in days], pa.int32()),
            "work_week": pa.array([d.work_week for d in days], pa.int32()),
            "first_wd": pa.array([int(d.first_workday_of_week or d.first_of_run) for d in days], pa.int32()),
            "last_wd": pa.array([int(d.last_workday_of_week or d.last_of_run) for d in days], pa.int32()),
            "wd_before": pa.array([d.workdays_so_far - d.workday for d in days], pa.int32()),
            "eve": pa.array([int(d.eve_of_week) for d in days], pa.int32()),
            "after": pa.array([int(d.after_week) for d in days], pa.int32()),
        }
    )


RHYTHM_FLAGS = (("eve", "eve"), ("first", "first_wd"), ("last", "last_wd"), ("after", "after"))
"""The weekly rhythms by the day of the entry: the day off before the working week (Sunday
evening), its first workday (Monday morning), its last workday (Friday: a Beijing home), the
day off after it (Saturday); a tie goes to the earlier in this order."""


def _permille(share: float) -> int:
    return round(share * 1000)


STATE_COLUMNS = ("days", "passages", "ring_days", "ring", "entry_days", "minute_sum", "minute_sumsq")
"""Per person over the window: days with travel, passages, days with a ring-area count, passages
to the ring area, days with an entry, and the sum and sum of squares of the first entry minutes;
sums, so moving a day on subtracts the dropped day and adds the new."""


MINUTE_BITS = 12
"""The first entry minute of each window day is kept packed, ``MINUTES_PER_WORD`` days to an
integer column: window day ``i`` holds its minute + 1 (0: no entry that day) in the bits from
``MINUTE_BITS * (i % MINUTES_PER_WORD)`` of word ``i // MINUTES_PER_WORD``. A handful of columns
instead of one a day, so the state is narrow to build, move on, write and read; moving the window
on shifts every word by one day."""
MINUTES_PER_WORD = 5
_SLOT = 2**MINUTE_BITS - 1


def _word(k: int) -> str:
    """The packed first entry minutes of window days ``MINUTES_PER_WORD * k`` onwards."""
    return f"minutes_{k}"


def _words(window: int) -> int:
    return -(-window // MINUTES_PER_WORD)


def _packed_minute(words: list[ir.IntegerValue], i: int) -> ir.IntegerValue:
    """The first entry minute + 1 on window day ``i`` (0: no entry)."""
    word, slot = divmod(i, MINUTES_PER_WORD)
    return (words[word] >> (MINUTE_BITS * slot)) & _SLOT


ENTRY_DAYS = "entry_mask"
"""The window days on which the person entered Beijing, as one number: window day ``i`` (0 = the
window's first) adds 2**i. Every count over days of a kind (workdays, first workdays of the week,
…) is then ``bit_count(entry_mask & kind)``, a few integer operations instead of a sum of one
condition per day; moving the window on is a halving."""

EXIT_DAYS = "exit_days"
"""The window days on which the person left Beijing, as one number (as ``entry_mask``). Plain
integer arithmetic, so every engine computes it alike; a window of up to 62 days fits in it."""


@ibis.udf.scalar.builtin  # type: ignore[untyped-decorator]
def bit_count(x: int) -> int:  # type: ignore[empty-body]
    """The number of 1 bits of an integer (DuckDB's and Spark SQL's ``bit_count``)."""


def _ones(x: ir.IntegerValue) -> ir.IntegerValue:
    return bit_count(x).cast("int64")


def _highest_day(mask: ir.IntegerValue) -> ir.IntegerValue:
    """The highest window day set in ``mask`` (-1: none): every bit below the highest is set by
    or-ing the mask with itself shifted, then counted."""
    for shift in (1, 2, 4, 8, 16, 32):
        mask = mask | (mask >> shift)
    return _ones(mask) - 1


def _days_before_lowest(mask: ir.IntegerValue) -> ir.IntegerValue:
    """The bits below the lowest window day set in ``mask`` (all bits set when none is)."""
    return (mask & -mask) - 1


def _bits(days: list[dict[str, Any]], test: Any) -> int:
    """The window days for which ``test(day)`` holds, as a mask."""
    return sum(2**i for i, d in enumerate(days) if test(d))


def _int(value: int) -> ir.IntegerValue:
    return ibis.literal(value, type="int64")


def state_from_activity(activity: ir.Table, as_of: date, window: int) -> ir.Table:
    """The rolling per-person state of the window ending on ``as_of``, built from the window's
    daily activity: one row per person with the window's sums, the days entered and left as
    masks, one first-entry minute per window day, and the latest ring county entered from
    (``home_county``) with its day (``home_no``)."""
    first = as_of - timedelta(days=window - 1)
    s = activity.filter(
        activity.day.between(ibis.literal(first, type="date"), ibis.literal(as_of, type="date"))
    )
    s = s.mutate(day_no=s.day.delta(ibis.literal(first, type="date"), unit="day").cast("int32"))
    s = s.mutate(bit=_int(1) << s.day_no)
    minute = s.first_entry_min.cast("int64")
    packed = (minute + 1) << (MINUTE_BITS * (s.day_no % MINUTES_PER_WORD))
    # the small sums packed into two: days, entry days and ring days (each at most the window,
    # under 256) and the sum of the first entry minutes (under 2**17) in one; passages and ring
    # passages in the other (32 bits each) — fewer aggregates over the window's activity
    flag = _int(1)
    counts = (
        flag
        + (s.first_entry_min.notnull().cast("int64") << 8)
        + (s.ring_passages.notnull().cast("int64") << 16)
        + (minute.fill_null(0) << 24)
    )
    volume = s.passages.cast("int64") + (s.ring_passages.fill_null(0).cast("int64") << 32)
    state = s.group_by("person_id").aggregate(
        **{
            _word(k): packed.sum(where=s.day_no // MINUTES_PER_WORD == k).fill_null(0).cast("int64")
            for k in range(_words(window))
        },
        **{ENTRY_DAYS: s.bit.sum(where=s.first_entry_min.notnull()).fill_null(0).cast("int64")},
        **{EXIT_DAYS: s.bit.sum(where=s.exited == 1).fill_null(0).cast("int64")},
        counts=counts.sum().cast("int64"),
        volume=volume.sum().cast("int64"),
        minute_sumsq=(minute * minute).sum().fill_null(0),
        home_county=s.entry_county.argmax(s.day_no, where=s.entry_county.notnull()),
        home_no=s.day_no.max(where=s.entry_county.notnull()),
    )
    return state.select(
        "person_id",
        *[_word(k) for k in range(_words(window))],
        ENTRY_DAYS,
        EXIT_DAYS,
        days=state.counts & 255,
        passages=state.volume & (2**32 - 1),
        ring_days=(state.counts >> 16) & 255,
        ring=state.volume >> 32,
        entry_days=(state.counts >> 8) & 255,
        minute_sum=state.counts >> 24,
        minute_sumsq=state.minute_sumsq,
        home_county=state.home_county,
        home_no=state.home_no,
    )


def _sums(day: ir.Table) -> dict[str, ir.IntegerValue]:
    """One day's activity as the state's sums."""
    return {
        "days": ibis.literal(1, type="int64"),
        "passages": day.passages.cast("int64"),
        "ring_days": day.ring_passages.notnull().cast("int64"),
        "ring": day.ring_passages.fill_null(0).cast("int64"),
        "entry_days": day.first_entry_min.notnull().cast("int64"),
        "minute_sum": day.first_entry_min.cast("int64").fill_null(0),
        "minute_sumsq": (day.first_entry_min.cast("int64") * day.first_entry_min.cast("int64")).fill_null(0),
    }


def state_next_day(previous: ir.Table, dropped: ir.Table, new_day: ir.Table, window: int) -> ir.Table:
    """The state one day later: the window's first day (``dropped``, its daily activity) is taken
    out of the sums, every minute moves one day back (the masks halve), and the new day's
    activity is added; people left without travel in the window drop out."""
    gone = dropped.select(gone_id=dropped.person_id, **{f"gone_{k}": v for k, v in _sums(dropped).items()})
    j = previous.join(gone, previous.person_id == gone.gone_id, how="left")
    old = j.select(
        "person_id",
        **{
            _word(k): (j[_word(k)] >> MINUTE_BITS)
            + (
                (j[_word(k + 1)] & _SLOT) << (MINUTE_BITS * (MINUTES_PER_WORD - 1))
                if k + 1 < _words(window)
                else _int(0)
            )
            for k in range(_words(window))
        },
        **{mask: j[mask] // 2 for mask in (ENTRY_DAYS, EXIT_DAYS)},
        **{k: j[k] - j[f"gone_{k}"].fill_null(0) for k in STATE_COLUMNS},
        home_county=j.home_county,
        home_no=j.home_no - 1,
    )
    last = 2 ** (window - 1)
    new = new_day.select(
        new_id=new_day.person_id,
        new_minute=(new_day.first_entry_min.cast("int64") + 1).fill_null(0)
        << (MINUTE_BITS * ((window - 1) % MINUTES_PER_WORD)),
        new_entry_mask=new_day.first_entry_min.notnull().cast("int64") * last,
        new_exit_days=new_day.exited.cast("int64") * last,
        **{f"new_{k}": v for k, v in _sums(new_day).items()},
        new_county=new_day.entry_county,
    )
    j = old.join(new, old.person_id == new.new_id, how="outer")
    kept_home = j.home_no >= 0
    state = j.select(
        person_id=j.person_id.fill_null(j.new_id),
        **{
            _word(k): j[_word(k)].fill_null(0)
            + (j.new_minute.fill_null(0) if k == (window - 1) // MINUTES_PER_WORD else _int(0))
            for k in range(_words(window))
        },
        **{ENTRY_DAYS: j[ENTRY_DAYS].fill_null(0) + j.new_entry_mask.fill_null(0)},
        **{EXIT_DAYS: j[EXIT_DAYS].fill_null(0) + j.new_exit_days.fill_null(0)},
        **{k: j[k].fill_null(0) + j[f"new_{k}"].fill_null(0) for k in STATE_COLUMNS},
        home_county=ibis.ifelse(
            j.new_county.notnull(), j.new_county, ibis.ifelse(kept_home, j.home_county, ibis.null("string"))
        ),
        home_no=ibis.ifelse(
            j.new_county.notnull(),
            ibis.literal(window - 1, type="int32"),
            ibis.ifelse(kept_home, j.home_no, ibis.null("int32")),
        ).cast("int32"),
    )
    return state.filter(state.days > 0)


def features_and_rules(state: ir.Table, as_of: date, rules: IdentificationRules, cal: pa.Table) -> ir.Table:
    """Per-person features over the window and the rule that decides (``outcome``), from the
    rolling state: a projection, one row per person, no grouping. The days of each kind (by the
    window's calendar) are constant masks; a count is the 1 bits of the days entered and'ed with
    one of them."""
    window = rules.window_days
    total_workdays = int(pc.sum(cal["workday"]).as_py() or 0)
    days = cal.to_pylist()
    f = state
    words = [f[_word(k)] for k in range(_words(window))]
    entered = f[ENTRY_DAYS]
    exit_days = f[EXIT_DAYS]
    none_entered = entered == 0

    def count(flag: str) -> ir.IntegerValue:
        return _ones(entered & _bits(days, lambda d: d[flag]))

    def weeks_with(mask: ir.IntegerValue, key: str = "work_week") -> ir.IntegerValue:
        """Weeks (by ``key``) with a day of ``mask`` in them."""
        weeks = sorted({d[key] for d in days})
        return sum(
            ((mask & _bits(days, lambda d, w=w: d[key] == w)) != 0).cast("int64") for w in weeks
        ) + _int(0)

    # calendar weeks (Monday–Sunday) for shift work; working weeks (runs of workdays with the day
    # off before them) for the weekly rhythms
    before_first = _days_before_lowest(entered)
    first_no = ibis.ifelse(none_entered, ibis.null("int64"), _ones(before_first))
    last_no = ibis.ifelse(none_entered, ibis.null("int64"), _highest_day(entered))
    wd_before_first = ibis.ifelse(
        none_entered, ibis.null("int64"), _ones(before_first & _bits(days, lambda d: d["workday"]))
    )
    # the weekly rhythms: back for the working week (the day off before it, or its first
    # workday) or back home to Beijing at its end (its last workday, or the day off after it)
    kinds = [(kind, count(flag), sum(1 for d in days if d[flag])) for kind, flag in RHYTHM_FLAGS]
    # Returns at commuting time: an entry at the start of the working week — on the day off before
    # it (any time), or on its first workday before office hours — or at its end — on its last
    # workday after office hours, or on the day off after it. A business trip arrives in office
    # hours; a commuter comes back before work or after it.
    office_start, office_end = rules.weekly_office_start_hour * 60, rules.weekly_office_end_hour * 60

    def at_time(edge: Any, in_time: Any) -> ir.IntegerValue:
        """The entries on ``edge`` days: any time on a day off, ``in_time`` on a workday."""
        mask = entered & _bits(days, lambda d: edge(d) and not d["workday"])
        for i, d in enumerate(days):
            if edge(d) and d["workday"]:
                mask = mask + ibis.ifelse(in_time(_packed_minute(words, i)), _int(2**i), _int(0))
        return mask

    # (packed minutes are minute + 1, 0 when no entry)
    start_returns = at_time(lambda d: d["eve"] or d["first_wd"], lambda m: m.between(1, office_start))
    end_returns = at_time(lambda d: d["last_wd"] or d["after"], lambda m: m > office_end)

    # ... and for a return at the start, whether the person then stayed through the working week:
    # no exit before its last workday in the window (a business trip leaves after a day or two)
    last_of_week = {
        w: max((i for i, d in enumerate(days) if d["work_week"] == w and d["workday"]), default=-1)
        for w in {d["work_week"] for d in days}
    }
    stays = _int(0)
    for i, d in enumerate(days):
        if not (d["eve"] or d["first_wd"]):
            continue
        until = last_of_week[d["work_week"]]
        if until <= i:
            stays = stays + 2**i
        else:
            leaving = sum(2**k for k in range(i, until))
            stays = stays + ibis.ifelse((exit_days & leaving) == 0, _int(2**i), _int(0))
    stayed_starts = start_returns & stays
    # the masks and days above as columns: each is used several times below
    f = f.mutate(
        _start=start_returns,
        _end=end_returns,
        _stayed=stayed_starts,
        _first_no=first_no,
        _last_no=last_no,
        _wd_before_first=wd_before_first,
        # the last crossing: the last entry or the last exit (every passage is one or the other)
        _last_seen=_highest_day(entered | exit_days),
        **{f"_{kind}": n for kind, n, _d in kinds},
    )
    start_returns, end_returns, stayed_starts = f._start, f._end, f._stayed
    first_no, last_no, wd_before_first = f._first_no, f._last_no, f._wd_before_first
    kinds = [(kind, f[f"_{kind}"], d) for kind, _n, d in kinds]
    best = kinds[0][1]
    for _kind, n, _days in kinds[1:]:
        best = ibis.greatest(best, n)
    rhythm = ibis.cases(
        *[(n == best, ibis.literal(kind)) for kind, n, _d in kinds], else_=ibis.null("string")
    )
    rhythm_days = ibis.cases(
        *[(n == best, ibis.literal(d, type="int64")) for _k, n, d in kinds], else_=ibis.null("int64")
    )
    entry_days, last_seen = f.entry_days, f._last_seen
    workdays_since_first = total_workdays - wd_before_first
    joiner = (entry_days > 0) & (workdays_since_first >= rules.new_joiner_min_workdays)
    entered = f[ENTRY_DAYS]
    words = [f[_word(k)] for k in range(_words(window))]
    minutes = [
        ibis.ifelse(m == 0, ibis.null("int64"), m - 1)
        for m in (_packed_minute(words, i) for i in range(window))
    ]

    # working weeks the window holds with at least weekly_full_week_min_workdays workdays in it:
    # around a long holiday there are fewer, and the weekly rule asks for fewer weeks of returns
    workdays_by_week: dict[int, int] = {}
    for d in days:
        workdays_by_week[d["work_week"]] = workdays_by_week.get(d["work_week"], 0) + int(d["workday"])
    full_weeks = sum(1 for n in workdays_by_week.values() if n >= rules.weekly_full_week_min_workdays)
    short_window = full_weeks <= rules.weekly_min_weeks
    f = f.select(
        "person_id",
        passages=f.passages,
        ring_passages=ibis.ifelse(f.ring_days > 0, f.ring, ibis.null("int64")),
        entry_days=entry_days,
        entry_workdays=count("workday"),
        active_weeks=weeks_with(entered),
        active_calendar_weeks=weeks_with(entered, "week"),
        edge_entries=ibis.greatest(_ones(start_returns), _ones(end_returns)),
        rhythm=ibis.ifelse(entry_days > 0, rhythm, ibis.null("string")),
        rhythm_entries=ibis.ifelse(entry_days > 0, best, ibis.null("int64")),
        rhythm_days=ibis.ifelse(entry_days > 0, rhythm_days, ibis.null("int64")),
        span_days=ibis.ifelse(joiner, window - first_no, window),
        span_workdays=ibis.ifelse(joiner, workdays_since_first, total_workdays),
        days_since_last_entry=(window - 1) - last_no,
        days_since_last_passage=(window - 1) - last_seen,
        stayed_starts=_ones(stayed_starts),
        stayed_start_weeks=weeks_with(stayed_starts),
        end_returns=_ones(end_returns),
        end_return_weeks=weeks_with(end_returns),
        home_county=f.home_county,
        # the usual entry time and its spread, in whole numbers so that engines agree exactly
        entry_min_first=ibis.least(*minutes).cast("int32"),
        entry_min_last=ibis.greatest(*minutes).cast("int32"),
        entry_min_sum=ibis.ifelse(entry_days > 0, f.minute_sum, ibis.null("int64")),
        entry_min_sumsq=ibis.ifelse(entry_days > 0, f.minute_sumsq, ibis.null("int64")),
    )
    daily_by_workdays = (f.entry_days >= rules.daily_min_entry_days) & (
        f.entry_workdays * 1000 >= f.span_workdays * _permille(rules.daily_min_workday_share)
    )
    daily_by_shift = (
        (f.entry_days >= rules.daily_min_entry_days)
        & (f.active_calendar_weeks >= rules.weekly_min_weeks)
        & (f.entry_days * 1000 >= f.span_days * _permille(rules.daily_min_day_share))
    )
    weekly = (
        (f.active_weeks >= rules.weekly_min_weeks)
        & (f.entry_days * 1000 <= f.active_weeks * _permille(rules.weekly_max_entry_days_per_week))
        & (f.edge_entries >= rules.weekly_min_weeks)
        & (f.edge_entries * 1000 >= f.entry_days * _permille(rules.weekly_min_weekday_share))
    )
    # a window around a long holiday: returns in fewer weeks, if nearly all entries are returns
    # at commuting time the same way — at the start of the week and stayed through it, or at its
    # end (a commuter lives on one side)
    other = rules.weekly_short_window_other_entries
    weekly_short = (
        ibis.literal(short_window)
        & (
            (f.stayed_start_weeks >= rules.weekly_short_window_min_weeks)
            & (f.stayed_starts + other >= f.entry_days)
            | (f.end_return_weeks >= rules.weekly_short_window_min_weeks)
            & (f.end_returns + other >= f.entry_days)
        )
        & (f.entry_days * 1000 <= f.active_weeks * _permille(rules.weekly_max_entry_days_per_week))
    )
    outcome = ibis.cases(
        (f.entry_days == 0, Outcome.NO_ENTRY.value),
        (f.ring_passages * 1000 < f.passages * _permille(rules.ring_share_min), Outcome.NOT_RING.value),
        (f.days_since_last_passage > rules.max_days_since_last_entry, Outcome.LAPSED.value),
        (daily_by_workdays, Outcome.DAILY.value),
        (daily_by_shift, Outcome.SHIFT.value),
        (weekly | weekly_short, Outcome.WEEKLY.value),
        else_=Outcome.IRREGULAR.value,
    )
    return f.mutate(outcome=outcome).select(*RESULT_COLUMNS)


# ── running it ───────────────────────────────────────────────────────────────────────────


@dataclass
class JobRun:
    engine: str
    as_of: date
    window_days: int
    days_built: list[date]
    """Days whose activity was (re)built from travel files in this run; the rest was reused."""
    result: pa.Table
    """RESULT_COLUMNS, one row per person seen in the window, sorted by person_id."""


def _window_days(as_of: date, window_days: int) -> Iterator[date]:
    for n in range(window_days - 1, -1, -1):
        yield as_of - timedelta(days=n)


def refresh_activity(
    lake: Lake, engine: Engine, as_of: date, window_days: int, ring: RingArea, batch_days: int = 7
) -> list[date]:
    """Build the daily activity of every window day whose travel files changed, ``batch_days``
    days per query (one query per day is slow on Spark; all days at once holds too much in
    memory at Beijing scale), the engine writing one file per day; return the days built."""
    stale = [d for d in _window_days(as_of, window_days) if not lake.activity_is_current(ring, d)]
    folder = lake.activity_dir(ring)
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(stale), batch_days):
        days = stale[start : start + batch_days]
        sources = {day: lake.sources_of(day) for day in days}
        files = [p for day in days for p in lake.travel_files(day)]
        scratch = folder / f".build-{days[0].isoformat()}"
        shutil.rmtree(scratch, ignore_errors=True)
        written = engine.write_by_day(daily_activity(engine.read(files, TRAVEL_SCHEMA), ring), scratch)
        for day in days:
            target = lake.activity_file(ring, day)
            if day in written:
                os.replace(written[day], target)
            else:  # nobody travelled that day
                _write_arrow(ACTIVITY_SCHEMA.empty_table(), target)
            target.with_suffix(".sources").write_text(sources[day])
        shutil.rmtree(scratch, ignore_errors=True)
    return stale


def _stamp(lake: Lake, ring: RingArea, days: list[date]) -> dict[str, list[int]]:
    """Which daily-activity files (size, modification time) a state was built from."""
    stamp = {}
    for day in days:
        st = lake.activity_file(ring, day).stat()
        stamp[day.isoformat()] = [st.st_size, st.st_mtime_ns]
    return stamp


def _read_stamp(path: Path) -> dict[str, list[int]] | None:
    stamp = path.with_suffix(".sources")
    if not (path.is_file() and stamp.is_file()):
        return None
    value: dict[str, list[int]] = json.loads(stamp.read_text())
    return value


def refresh_state(lake: Lake, engine: Engine, as_of: date, window: int, ring: RingArea) -> ir.Table:
    """The rolling state of the window ending on ``as_of``, kept up to date: reused when its
    daily activity is unchanged; moved on from the previous day's state when that one's days are
    unchanged (only the new day's activity is read); else built from the window's activity.
    Returns the state as a table of the engine."""
    days = list(_window_days(as_of, window))
    stamp = _stamp(lake, ring, days)
    target = lake.state_file(ring, window, as_of)
    if _read_stamp(target) == stamp:
        return engine.read([target], pa.schema([]))
    previous = lake.state_file(ring, window, as_of - timedelta(days=1))
    before = _read_stamp(previous)
    dropped = as_of - timedelta(days=window)
    dropped_file = lake.activity_file(ring, dropped)
    if before is not None and dropped_file.is_file() and before == _stamp(lake, ring, [dropped, *days[:-1]]):
        expr = state_next_day(
            engine.read([previous], pa.schema([])),
            engine.read([dropped_file], ACTIVITY_SCHEMA),
            engine.read([lake.activity_file(ring, as_of)], ACTIVITY_SCHEMA),
            window,
        )
    else:
        expr = state_from_activity(
            engine.read([lake.activity_file(ring, d) for d in days], ACTIVITY_SCHEMA), as_of, window
        )
    state = engine.save(expr, target)
    target.with_suffix(".sources").write_text(json.dumps(stamp))
    return state


def run_job(lake: Lake, engine: Engine, as_of: date, rules: IdentificationRules, ring: RingArea) -> JobRun:
    built = refresh_activity(lake, engine, as_of, rules.window_days, ring)
    state = refresh_state(lake, engine, as_of, rules.window_days, ring)
    expr = features_and_rules(state, as_of, rules, calendar_table(as_of, rules.window_days))
    result = engine.to_arrow(expr.order_by("person_id"))
    return JobRun(engine.name, as_of, rules.window_days, built, result)


def _hhmm(minutes: float) -> str:
    whole = round(minutes)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def usual_entry_time(row: dict[str, Any]) -> tuple[str | None, str | None]:
    """Mean ± 1.28 standard deviations of the day's first entry (about the 10th–90th percentile
    of a regular habit), kept within the earliest and latest entry seen."""
    n = int(row["entry_days"])
    if not n or row["entry_min_sum"] is None:
        return None, None
    mean = row["entry_min_sum"] / n
    spread = math.sqrt(max(row["entry_min_sumsq"] / n - mean * mean, 0.0))
    low = max(mean - 1.28 * spread, row["entry_min_first"])
    high = min(mean + 1.28 * spread, row["entry_min_last"])
    return _hhmm(low), _hhmm(high)


def features_of(row: dict[str, Any], window_days: int) -> Features:
    """A result row as the domain's Features (for the evidence text)."""
    return Features(
        window_days=window_days,
        span_days=int(row["span_days"]),
        span_workdays=int(row["span_workdays"]),
        entry_days=int(row["entry_days"]),
        entry_workdays=int(row["entry_workdays"]),
        active_weeks=int(row["active_weeks"]),
        edge_entries=int(row["edge_entries"]),
        rhythm=row.get("rhythm"),
        rhythm_entries=None if row.get("rhythm_entries") is None else int(row["rhythm_entries"]),
        rhythm_days=None if row.get("rhythm_days") is None else int(row["rhythm_days"]),
        days_since_last_entry=None
        if row["days_since_last_entry"] is None
        else int(row["days_since_last_entry"]),
        days_since_last_passage=None
        if row.get("days_since_last_passage") is None
        else int(row["days_since_last_passage"]),
        stayed_starts=None if row.get("stayed_starts") is None else int(row["stayed_starts"]),
        end_returns=None if row.get("end_returns") is None else int(row["end_returns"]),
        passages=int(row["passages"]),
        ring_passages=int(row["ring_passages"]),
        home_county=row["home_county"],
        entry_from=usual_entry_time(row)[0],
        entry_to=usual_entry_time(row)[1],
    )
