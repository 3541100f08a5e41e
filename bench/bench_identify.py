"""Benchmark: commuter identification at Beijing scale on DuckDB, pandas and Spark.

    uv run python bench/bench_identify.py [--people 1500000] [--days 28] [--write-docs]

Generates the synthetic region once under bench/out/ (``commutepass synth``, Parquet, seed 7,
28 days from 2021-09-13 — Mid-Autumn, National Day and three make-up workdays in the window),
copies its travel rows into a lake (pseudonymous HMAC keys, one folder per day, as
``identify`` keeps it), then measures, each in its own process (wall time and peak RSS):

  1. DuckDB, full run: daily activity of all 28 days from the raw rows, features, rules;
  2. DuckDB, incremental next-day run: the state of the previous day's run is there, only the
     new day's travel rows are read;
  3. pandas: the same rules written plainly in pandas over the same Parquet files;
  4. Spark local[2], full run (the same Ibis definition as 1).

Every engine's output is compared row for row with DuckDB's; the DuckDB output is scored
against the truth file (precision, recall, class agreement). With --write-docs the results
replace the section between the markers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from commutepass.commuters.evaluate import score
from commutepass.commuters.identification import (
    RESULT_COLUMNS,
    RHYTHM_FLAGS,
    DuckDBEngine,
    Lake,
    SparkEngine,
    calendar_table,
    features_and_rules,
    refresh_activity,
    refresh_state,
    run_job,
    write_travel,
)
from commutepass.domain.commuters import Outcome
from commutepass.domain.policy import IdentificationRules, Policy, RingArea
from commutepass.policies import builtin_policies
from commutepass.synth import write_region

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
START = date(2021, 9, 13)
MARK = "bench_identify"


def _policy() -> Policy:
    return builtin_policies().policies[-1]


def _people(region: Path) -> dict[str, int]:
    """A row id per person, as the store gives one (here: the person's line in the truth file)."""
    ids = pq.read_table(region / "truth.parquet", columns=["id_number"])["id_number"].to_pylist()
    return {number: row for row, number in enumerate(ids, start=1)}


def prepare(people: int, days: int, start: date = START, copies: int = 1) -> tuple[Path, Path]:
    """The region (generated once) and its lake; with ``copies`` > 1 the lake holds the region's
    travel that many times over, each copy under its own row ids (copy k: row + k × people), for a
    run on as many travel rows as Beijing's (≈ 80 M) — the synthetic mix makes ≈ 16 rows a person
    over 28 days, and the generator's ID numbers stop at 1.8 M people."""
    tag = "" if start == START else f"-{start.isoformat()}"
    region = OUT / f"region-{people}x{days}{tag}"
    lake_root = OUT / (f"lake-{people}x{days}{tag}" + ("" if copies == 1 else f"-copies{copies}"))
    if not (region / "done").exists():
        shutil.rmtree(region, ignore_errors=True)
        started = time.perf_counter()
        result = write_region(
            region, people=people, days=days, start=start, seed=7, fmt="parquet", progress=True
        )
        (region / "done").write_text(
            json.dumps(
                {
                    "people": people,
                    "travel_rows": result.travel_rows,
                    "seconds": time.perf_counter() - started,
                }
            )
        )
    if not (lake_root / "done").exists():
        shutil.rmtree(lake_root, ignore_errors=True)
        lake = Lake(lake_root)
        source = pq.ParquetFile(region / "travel.parquet")
        row_ids = _people(region)
        for number, batch in enumerate(source.iter_batches(batch_size=4_000_000)):
            ids = batch.column("id_number")
            unique = pc.unique(ids)
            mapped = pc.take(
                pa.array([row_ids[i] for i in unique.to_pylist()], pa.int64()), pc.index_in(ids, unique)
            )
            event_time = pc.strptime(batch.column("event_time"), "%Y-%m-%dT%H:%M", "us")
            for copy in range(copies):
                table = pa.table(
                    {
                        "person_id": pc.add(mapped, copy * people) if copy else mapped,
                        "event_time": event_time,
                        "direction": batch.column("direction"),
                        "mode": batch.column("mode"),
                        "site": batch.column("site"),
                        "county": batch.column("county"),
                    }
                )
                write_travel(lake, table, f"synth-{number}" + (f"-copy{copy}" if copy else ""))
        (lake_root / "done").write_text("ok")
    return region, lake_root


# ── the same rules, written plainly in pandas ──────────────────────────────────────────────


def pandas_identify(lake: Lake, as_of: date, rules: IdentificationRules, ring: RingArea) -> pd.DataFrame:
    window = rules.window_days
    days = [as_of - timedelta(days=n) for n in range(window - 1, -1, -1)]
    files = [p for d in days for p in lake.travel_files(d)]
    t = pd.concat(
        [
            pd.read_parquet(f, columns=["person_id", "event_time", "direction", "site", "county"])
            for f in files
        ]
    )
    t["day"] = t["event_time"].dt.date
    t["entering"] = t["direction"] == "enter"
    t["ring"] = t["county"].str[:2].isin(ring.provinces) | t["county"].str[:4].isin(ring.prefectures)
    t["minute"] = t["event_time"].dt.hour * 60 + t["event_time"].dt.minute
    t["entry_minute"] = t["minute"].where(t["entering"])
    t["entry_county"] = t["county"].where(t["entering"] & t["ring"])
    t["exiting"] = ~t["entering"]
    g = t.groupby(["person_id", "day"], sort=False)
    act = g.agg(
        entered=("entering", "max"),
        exited=("exiting", "max"),
        first_entry_min=("entry_minute", "min"),
        passages=("entering", "size"),
        ring_passages=("ring", "sum"),
        entry_county=("entry_county", "min"),
    ).reset_index()
    del t, g
    cal = calendar_table(as_of, window).to_pandas()
    act = act.merge(cal, on="day")
    everyone = act.groupby("person_id").agg(
        passages=("passages", "sum"), ring_passages=("ring_passages", "sum"), last_seen=("day_no", "max")
    )
    # returns at commuting time (see features_and_rules): at the start of the working week (the
    # day off before it, or its first workday before office hours), at its end (its last workday
    # after office hours, or the day off after it); a start return counts as stayed when no exit
    # follows before the week's last workday in the window
    office_start, office_end = rules.weekly_office_start_hour * 60, rules.weekly_office_end_hour * 60
    off_day = act["workday"] == 0
    minute = act["first_entry_min"]
    act["start_ret"] = act["entered"] & (
        (act["eve"] == 1) | ((act["first_wd"] == 1) & (off_day | (minute < office_start)))
    )
    act["end_ret"] = act["entered"] & (
        (act["after"] == 1) | ((act["last_wd"] == 1) & (off_day | (minute >= office_end)))
    )
    last_of_week = cal[cal["workday"] == 1].groupby("work_week")["day_no"].max()
    stay_until = cal["work_week"].map(last_of_week).fillna(-1).astype(int).to_numpy()  # by day_no
    codes, people_index = pd.factorize(act["person_id"])
    exits = np.zeros((len(people_index), window + 1), dtype=np.int32)  # exits[p, d + 1]: exit on day d
    exit_rows = act["exited"].to_numpy(bool)
    exits[codes[exit_rows], act["day_no"].to_numpy()[exit_rows] + 1] = 1
    before = exits.cumsum(axis=1)  # before[p, d]: exit days before day d
    day_no = act["day_no"].to_numpy()
    until = np.maximum(stay_until[day_no], day_no)
    act["stayed"] = (before[codes, until] - before[codes, day_no]) == 0
    stayed = act[act["start_ret"] & act["stayed"]].groupby("person_id")
    everyone["stayed_starts"] = stayed.size()
    everyone["stayed_start_weeks"] = stayed["work_week"].nunique()
    ends = act[act["end_ret"]].groupby("person_id")
    everyone["end_returns"] = ends.size()
    everyone["end_return_weeks"] = ends["work_week"].nunique()
    e = act[act["entered"]].sort_values(["person_id", "first_entry_min", "day"])
    e["minute_sq"] = e["first_entry_min"].astype("int64") ** 2
    e["start"] = e["start_ret"].astype("int64")
    e["end"] = e["end_ret"].astype("int64")
    entries = e.groupby("person_id").agg(
        entry_days=("day", "size"),
        entry_workdays=("workday", "sum"),
        active_weeks=("work_week", "nunique"),
        calendar_weeks=("week", "nunique"),
        first_wd=("first_wd", "sum"),
        last_wd=("last_wd", "sum"),
        eve=("eve", "sum"),
        after=("after", "sum"),
        start=("start", "sum"),
        end=("end", "sum"),
        first_no=("day_no", "min"),
        last_no=("day_no", "max"),
        entry_min_first=("first_entry_min", "min"),
        entry_min_last=("first_entry_min", "max"),
        entry_min_sum=("first_entry_min", "sum"),
        entry_min_sumsq=("minute_sq", "sum"),
    )
    entries["wd_before_first"] = (e["wd_before"]).groupby(e["person_id"]).min()
    homes = e[e["entry_county"].notna()].sort_values("day_no").groupby("person_id")["entry_county"].last()
    f = everyone.join(entries).join(homes.rename("home_county"))
    total_wd = int(cal["workday"].sum())
    n_days = f["entry_days"].fillna(0).astype("int64")
    since = total_wd - f["wd_before_first"]
    joiner = (n_days > 0) & (since >= rules.new_joiner_min_workdays)
    out = pd.DataFrame(index=f.index)
    out["entry_days"] = n_days
    out["entry_workdays"] = f["entry_workdays"].fillna(0).astype("int64")
    out["active_weeks"] = f["active_weeks"].fillna(0).astype("int64")
    calendar_weeks = f["calendar_weeks"].fillna(0).astype("int64")
    out["edge_entries"] = np.maximum(f["start"].fillna(0), f["end"].fillna(0)).astype("int64")
    # the rhythm: the kind of day with the most entries (ties to the earlier kind)
    kinds = ["eve", "first_wd", "last_wd", "after"]
    names = np.array([k for k, _flag in RHYTHM_FLAGS])
    counts = f[kinds].fillna(0).astype("int64").to_numpy()
    best = counts.max(axis=1)
    pick = counts.argmax(axis=1)
    has = n_days.to_numpy() > 0
    in_window = np.array([int(cal[k].sum()) for k in kinds])
    out["rhythm"] = pd.Series(np.where(has, names[pick], None), index=f.index, dtype=object)
    out["rhythm_entries"] = pd.array(np.where(has, best, 0), dtype="Int64")
    out["rhythm_entries"] = out["rhythm_entries"].where(has)
    out["rhythm_days"] = pd.array(in_window[pick], dtype="Int64")
    out["rhythm_days"] = out["rhythm_days"].where(has)
    out["span_days"] = np.where(joiner, window - f["first_no"].fillna(0), window).astype("int64")
    out["span_workdays"] = np.where(joiner, since.fillna(0), total_wd).astype("int64")
    out["days_since_last_entry"] = ((window - 1) - f["last_no"]).astype("Int64")
    out["days_since_last_passage"] = ((window - 1) - f["last_seen"]).astype("Int64")
    for column in ("stayed_starts", "stayed_start_weeks", "end_returns", "end_return_weeks"):
        out[column] = f[column].fillna(0).astype("int64")
    out["passages"], out["ring_passages"] = f["passages"].astype("int64"), f["ring_passages"].astype("int64")
    out["home_county"] = f["home_county"]
    for column in ("entry_min_first", "entry_min_last", "entry_min_sum", "entry_min_sumsq"):
        out[column] = f[column].astype("Int64")

    def pm(x: float) -> int:
        return round(x * 1000)

    o = out
    daily = (o.entry_days >= rules.daily_min_entry_days) & (
        o.entry_workdays * 1000 >= o.span_workdays * pm(rules.daily_min_workday_share)
    )
    shift = (
        (o.entry_days >= rules.daily_min_entry_days)
        & (calendar_weeks >= rules.weekly_min_weeks)
        & (o.entry_days * 1000 >= o.span_days * pm(rules.daily_min_day_share))
    )
    weekly = (
        (o.active_weeks >= rules.weekly_min_weeks)
        & (o.entry_days * 1000 <= o.active_weeks * pm(rules.weekly_max_entry_days_per_week))
        & (o.edge_entries >= rules.weekly_min_weeks)
        & (o.edge_entries * 1000 >= o.entry_days * pm(rules.weekly_min_weekday_share))
    )
    per_week = cal.groupby("work_week")["workday"].sum()
    short_window = int((per_week >= rules.weekly_full_week_min_workdays).sum()) <= rules.weekly_min_weeks
    other = rules.weekly_short_window_other_entries
    weekly_short = (
        short_window
        & (
            (o.stayed_start_weeks >= rules.weekly_short_window_min_weeks)
            & (o.stayed_starts + other >= o.entry_days)
            | (o.end_return_weeks >= rules.weekly_short_window_min_weeks)
            & (o.end_returns + other >= o.entry_days)
        )
        & (o.entry_days * 1000 <= o.active_weeks * pm(rules.weekly_max_entry_days_per_week))
    )
    o["outcome"] = np.select(
        [
            o.entry_days == 0,
            o.ring_passages * 1000 < o.passages * pm(rules.ring_share_min),
            (o.days_since_last_passage > rules.max_days_since_last_entry).fillna(False),
            daily,
            shift,
            weekly | weekly_short,
        ],
        [Outcome.NO_ENTRY, Outcome.NOT_RING, Outcome.LAPSED, Outcome.DAILY, Outcome.SHIFT, Outcome.WEEKLY],
        default=Outcome.IRREGULAR,
    )
    o["outcome"] = o["outcome"].astype(str)
    return o.reset_index().sort_values("person_id")[list(RESULT_COLUMNS)]


class PeakMemory:
    """Peak resident memory of this process plus its children (Spark's JVM), sampled every 0.1 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = me.memory_info().rss
            for kid in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # a child may end between listing and reading
                    total += kid.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _cpu() -> float:
    """CPU seconds (user + system) used so far by this process and its live children (Spark's JVM)."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for kid in me.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(kid.cpu_times()[:2])
    return total


# ── one measured run per process ───────────────────────────────────────────────────────────


def child(run: str, lake_root: Path, as_of: date, out: Path) -> None:
    policy = _policy()
    rules, ring = policy.commuters.identification, policy.ring_area
    lake = Lake(lake_root)
    sampler = PeakMemory()
    cpu_started = _cpu()
    started = time.perf_counter()
    info: dict[str, Any] = {}
    if run == "pandas":
        frame = pandas_identify(lake, as_of, rules, ring)
        table = pa.Table.from_pandas(frame, preserve_index=False)
    elif run == "duckdb-steps":  # the job's steps timed one by one (run_job's body, in order)
        steps: dict[str, float] = {}
        mark = time.perf_counter()

        def step(name: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            steps[name] = round(now - mark, 2)
            mark = now

        engine = DuckDBEngine()
        step("engine start")
        built = refresh_activity(lake, engine, as_of, rules.window_days, ring)
        step("daily activity")
        state = refresh_state(lake, engine, as_of, rules.window_days, ring)
        step("rolling state")
        expr = features_and_rules(state, as_of, rules, calendar_table(as_of, rules.window_days))
        table = engine.to_arrow(expr.order_by("person_id"))
        step("features and rules")
        info["steps"] = steps
        info["days_built"] = len(built)
    else:
        engine = SparkEngine(master="local[2]") if run == "spark" else DuckDBEngine()
        if run == "spark":
            info["session_start_seconds"] = round(time.perf_counter() - started, 1)
        job = run_job(lake, engine, as_of, rules, ring)
        table = job.result
        info["days_built"] = len(job.days_built)
    seconds = time.perf_counter() - started
    sampler.stop()
    info["cpu_seconds"] = round(_cpu() - cpu_started, 1)
    info["load_average"] = round(os.getloadavg()[0], 1)  # the machine is shared
    pq.write_table(table, out)
    peak = sampler.peak / 2**20
    print(
        json.dumps(
            {
                "run": run,
                "seconds": round(seconds, 2),
                "peak_mb": round(peak),
                "people": table.num_rows,
                **info,
            }
        )
    )


def _measure(run: str, lake_root: Path, as_of: date, out: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        run,
        "--lake",
        str(lake_root),
        "--as-of",
        as_of.isoformat(),
        "--result",
        str(out),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def _same(a: pa.Table, b: pa.Table) -> float:
    """Share of people on whom two outputs agree in every column."""
    left = a.select(list(RESULT_COLUMNS)).to_pandas().set_index("person_id")
    right = b.select(list(RESULT_COLUMNS)).to_pandas().set_index("person_id").reindex(left.index)
    equal = pd.Series(True, index=left.index)
    for column in left.columns:
        x, y = left[column], right[column]
        if pd.api.types.is_numeric_dtype(x) or pd.api.types.is_numeric_dtype(y):
            x, y = x.astype("Float64"), y.astype("Float64")  # ints with nulls come out as floats
        else:
            x, y = x.astype("string"), y.astype("string")
        equal &= (x == y).fillna(False) | (x.isna() & y.isna())
    return float(equal.mean()) if len(equal) and len(left) == len(b) else 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=1_500_000)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument(
        "--start",
        type=date.fromisoformat,
        default=START,
        help="first day of the region (default 2021-09-13: the window holding National Day)",
    )
    parser.add_argument(
        "--copies", type=int, default=1, help="the region's travel this many times over in the lake"
    )
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--skip", default="", help="comma-separated runs to skip: pandas,spark")
    parser.add_argument("--steps", action="store_true", help="also time the DuckDB job's steps one by one")
    parser.add_argument("--repeat", type=int, default=3, help="DuckDB runs: repeat, report the median")
    parser.add_argument("--child")
    parser.add_argument("--lake", type=Path)
    parser.add_argument("--as-of")
    parser.add_argument("--result", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.lake, date.fromisoformat(args.as_of), args.result)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    region, lake_root = prepare(args.people, args.days, args.start, args.copies)
    meta = json.loads((region / "done").read_text())
    as_of = args.start + timedelta(days=args.days - 1)
    lake = Lake(lake_root)
    activity = lake.root / "activity"
    results: dict[str, dict[str, Any]] = {}
    outputs: dict[str, Path] = {}

    def run(label: str, kind: str, day: date, fresh: bool, repeat: int = 1) -> None:
        """Measure ``repeat`` times (the machine is shared) and keep the median run."""
        outputs[label] = OUT / f"result-{label}.parquet"
        runs = []
        for _ in range(repeat):
            if fresh:
                shutil.rmtree(activity, ignore_errors=True)
            else:  # the new day is built again each time; the other days' state is reused
                for stale in [
                    *activity.glob(f"*/{day.isoformat()}.*"),
                    *activity.glob(f"*/state-*/{day.isoformat()}.*"),
                ]:
                    stale.unlink()
            runs.append(_measure(kind, lake_root, day, outputs[label]))
        runs.sort(key=lambda r: float(r["seconds"]))
        results[label] = {**runs[len(runs) // 2], "all_seconds": [r["seconds"] for r in runs]}

    run("duckdb_full", "duckdb", as_of, fresh=True, repeat=args.repeat)
    run("duckdb_prepare_previous_day", "duckdb", as_of - timedelta(days=1), fresh=True)
    run("duckdb_incremental", "duckdb", as_of, fresh=False, repeat=args.repeat)
    skip = set(args.skip.split(","))
    if "pandas" not in skip:
        run("pandas", "pandas", as_of, fresh=False)
    if "spark" not in skip:
        run("spark_local2_full", "spark", as_of, fresh=True)
    if args.steps:  # the step breakdown: a full run (of the previous day's window), then the next day
        run("steps_full", "duckdb-steps", as_of - timedelta(days=1), fresh=True)
        run("steps_next_day", "duckdb-steps", as_of, fresh=False)
    reference = pq.read_table(outputs["duckdb_full"])
    agreement = {
        label: _same(reference, pq.read_table(path))
        for label, path in outputs.items()
        if label not in ("duckdb_prepare_previous_day", "steps_full")
    }
    truth = pq.read_table(region / "truth.parquet", columns=["id_number", "behaviour", "expected_class"])
    found = dict(zip(reference["person_id"].to_pylist(), reference["outcome"].to_pylist(), strict=True))
    people = _people(region)
    classes = {o.value: (o.commuter_class.value if o.commuter_class else "") for o in Outcome}
    quality = score(
        (b, e, classes[found.get(people[i], "no_entry")])
        for i, b, e in zip(*(truth[c].to_pylist() for c in truth.column_names), strict=True)
    )
    summary = {
        "meta": meta,
        "copies": args.copies,
        "lake_travel_rows": meta["travel_rows"] * args.copies,
        "results": results,
        "agreement_with_duckdb": agreement,
        "quality": quality.overall.as_dict(),
    }
    print(json.dumps(summary, indent=1))
    (OUT / "bench_identify.json").write_text(
        json.dumps(
            {**summary, "by_behaviour": {k: v.as_dict() for k, v in quality.by_behaviour.items()}}, indent=1
        )
    )
    if args.write_docs:
        write_docs(args, meta, results, agreement, quality)


def write_docs(
    args: argparse.Namespace,
    meta: dict[str, Any],
    results: dict[str, dict[str, Any]],
    agreement: dict[str, float],
    quality: Any,
) -> None:
    full = results["duckdb_full"]
    inc = results["duckdb_incremental"]

    def row(label: str, what: str) -> str:
        r = results.get(label)
        if r is None:
            return f"| {what} | not run | | | | |"
        ratio = r["seconds"] / full["seconds"]
        runs = ", ".join(f"{x:.1f}" for x in r["all_seconds"]) if len(r["all_seconds"]) > 1 else ""
        seconds = f"{r['seconds']:.1f} s" + (f" (median of {runs})" if runs else "")
        cpu = f"{r['cpu_seconds']:.0f} s, {r['load_average']:.1f}" if "cpu_seconds" in r else ""
        return (
            f"| {what} | {seconds} | {r['peak_mb'] / 1024:.2f} GB | {ratio:.2f}× DuckDB full "
            f"| {agreement.get(label, 0):.4%} | {cpu} |"
        )

    steps = []
    if "steps_full" in results and "steps_next_day" in results:
        full_steps, next_steps = results["steps_full"]["steps"], results["steps_next_day"]["steps"]
        total_full, total_next = sum(full_steps.values()), sum(next_steps.values())
        steps = [
            "",
            "Steps of the DuckDB job timed one by one in one process (`--child duckdb-steps`): a full run "
            "of the previous day's window, then the next day's run:",
            "",
            "| step | full run | next-day run |",
            "|---|---|---|",
            *[
                f"| {name} | {full_steps[name]:.1f} s ({full_steps[name] / total_full:.0%}) "
                f"| {next_steps[name]:.1f} s ({next_steps[name] / total_next:.0%}) |"
                for name in full_steps
            ],
            f"| total | {total_full:.1f} s | {total_next:.1f} s ({total_next / total_full:.0%} of the full run) |",
        ]
    o = quality.overall
    lines = [
        f"<!-- {MARK}:start -->",
        f"Command: `uv run python bench/bench_identify.py --people {args.people} --days {args.days} "
        f"--start {args.start} --repeat {args.repeat}"
        + (f" --skip {args.skip}" if args.skip else "")
        + (" --steps" if args.steps else "")
        + " --write-docs`",
        f"Data: {meta['people']:,} people × {args.days} days from {args.start} (seed 7, Parquet), "
        f"{meta['travel_rows']:,} travel rows; generated in {meta['seconds']:.0f} s. "
        f"Machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()} (shared with other work while measured).",
        "",
        "| run | wall time | peak RSS | vs DuckDB full | same output as DuckDB | CPU time, load average at its end |",
        "|---|---|---|---|---|---|",
        row("duckdb_full", "DuckDB, full run (28 days of raw rows)"),
        row("duckdb_incremental", "DuckDB, incremental next day (1 new day read, 27 reused)"),
        row("pandas", "pandas, the same rules written plainly"),
        row("spark_local2_full", "Spark local[2], full run (same Ibis definition)"),
        "",
        f"Incremental / full: {inc['seconds'] / full['seconds']:.1%}. "
        + (
            f"pandas / DuckDB: {results['pandas']['seconds'] / full['seconds']:.1f}×. "
            if "pandas" in results
            else ""
        )
        + (
            f"Spark session start-up: {results['spark_local2_full'].get('session_start_seconds')} s (included)."
            if "spark_local2_full" in results
            else ""
        ),
        *steps,
        "",
        f"Quality at this scale (DuckDB output against the truth file): precision {o.precision:.4f}, "
        f"recall {o.recall:.4f}, class agreement {o.class_agreement:.4f} "
        f"({o.true_positive:,} commuters found, {o.false_positive:,} false, {o.false_negative:,} missed).",
        f"<!-- {MARK}:end -->",
    ]
    docs = ROOT / "docs" / "benchmarks.md"
    text = docs.read_text(encoding="utf-8")
    block = "\n".join(lines)
    pattern = re.compile(rf"<!-- {MARK}:start -->.*?<!-- {MARK}:end -->", re.S)
    text = (
        pattern.sub(block, text)
        if pattern.search(text)
        else text.rstrip() + "\n\n## Commuter identification\n\n" + block + "\n"
    )
    docs.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
