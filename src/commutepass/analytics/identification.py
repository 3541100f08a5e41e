"""The commuter identification job (大数据识别): one definition, run on DuckDB or Apache Spark.

The job is written once as Ibis expressions; Ibis compiles them to DuckDB SQL (the embedded
default) or to Spark SQL (a cluster, or ``local[*]``). It reads the privacy-safe travel copy
(the "lake": Parquet files per Beijing calendar day, keyed by the store's row id of the person,
never an ID number) and works in two steps:

1. **daily activity** — one row per person and day (entered?, first entry minute, passages,
   passages to the ring area, the ring county entered from), computed from that day's travel
   files only and kept as state, so the next day's run reads only the new day's rows;
2. **features and rules** — over the look-back window of daily activity, joined with the
   holiday calendar: entry days, workday entries, active weeks, entries on the first/last
   workday of the week, days since the last entry, the usual entry time and its spread (the
   regularity of the entry hour), home county; then the
   rules, every threshold a named parameter of the policy, give ``daily``, ``weekly`` or none.

Thresholds are compared in integer arithmetic (shares as per-mille), so both engines decide
exactly alike.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
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

from commutepass.domain.commuters import Features, Outcome
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
    ]
)
RESULT_COLUMNS = (
    "person_id",
    "outcome",
    "span_days",
    "span_workdays",
    "entry_days",
    "entry_workdays",
    "active_weeks",
    "edge_entries",
    "days_since_last_entry",
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
        digest = hashlib.sha256(json.dumps([ring.provinces, ring.prefectures]).encode()).hexdigest()[:12]
        return self.root / "activity" / f"ring-{digest}"

    def activity_file(self, ring: RingArea, day: date) -> Path:
        return self.activity_dir(ring) / f"{day.isoformat()}.parquet"

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


class DuckDBEngine:
    """The embedded default: an in-process DuckDB over the Parquet files."""

    name = "duckdb"

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.con = ibis.duckdb.connect(
            **({"threads": threads} if threads else {}),
            **({"memory_limit": memory_limit} if memory_limit else {}),
        )

    def read(self, paths: list[Path], schema: pa.Schema) -> ir.Table:
        if not paths:
            return ibis.memtable(schema.empty_table())
        return self.con.read_parquet([str(p) for p in paths])

    def to_arrow(self, expr: ir.Table) -> pa.Table:
        return self.con.to_pyarrow(expr)


class SparkEngine:
    """Apache Spark through PySpark: ``local[*]`` by default, or any master URL
    (``COMMUTEPASS_SPARK_MASTER``, e.g. ``spark://host:7077`` or ``yarn``)."""

    name = "spark"

    def __init__(self, master: str | None = None, conf: dict[str, str] | None = None) -> None:
        from pyspark.sql import SparkSession

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
            "first_wd": pa.array([int(d.first_workday_of_week) for d in days], pa.int32()),
            "last_wd": pa.array([int(d.last_workday_of_week) for d in days], pa.int32()),
            "wd_before": pa.array([d.workdays_so_far - d.workday for d in days], pa.int32()),
        }
    )


def _permille(share: float) -> int:
    return round(share * 1000)


