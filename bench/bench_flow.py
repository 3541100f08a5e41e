"""Benchmark: what the flow bookkeeping costs the checks.

    uv run python bench/bench_flow.py [--people 5000] [--rows 20000] [--repeats 5] [--write-docs]

Every stored swipe is also counted into its entry channel's minute (``flow.repository.count``,
called by ``checks.service.store`` in the swipe's transaction). This measures check throughput
with that counting and with it switched off (the function replaced by a no-op), in the same
process on the same store, alternating on/off ``--repeats`` rounds (the order flips each round).
The cost of a path is 1 − the median over rounds of (rate with counting / rate without) — each
ratio from two runs a few seconds apart, so a load change on the shared machine moves both. Beside
it, the share of each counting-on run's CPU time (the process, all threads) spent inside
``flow.repository.count`` (the counting thread's CPU time): the direct figure, which other
processes on the machine and waits for the GIL do not move. The paths:

  1. the server's check path without HTTP: each check decided (``checks.service.decide``) and
     handed to the group-commit writer as ``POST /v1/checks`` does, timed until all are stored;
  2. the writer alone: ``--rows`` swipes decided beforehand, handed over at once (batches of up to
     512 a commit) — the store's share of a check, the pessimistic view;
  3. ``check --batch`` in process (decide, render, record; 1000 swipes a commit);
  4. single checks, one transaction each (``checks.service.check``), ``--rows``/10 of them.

The swipes' times are a morning's: ``--per-second`` city-wide (default 100, i.e. 360,000 an hour),
spread over the sites and 4 lanes of the synthetic region, so a commit covers a few channels and
minutes as it would in service.

The data is a synthetic region (``commutepass.synth``) in a temporary directory, SQLite store.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench_checks import build  # bench/ is on sys.path when run as a script
from commutepass.checks import service as checks
from commutepass.checks.writer import SwipeWriter
from commutepass.domain.clock import parse_time
from commutepass.kit import audit
from commutepass.kit.context import App
from docs_section import publish

MARK = "bench_flow"
OFFICER = audit.Actor("bench-officer", "officer")
REAL_COUNT = checks.flow_repository.count
INSIDE = [0.0]
"""CPU seconds spent inside ``flow.repository.count`` since the last reset (counting on): the
calling thread's own CPU time, so neither waiting for the GIL nor other processes on the machine
count in it."""


def _timed_count(conn: Any, swipes: Any) -> None:
    started = time.thread_time()
    try:
        REAL_COUNT(conn, swipes)
    finally:
        INSIDE[0] += time.thread_time() - started


class Clock:
    """A timed section: wall seconds (for the rate) and the process's CPU seconds, all threads."""

    def __enter__(self) -> Clock:
        INSIDE[0] = 0.0
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        self.inside = INSIDE[0]


Timed = tuple[int, Clock]


def _counting(on: bool) -> None:
    checks.flow_repository.count = _timed_count if on else (lambda conn, swipes: None)  # type: ignore[assignment]


PER_SECOND = 100


def _requests(truth: list[dict[str, str]], rows: int, day: date) -> list[checks.CheckRequest]:
    start = parse_time(f"{day.isoformat()}T06:00")
    return [
        checks.CheckRequest(
            truth[i % len(truth)]["id_number"],
            start + timedelta(seconds=i / PER_SECOND),
            truth[i % len(truth)]["site"],
            checks.parse_mode(truth[i % len(truth)]["mode"]),
            lane=f"L{i % 4 + 1}",
        )
        for i in range(rows)
    ]


def bench_writer(app: App, requests: list[checks.CheckRequest]) -> Timed:
    with app.engine.connect() as conn:
        session = checks.CheckSession(app, conn)
        swipes = [session.decide(r).swipe() for r in requests]
    writer = SwipeWriter(app)
    try:
        with Clock() as clock:
            futures = [writer.submit(s, OFFICER) for s in swipes]
            for f in futures:
                f.result()
        return len(swipes), clock
    finally:
        writer.close()


def bench_pipeline(app: App, requests: list[checks.CheckRequest]) -> Timed:
    writer = SwipeWriter(app)
    try:
        with Clock() as clock:
            futures = [writer.submit(checks.decide(app, r).swipe(), OFFICER) for r in requests]
            for f in futures:
                f.result()
        return len(requests), clock
    finally:
        writer.close()


