"""Benchmark: one run of the scheduled ``notifications`` job's scan at a city's scale.

    uv run python bench/bench_notifications.py [--people 20000[,100000]] [--repeats 3]
        [--postgres] [--postgres-people 20000] [--write-docs]

The ``notifications`` job (``jobs.service.notifications_job``, cron every 5 minutes) calls
``notifications.service.refresh(app, now=...)``. Its ``_badges`` step reads every commuter-database
member's latest negative NAT report and last entry into Beijing before it narrows them to the few
whose badge can change (the candidates), whose facts it then reads one by one. This measures how
long one run takes, and the figure that says whether the 5-minute period is safe: the duty cycle,
a run's wall time / 300 s (the job's period), measured in the same run.

For each ``--people`` size (a synthetic region, ``commutepass.synth``, 28 days, built by
``bench_checks.build``: loaded, then identified as of the last day and one and two weeks before, so
the commuter database is filled), on SQLite and, with ``--postgres``, on a throw-away PostgreSQL
cluster (``serving.Cluster``; sizes ``--postgres-people``, default all of ``--people``):

  1. a first run at T (``--at``, default the data's second-to-last day 09:00 Beijing): it makes the
     messages due then;
  2. a second run at the same T, ``--repeats`` times (nothing new to make: the pure scan the job
     repeats every 5 minutes); the median and range are shown;
  3. a run at T + 5 minutes (what the next scheduled run does).

Each run: wall seconds, the bench process's CPU seconds (and, on PostgreSQL, the server processes'
CPU seconds), the messages made (``refresh``'s counts), the members scanned
(``notifications.repository.members``), the candidates reached in ``_badges`` (people whose facts
were read), and the wall seconds of the steps, timed by wrapping the product's functions from here
(the product code is not changed): ``_entries``, ``_decisions``, ``_badges`` and, inside
``_badges``, the members query, the NAT reports, the last entries, the risk-county trips, the facts
reads and status assessments of the candidates; and the messages' writing (``_Teller.tell``,
across all steps). Beside each figure, the 1-minute load average and the CPU count: the machine is
shared.

Note: ``identify`` itself calls ``refresh`` at the system clock, so by the time of run 1 the
"entry added / ended" messages of the build's entries are already made (told once).

With --write-docs the table replaces the section between the markers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

import serving  # bench/ is on sys.path when run as a script
from bench_checks import START, build
from commutepass.domain.clock import BEIJING
from commutepass.kit.context import App
from commutepass.notifications import repository as repo
from commutepass.notifications import service
from commutepass.store.facts import FactReader
from docs_section import publish

MARK = "bench_notifications"
PERIOD_S = 300.0
"""The job's period (cron every 5 minutes)."""
DAYS = 28

STEP_NAMES = {
    "entries": "`_entries`",
    "decisions": "`_decisions`",
    "badges": "`_badges`",
    "members": "members query",
    "reports": "latest NAT reports",
    "last_entries": "last entries",
    "risk_trips": "risk-county trips",
    "facts": "candidates' facts",
    "assess": "candidates' status",
    "tell": "messages (`tell`)",
    "body": "… rendering the text",
    "add": "… looking up / adding the row",
}


@dataclass
class Probe:
    """Wall seconds per wrapped step and the sizes seen, since the last reset."""

    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    members: int = 0
    candidates: int = 0
    events: int = 0
    """Calls of ``_Teller.tell``: events looked at, whether already told or new."""

    def reset(self) -> None:
        self.seconds.clear()
        self.members = self.candidates = self.events = 0


PROBE = Probe()


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            PROBE.seconds[name] += time.perf_counter() - started

    return wrapper


def _wrap(owner: object, name: str, label: str) -> None:
    setattr(owner, name, _timed(label, getattr(owner, name)))


