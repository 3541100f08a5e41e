"""Benchmark: the what-if replay (issue 12) on the local engine and on Spark local[2].

    uv run python bench/bench_whatif.py [--people 20000] [--write-docs]

Builds the demo region once under bench/out/whatif-PEOPLE/ (``commutepass demo --no-serve``: the
synthetic region of PEOPLE people × 28 days loaded into SQLite, identified, and its last 7 days
of entries recorded as checks), then replays the candidate ``docs/whatif/nat-7-days.toml`` with the
real command line, each run in its own process tree:

  1. the local engine (a pool of 2 processes) over windows of 1, 3 and 7 days: how the time grows
     with the days replayed;
  2. Spark local[2] over the 7-day window (the same partitions, the facts through the lake).

Each run's wall time, items (checks + daily statuses), re-decisions (two per item: candidate and
baseline), re-decisions per second and peak memory (the whole process tree's resident set,
sampled every 0.1 s, and the largest single process) are reported. The two engines' reports are
compared (they must be equal). With --write-docs the table replaces the section between the
markers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psutil

from docs_section import publish  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
CANDIDATE = ROOT / "docs" / "whatif" / "nat-7-days.toml"
LAST = date(2021, 11, 28)  # the demo's last day; its last 7 days of entries are recorded checks
SECRET = "bench-whatif-secret"
FULL_ITEMS = 3_000_000 * 7 + 1_500_000 * 7
"""The issue's size: 3 M checks a day × 7 days, plus the daily status of 1.5 M people × 7 days."""


def _cli(data: Path, *args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("commutepass")), "--data-dir", str(data), *args]


def _env() -> dict[str, str]:
    return {**os.environ, "COMMUTEPASS_SECRET": SECRET, "COMMUTEPASS_SPARK_MASTER": "local[2]"}


def build(people: int) -> Path:
    data = ROOT / "bench" / "out" / f"whatif-{people}"
    if (data / "built").exists():
        return data
    data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run(
        _cli(data, "demo", "--people", str(people), "--no-serve"),
        check=True,
        env=_env(),
        stdout=subprocess.DEVNULL,
    )
    (data / "built").write_text(f"{time.perf_counter() - started:.0f}")
    return data


def _tree_rss(proc: psutil.Process) -> tuple[int, int]:
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    sizes = []
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            sizes.append(p.memory_info().rss)
    return sum(sizes), max(sizes, default=0)


def measure(data: Path, days: int, engine: str) -> dict[str, Any]:
    first = LAST - timedelta(days=days - 1)
    out = data / f"report-{engine}-{days}d"
    args = _cli(
        data,
        "whatif",
        "--policy",
        str(CANDIDATE),
        "--from",
        first.isoformat(),
        "--to",
        LAST.isoformat(),
        "--engine",
        engine,
        "--out",
        str(out),
        "--workers",
        "2",
    )
    peak = [0, 0]
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    watched = psutil.Process(proc.pid)
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            total, largest = _tree_rss(watched)
            peak[0], peak[1] = max(peak[0], total), max(peak[1], largest)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"whatif failed: {stdout.decode()}")
    line = json.loads(stdout.decode().strip().splitlines()[-1])
    items = line["checks"] + line["statuses"]
    return {
        "engine": engine,
        "days": days,
        "checks": line["checks"],
        "statuses": line["statuses"],
        "items": items,
        "wall": wall,
        "per_second": 2 * items / wall,
        "tree_mb": peak[0] / 2**20,
        "largest_mb": peak[1] / 2**20,
        "report": out / "report.json",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--write-docs", action="store_true")
    options = parser.parse_args()
    data = build(options.people)
    built = (data / "built").read_text()
    runs = [measure(data, d, "local") for d in (1, 3, 7)]
    runs.append(measure(data, 7, "spark"))

    def report(path: Path) -> dict[str, Any]:
        body = json.loads(path.read_text(encoding="utf-8"))
        body["meta"].pop("engine")
        return body

    same = report(runs[2]["report"]) == report(runs[3]["report"])
    week = runs[2]
    rate = week["items"] / week["wall"]
    lines = [
        f"Command: `uv run python bench/bench_whatif.py --people {options.people} --write-docs` — the demo region "
        f"of {options.people:,} people × 28 days (built, loaded, identified and its last 7 days of entries "
        f"recorded as checks in {built} s), candidate `docs/whatif/nat-7-days.toml`; "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite store; "
        f"measured {date.today().isoformat()}.",
        "",
        "| engine | days | checks | daily statuses | wall time | re-decisions/s | peak RSS, process tree | largest process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r['engine']}{' (2 processes)' if r['engine'] == 'local' else ' local[2]'} | {r['days']} | "
            f"{r['checks']:,} | {r['statuses']:,} | {r['wall']:.1f} s | {r['per_second']:,.0f} | "
            f"{r['tree_mb']:,.0f} MB | {r['largest_mb']:,.0f} MB |"
        )
    lines += [
        "",
        f"The 7-day reports of the two engines are {'identical' if same else 'DIFFERENT'}.",
        f"Extrapolation (not measured): the issue's week, {FULL_ITEMS:,} items (21 M checks + 10.5 M daily "
        f"statuses), at the 7-day local rate of {rate:,.0f} items/s would take about "
        f"{FULL_ITEMS / rate / 3600:,.1f} hours on this machine — the 10-minute target is not met.",
    ]
    publish("bench_whatif", lines, write_docs=options.write_docs)


if __name__ == "__main__":
    main()