def write_batch(path: Path, requests: list[checks.CheckRequest]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["id_number", "at", "site", "mode", "smartphone", "companions"])
        for r in requests:
            out.writerow([r.id_number, r.at.isoformat(), r.site, r.mode.value, "true", ""])


def bench_batch(app: App, path: Path) -> Timed:
    with Clock() as clock:
        n = sum(1 for line in checks.check_batch(app, path) if "decision" in line)
    return n, clock


def bench_single(app: App, requests: list[checks.CheckRequest]) -> Timed:
    with Clock() as clock:
        for r in requests:
            checks.check(app, r)
    return len(requests), clock


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=5_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--per-second", type=int, default=100)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    global PER_SECOND
    PER_SECOND = args.per_second
    kinds = ("pipeline", "writer", "batch", "single")
    results: dict[str, dict[bool, list[float]]] = {k: {True: [], False: []} for k in kinds}
    shares: dict[str, list[float]] = {k: [] for k in kinds}

    def timed(kind: str, on: bool, run: Timed) -> None:
        """Keep a run's rate and, counting on, the share of its CPU time spent counting."""
        n, clock = run
        results[kind][on].append(n / clock.wall)
        if on:
            shares[kind].append(clock.inside / clock.cpu)

    with tempfile.TemporaryDirectory(prefix="commutepass-bench-flow-") as tmp:
        data_dir = Path(tmp)
        t0 = time.perf_counter()
        app, truth = build(data_dir, args.people)
        build_s = time.perf_counter() - t0
        day = date(2021, 11, 29)
        for rep in range(args.repeats):
            for on in (True, False) if rep % 2 == 0 else (False, True):
                _counting(on)
                # a fresh day per run and path: every run writes new minutes, as a morning does
                run = len(results["writer"][True]) + len(results["writer"][False])
                run_day = day + timedelta(days=4 * run)
                timed("pipeline", on, bench_pipeline(app, _requests(truth, args.rows, run_day)))
                timed(
                    "writer", on, bench_writer(app, _requests(truth, args.rows, run_day + timedelta(days=1)))
                )
                path = data_dir / "batch.csv"
                write_batch(path, _requests(truth, args.rows, run_day + timedelta(days=2)))
                timed("batch", on, bench_batch(app, path))
                single = _requests(truth, args.rows // 10, run_day + timedelta(days=3))
                timed("single", on, bench_single(app, single))
                print(
                    f"repeat {rep + 1} counting {'on' if on else 'off'}: "
                    + ", ".join(f"{k} {v[on][-1]:,.0f}/s" for k, v in results.items()),
                    file=sys.stderr,
                )
        _counting(True)
        app.close()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    command = " ".join(["uv run python bench/bench_flow.py", *sys.argv[1:]])

    def row(name: str, what: str, n: int) -> str:
        on, off = results[name][True], results[name][False]
        ratios = sorted(a / b for a, b in zip(on, off, strict=True))
        cost = (1 - statistics.median(ratios)) * 100
        spread = f"{(1 - ratios[-1]) * 100:+.1f} … {(1 - ratios[0]) * 100:+.1f} %"
        inside = statistics.median(shares[name]) * 100
        return (
            f"| {what} ({n} swipes a run) | {statistics.median(off):,.0f} | {statistics.median(on):,.0f} "
            f"| {cost:+.1f} % | {spread} | {inside:.1f} % |"
        )

    publish(
        MARK,
        [
            f"Command: `{command}` — {args.people} synthetic people × 28 days (built and loaded in {build_s:.0f} s); "
            f"{args.repeats} rounds, counting on and off alternating (order flipped each round); {platform.machine()}, {os.cpu_count()} cores "
            f"(load average {load} at the end: the machine is shared), Python {platform.python_version()}, "
            f"SQLite store; swipes timed at {PER_SECOND} a second city-wide over the sites and 4 lanes; "
            f"measured {date.today().isoformat()}.",
            "",
            "| path | checks/s without flow counting (median) | checks/s with (median) "
            "| cost: 1 − median of the rounds' on/off ratios | cost, range over rounds "
            "| CPU time inside the counting (median share of a counting-on run's CPU time) |",
            "|---|---:|---:|---:|---:|---:|",
            row("pipeline", "decide + group-commit writer (the server's check path without HTTP)", args.rows),
            row("writer", "group-commit writer alone, swipes decided beforehand", args.rows),
            row("batch", "`check --batch` in process", args.rows),
            row("single", "single checks, one transaction each", args.rows // 10),
        ],
        write_docs=args.write_docs,
    )


if __name__ == "__main__":
    main()