def _instrument() -> None:
    """Wrap the steps of ``refresh`` where it looks them up (module and class attributes), to time
    them and count the members and candidates; the product's code is unchanged."""
    members = repo.members

    def counted_members(*args: Any, **kwargs: Any) -> Any:
        found = members(*args, **kwargs)
        PROBE.members += len(found)
        return found

    repo.members = counted_members
    tell = service._Teller.tell

    def counted_tell(*args: Any, **kwargs: Any) -> None:
        PROBE.events += 1
        tell(*args, **kwargs)

    teller: Any = service._Teller
    teller.tell = counted_tell
    for owner, name, label in [
        (repo, "members", "members"),
        (repo, "latest_negative_reports", "reports"),
        (repo, "last_entries", "last_entries"),
        (repo, "travelled_to_risk_counties", "risk_trips"),
        (service, "_entries", "entries"),
        (service, "_decisions", "decisions"),
        (service, "_badges", "badges"),
        (service, "assess_status", "assess"),
        (service._Teller, "tell", "tell"),
        (service, "_body", "body"),
        (repo, "add_message", "add"),
    ]:
        _wrap(owner, name, label)

    class CountingReader(FactReader):
        def facts(self, *args: Any, **kwargs: Any) -> Any:
            PROBE.candidates += 1
            started = time.perf_counter()
            try:
                return super().facts(*args, **kwargs)
            finally:
                PROBE.seconds["facts"] += time.perf_counter() - started

    service_module: Any = service
    service_module.FactReader = CountingReader


@dataclass
class Run:
    label: str
    wall: float
    cpu: float
    server_cpu: float | None
    made: dict[str, int]
    members: int
    candidates: int
    events: int
    steps: dict[str, float]
    load: float

    @property
    def duty(self) -> float:
        return self.wall / PERIOD_S


def _cpu_of(processes: list[psutil.Process]) -> dict[int, float]:
    found = {}
    for p in processes:
        try:
            times = p.cpu_times()
            found[p.pid] = times.user + times.system
        except psutil.Error:
            continue
    return found


def timed_refresh(app: App, label: str, at: datetime, cluster: serving.Cluster | None) -> Run:
    PROBE.reset()
    before = _cpu_of(cluster.processes()) if cluster else {}
    wall, cpu = time.perf_counter(), time.process_time()
    made = service.refresh(app, now=at)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server_cpu = None
    if cluster:
        after = _cpu_of(cluster.processes())
        server_cpu = sum(v - before.get(pid, 0.0) for pid, v in after.items())
    run = Run(
        label,
        wall,
        cpu,
        server_cpu,
        made,
        PROBE.members,
        PROBE.candidates,
        PROBE.events,
        dict(PROBE.seconds),
        os.getloadavg()[0],
    )
    print(
        f"  {label}: {wall:.2f} s wall, {cpu:.2f} s CPU, made {sum(made.values())} {dict(made)}, "
        f"{run.members} members, {run.candidates} candidates, {run.events} events, "
        + ", ".join(f"{k} {v:.2f}" for k, v in run.steps.items())
        + f", load {run.load:.1f}",
        file=sys.stderr,
    )
    return run


@dataclass
class Case:
    people: int
    engine: str
    build_s: float
    first: Run
    repeats: list[Run]
    next_run: Run


def bench_case(
    people: int, engine: str, at: datetime, repeats: int, url: str | None, cluster: serving.Cluster | None
) -> Case:
    print(f"{people} people on {engine}: building", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="commutepass-bench-notify-") as tmp:
        started = time.perf_counter()
        app, _truth = build(Path(tmp), people, url)
        build_s = time.perf_counter() - started
        print(f"  built in {build_s:.0f} s", file=sys.stderr)
        try:
            first = timed_refresh(app, "first run at T", at, cluster)
            again = [timed_refresh(app, f"again at T ({i + 1})", at, cluster) for i in range(repeats)]
            later = timed_refresh(app, "at T + 5 min", at + timedelta(minutes=5), cluster)
        finally:
            app.close()
    return Case(people, engine, build_s, first, again, later)


@contextmanager
def postgres() -> Iterator[tuple[str, serving.Cluster]]:
    cluster = serving.Cluster("notifications-postgres.log")
    try:
        yield cluster.start("notifications"), cluster
    finally:
        cluster.stop()


def _sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def _made(made: dict[str, int]) -> str:
    if not made:
        return "0"
    return f"{sum(made.values()):,} (" + ", ".join(f"{k} {v:,}" for k, v in sorted(made.items())) + ")"


def _row(case: Case, run: Run, label: str, wall: str, cpus: int) -> str:
    server = f"{run.server_cpu:.2f}" if run.server_cpu is not None else "—"
    return (
        f"| {case.people:,} | {case.engine} | {label} | {wall} | {run.cpu:.2f} | {server} "
        f"| {run.duty * 100:.2f} % | {_made(run.made)} | {run.members:,} | {run.candidates:,} | {run.events:,} "
        f"| {run.load:.1f} / {cpus} |"
    )