def features_and_rules(
    activity: ir.Table, as_of: date, rules: IdentificationRules, cal: pa.Table
) -> ir.Table:
    """Per-person features over the window and the rule that decides (``outcome``)."""
    window = rules.window_days
    total_workdays = int(pc.sum(cal["workday"]).as_py() or 0)
    first = as_of - timedelta(days=window - 1)
    s = activity.filter(
        activity.day.between(ibis.literal(first, type="date"), ibis.literal(as_of, type="date"))
    )
    s = s.join(ibis.memtable(cal), "day")
    entered = s.entered == 1
    minute = s.first_entry_min.cast("int64")  # null on days without an entry
    weeks = range(int(pc.max(cal["week"]).as_py() or 0) + 1)
    # one pass, one row per person: every entry feature filters on the days with an entry
    f = s.group_by("person_id").aggregate(
        passages=s.passages.sum(),
        ring_passages=s.ring_passages.sum(),
        entry_days=s.entered.sum(),
        entry_workdays=(s.workday * s.entered).sum(),
        # active weeks as one flag per calendar week: far cheaper than a distinct count
        **{f"in_week_{w}": ((s.week == w) & entered).cast("int32").max() for w in weeks},
        first_wd_entries=(s.first_wd * s.entered).sum(),
        last_wd_entries=(s.last_wd * s.entered).sum(),
        first_no=s.day_no.min(where=entered),
        last_no=s.day_no.max(where=entered),
        wd_before_first=s.wd_before.min(where=entered),
        home_county=s.entry_county.argmax(s.day_no, where=s.entry_county.notnull()),
        # the usual entry time and its spread, in whole numbers so that engines agree exactly
        entry_min_first=s.first_entry_min.min(),
        entry_min_last=s.first_entry_min.max(),
        entry_min_sum=minute.sum(),
        entry_min_sumsq=(minute * minute).sum(),
    )
    entry_days = f.entry_days.fill_null(0)
    workdays_since_first = total_workdays - f.wd_before_first
    joiner = (entry_days > 0) & (workdays_since_first >= rules.new_joiner_min_workdays)
    f = f.mutate(
        entry_days=entry_days,
        entry_workdays=f.entry_workdays.fill_null(0),
        active_weeks=sum((f[f"in_week_{w}"] for w in weeks), ibis.literal(0)),
        edge_entries=ibis.greatest(f.first_wd_entries, f.last_wd_entries),
        span_days=ibis.ifelse(joiner, window - f.first_no, window),
        span_workdays=ibis.ifelse(joiner, workdays_since_first, total_workdays),
        days_since_last_entry=(window - 1) - f.last_no,
    )
    daily_by_workdays = (f.entry_days >= rules.daily_min_entry_days) & (
        f.entry_workdays * 1000 >= f.span_workdays * _permille(rules.daily_min_workday_share)
    )
    daily_by_shift = (
        (f.entry_days >= rules.daily_min_entry_days)
        & (f.active_weeks >= rules.weekly_min_weeks)
        & (f.entry_days * 1000 >= f.span_days * _permille(rules.daily_min_day_share))
    )
    weekly = (
        (f.active_weeks >= rules.weekly_min_weeks)
        & (f.entry_days * 1000 <= f.active_weeks * _permille(rules.weekly_max_entry_days_per_week))
        & (f.edge_entries >= rules.weekly_min_weeks)
        & (f.edge_entries * 1000 >= f.entry_days * _permille(rules.weekly_min_weekday_share))
    )
    outcome = ibis.cases(
        (f.entry_days == 0, Outcome.NO_ENTRY.value),
        (f.ring_passages * 1000 < f.passages * _permille(rules.ring_share_min), Outcome.NOT_RING.value),
        (f.days_since_last_entry > rules.max_days_since_last_entry, Outcome.LAPSED.value),
        (daily_by_workdays, Outcome.DAILY.value),
        (daily_by_shift, Outcome.SHIFT.value),
        (weekly, Outcome.WEEKLY.value),
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
    memory at Beijing scale); return the days built."""
    stale = [d for d in _window_days(as_of, window_days) if not lake.activity_is_current(ring, d)]
    folder = lake.activity_dir(ring)
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(stale), batch_days):
        days = stale[start : start + batch_days]
        sources = {day: lake.sources_of(day) for day in days}
        files = [p for day in days for p in lake.travel_files(day)]
        table = engine.to_arrow(daily_activity(engine.read(files, TRAVEL_SCHEMA), ring)).cast(ACTIVITY_SCHEMA)
        for day in days:
            part = table.filter(pc.equal(table["day"], pa.scalar(day, pa.date32())))
            tmp = folder / f".{day.isoformat()}.tmp"
            pq.write_table(part, tmp, compression="zstd")
            target = lake.activity_file(ring, day)
            os.replace(tmp, target)
            target.with_suffix(".sources").write_text(sources[day])
    return stale


def run_job(lake: Lake, engine: Engine, as_of: date, rules: IdentificationRules, ring: RingArea) -> JobRun:
    built = refresh_activity(lake, engine, as_of, rules.window_days, ring)
    paths = [lake.activity_file(ring, d) for d in _window_days(as_of, rules.window_days)]
    activity = engine.read(paths, ACTIVITY_SCHEMA)
    expr = features_and_rules(activity, as_of, rules, calendar_table(as_of, rules.window_days))
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
        days_since_last_entry=None
        if row["days_since_last_entry"] is None
        else int(row["days_since_last_entry"]),
        passages=int(row["passages"]),
        ring_passages=int(row["ring_passages"]),
        home_county=row["home_county"],
        entry_from=usual_entry_time(row)[0],
        entry_to=usual_entry_time(row)[1],
    )