def _steps_row(case: Case, run: Run, label: str) -> str:
    cells = [f"{run.steps.get(k, 0.0):.2f}" for k in STEP_NAMES]
    return f"| {case.people:,} | {case.engine} | {label} | {run.wall:.2f} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", default="20000", help="sizes, comma-separated (default 20000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs again at T (default 3)")
    parser.add_argument("--postgres", action="store_true", help="also on a throw-away PostgreSQL cluster")
    parser.add_argument("--postgres-people", default=None, help="sizes on PostgreSQL (default: --people)")
    parser.add_argument(
        "--at",
        default=None,
        help="T, ISO time with zone (default: the data's second-to-last day, 09:00 Beijing)",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    sizes = _sizes(args.people)
    pg_sizes = _sizes(args.postgres_people) if args.postgres_people is not None else sizes
    last_day: date = START + timedelta(days=DAYS - 2)
    at = (
        datetime.fromisoformat(args.at)
        if args.at
        else datetime(last_day.year, last_day.month, last_day.day, 9, tzinfo=BEIJING)
    )
    _instrument()
    cases: list[Case] = []
    failed: list[str] = []
    """Cases that raised: a failing run is a result too (kept, the others still measured)."""
    for people in sizes:
        try:
            cases.append(bench_case(people, "SQLite", at, args.repeats, None, None))
        except Exception as error:  # reported in the table
            failed.append(f"| {people:,} | SQLite | failed: `{type(error).__name__}: {str(error)[:300]}` |")
    if args.postgres:
        for people in pg_sizes:
            with postgres() as (url, cluster):
                engine = f"PostgreSQL {cluster.version}"
                try:
                    cases.append(bench_case(people, engine, at, args.repeats, url, cluster))
                except Exception as error:  # reported in the table
                    failed.append(
                        f"| {people:,} | {engine} | failed: `{type(error).__name__}: {str(error)[:300]}` |"
                    )
    cpus = os.cpu_count() or 0
    command = " ".join(["uv run python bench/bench_notifications.py", *sys.argv[1:]])
    builds = ", ".join(f"{c.people:,} on {c.engine} in {c.build_s:.0f} s" for c in cases)
    rows, step_rows = [], []
    for case in cases:
        walls = sorted(r.wall for r in case.repeats)
        middle = min(case.repeats, key=lambda r: abs(r.wall - statistics.median(walls)))
        spread = f"{statistics.median(walls):.2f} ({walls[0]:.2f} … {walls[-1]:.2f})"
        rows.append(_row(case, case.first, "1. first run at T", f"{case.first.wall:.2f}", cpus))
        rows.append(_row(case, middle, f"2. again at T, median of {len(walls)}", spread, cpus))
        rows.append(_row(case, case.next_run, "3. at T + 5 min", f"{case.next_run.wall:.2f}", cpus))
        step_rows.append(_steps_row(case, case.first, "1."))
        step_rows.append(_steps_row(case, middle, "2. (median run)"))
        step_rows.append(_steps_row(case, case.next_run, "3."))
    publish(
        MARK,
        [
            f"Command: `{command}` — synthetic people × {DAYS} days, loaded and identified "
            f"(built {builds}); T = {at.isoformat()}; {platform.machine()}, {cpus} cores, "
            f"Python {platform.python_version()}; measured {date.today().isoformat()}. "
            "The machine is shared: each row shows the 1-minute load average at the end of its run "
            "beside the CPU count. Duty cycle = the run's wall time / 300 s (the job's period).",
            "",
            "| people | store | run | wall s | CPU s (bench process) | CPU s (PostgreSQL server) "
            "| duty cycle | messages made | members scanned | candidates reached "
            "| events looked at (`tell` calls) | load average / CPUs |",
            "|---:|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
            *rows,
            "",
            "Wall seconds by step (the steps of `refresh`, then the parts of `_badges`; "
            "writing messages is counted across all steps):",
            "",
            "| people | store | run | run wall s | " + " | ".join(STEP_NAMES.values()) + " |",
            "|---:|---|---|---:|" + "---:|" * len(STEP_NAMES),
            *step_rows,
            *(
                ["", "Runs that failed:", "", "| people | store | error |", "|---:|---|---|", *failed]
                if failed
                else []
            ),
        ],
        write_docs=args.write_docs,
    )


if __name__ == "__main__":
    main()
