"""Benchmark: a load soak over HTTP on PostgreSQL (issue 16) — not a test.

    uv run python bench/bench_soak.py [--people 3000] [--minutes 10] [--share 0.8] [--write-docs]

Starts a throw-away PostgreSQL cluster (initdb from the Debian packages; as the ``postgres`` user
when run as root), loads a synthetic region into it, serves ``commutepass serve --workers 2`` and
signs in as a checkpoint officer. Then
  1. capacity: 16 concurrent clients send ``POST /v1/checks`` as fast as answered, 20 s;
  2. soak: an open-loop load at ``--share`` of that capacity for ``--minutes``, every check
     recorded, each with its own Idempotency-Key; each minute: requests, errors, latency
     percentiles (p50/p95/p99/max), the server's resident memory (all its processes), the longest
     time with no answer at all (a stall), the machine's load average and the CPU that processes
     other than this benchmark, its server and its PostgreSQL used (other people's work on a
     shared machine).
The load generator is Python (asyncio + httpx) on the same 2-core machine as the server and the
database, so the capacity is that of the whole machine under this client. PostgreSQL logs its
checkpoints, lock waits, autovacuum runs and statements slower than 1 s; the server's and the
database's logs are kept in ``bench/out/`` and summarised under the table.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import itertools
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from commutepass.accounts import service as auth
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from commutepass.loads.service import load_file
from commutepass.synth import write_region
from docs_section import publish  # bench/ is on sys.path when run as a script
from serving import OUT, Cluster, free_port

MARK = "bench_soak"
START = date(2021, 11, 1)
PASSWORD = "bench-officer-password"


def pg_log_summary(path: Path) -> list[str]:
    """Checkpoints (with their write/sync/total seconds), lock waits, autovacuum runs and slow
    statements in the PostgreSQL log of the run."""
    if not path.exists():
        return ["PostgreSQL log: not kept."]
    text = path.read_text(encoding="utf-8", errors="replace")
    checkpoints = re.findall(
        r"checkpoint complete:.*?write=([\d.]+) s, sync=([\d.]+) s, total=([\d.]+) s", text
    )
    waits = len(re.findall(r"still waiting for", text))
    vacuums = len(re.findall(r"automatic (?:vacuum|analyze) of table", text))
    slow = re.findall(r"duration: ([\d.]+) ms", text)
    longest = max((float(t) for _w, _s, t in checkpoints), default=0.0)
    longest_sync = max((float(sy) for _w, sy, _t in checkpoints), default=0.0)
    return [
        f"PostgreSQL log (`bench/out/soak-postgres.log`): {len(checkpoints)} checkpoints "
        f"(longest {longest:.1f} s, longest sync {longest_sync:.2f} s), {waits} lock waits over 1 s, "
        f"{vacuums} autovacuum/analyze runs, {len(slow)} statements slower than 1 s"
        + (f" (slowest {max(float(d) for d in slow) / 1000:.1f} s)." if slow else ".")
    ]


class Machine:
    """CPU used per interval by the whole machine and by the processes of this benchmark."""

    def __init__(self, ours: list[psutil.Process]) -> None:
        self.ours = ours
        self.busy, self.own = self._sample()

    def _sample(self) -> tuple[float, float]:
        times = psutil.cpu_times()
        busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        own = 0.0
        for proc in self.ours:
            try:
                cpu = proc.cpu_times()
            except psutil.Error:
                continue
            own += cpu.user + cpu.system + cpu.children_user + cpu.children_system
        return busy, own

    def others(self, seconds: float, ours: list[psutil.Process]) -> float:
        """Cores used by other processes since the last call (busy CPU minus ours)."""
        self.ours = ours
        busy, own = self._sample()
        share = max(0.0, (busy - self.busy) - (own - self.own)) / max(seconds, 1e-9)
        self.busy, self.own = busy, own
        return share


def build(data_dir: Path, url: str, people: int) -> list[str]:
    region = write_region(data_dir / "region", people=people, days=28, start=START, seed=16)
    app = App.open(Settings(data_dir=data_dir, database_url=url, secret="bench"))
    try:
        for kind in ("travel", "nat", "itinerary", "risk"):
            load_file(app, kind, region.files[kind])
        auth.add_user(app, "soak-officer", PASSWORD, Role.OFFICER)
    finally:
        app.close()
    with region.files["truth"].open(encoding="utf-8") as handle:
        return [row["id_number"] for row in csv.DictReader(handle)]


def server_log_summary(path: Path) -> list[str]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8", errors="replace")
    problems = len(re.findall(r"Traceback|ERROR", text))
    return [f"Server log (`bench/out/soak-server.log`): {problems} tracebacks or ERROR lines."]


def _body(ids: list[str], i: int) -> dict[str, str]:
    day = START + timedelta(days=20 + i % 7)
    return {
        "id_number": ids[i % len(ids)],
        "at": f"{day.isoformat()}T07:{i % 60:02d}",
        "site": "白庙检查站",
        "mode": "road",
    }


async def capacity(base: str, token: str, ids: list[str], seconds: float) -> float:
    done = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=16)) as http:
        deadline = time.monotonic() + seconds

        async def worker(n: int) -> None:
            nonlocal done
            i = n
            while time.monotonic() < deadline:
                answer = await http.post("/v1/checks", json=_body(ids, i), headers=headers)
                answer.raise_for_status()
                done += 1
                i += 16

        started = time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(16)))
        return done / (time.monotonic() - started)


def _ours(server: psutil.Process, cluster: Cluster) -> list[psutil.Process]:
    """This process, the server and its workers, and the PostgreSQL processes (each counted once)."""
    seen: dict[int, psutil.Process] = {}
    for proc in [psutil.Process(), server, *server.children(recursive=True), *cluster.processes()]:
        seen.setdefault(proc.pid, proc)
    return list(seen.values())


async def soak(
    base: str, token: str, ids: list[str], rate: float, minutes: int, server: psutil.Process, cluster: Cluster
) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    rows: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=64)) as http:
        machine = Machine(_ours(server, cluster))
        for minute in range(minutes):
            latencies: list[float] = []
            answered: list[float] = []
            errors = 0
            timeouts = 0
            kinds: Counter[str] = Counter()
            tasks: set[asyncio.Task[None]] = set()

            async def one(i: int, latencies: list[float], answered: list[float], kinds: Counter[str]) -> None:
                nonlocal errors, timeouts
                started = time.monotonic()
                try:
                    answer = await http.post(
                        "/v1/checks",
                        json=_body(ids, i),
                        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                    )
                    if answer.status_code != 200:
                        errors += 1
                        kinds[f"HTTP {answer.status_code}"] += 1
                except httpx.TimeoutException as exc:
                    errors += 1
                    timeouts += 1
                    kinds[type(exc).__name__] += 1
                except httpx.HTTPError as exc:
                    errors += 1
                    kinds[type(exc).__name__] += 1
                latencies.append(time.monotonic() - started)
                answered.append(time.monotonic())

            begin = time.monotonic()
            sent = 0
            while (now := time.monotonic()) - begin < 60:
                due = int((now - begin) * rate)
                while sent < due:
                    task = asyncio.create_task(one(minute * 1_000_000 + sent, latencies, answered, kinds))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    sent += 1
                await asyncio.sleep(0.002)
            await asyncio.gather(*tasks)
            took = time.monotonic() - begin
            moments = sorted([begin, *answered])
            stall = max((b - a for a, b in itertools.pairwise(moments)), default=0.0)
            others = machine.others(took, _ours(server, cluster))
            rss = sum(p.memory_info().rss for p in [server, *server.children(recursive=True)]) / 2**20
            cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
            row = {
                "minute": minute + 1,
                "requests": len(latencies),
                "errors": errors,
                "p50": cuts[49] * 1000,
                "p95": cuts[94] * 1000,
                "p99": cuts[98] * 1000,
                "max": max(latencies) * 1000,
                "rss": rss,
                "timeouts": timeouts,
                "stall": stall,
                "load": os.getloadavg()[0],
                "others": others,
                "kinds": ", ".join(f"{kind} × {n}" for kind, n in sorted(kinds.items())),
            }
            print(row, flush=True)
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=3000)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--share", type=float, default=0.8)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    cluster = Cluster()
    url = cluster.start()
    data_dir = Path(tempfile.mkdtemp(prefix="commutepass-soak-"))
    server = None
    try:
        started = time.monotonic()
        ids = build(data_dir, url, args.people)
        built = time.monotonic() - started
        port = free_port()
        env = {**os.environ, "COMMUTEPASS_SECRET": "bench", "COMMUTEPASS_DATABASE_URL": url}
        command = [sys.executable, "-c", "from commutepass.cli import main; main()"]
        OUT.mkdir(exist_ok=True)
        server_log = (OUT / "soak-server.log").open("wb")
        server = subprocess.Popen(
            [*command, "--data-dir", str(data_dir), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        token = httpx.post(
            f"{base}/v1/auth/token", data={"username": "soak-officer", "password": PASSWORD}
        ).json()["access_token"]
        asyncio.run(capacity(base, token, ids, 3))  # warm-up, not measured
        measured = asyncio.run(capacity(base, token, ids, 20))
        rate = measured * args.share
        rows = asyncio.run(soak(base, token, ids, rate, args.minutes, psutil.Process(server.pid), cluster))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    lines = [
        f"Command: `uv run python bench/bench_soak.py --people {args.people} --minutes {args.minutes} "
        f"--share {args.share}{' --write-docs' if args.write_docs else ''}` — {args.people} synthetic people × 28 days "
        f"(built and loaded in {built:.0f} s), PostgreSQL {cluster.version} (durable commits), "
        f"`serve --workers 2`, Python asyncio+httpx load generator on the same machine; "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; measured {date.today()}.",
        "",
        f"Capacity (16 concurrent clients, 20 s): {measured:,.0f} checks/s. Soak rate: {rate:,.0f} checks/s "
        f"({args.share:.0%}), open loop, each check recorded with its own Idempotency-Key.",
        "",
        "| minute | requests | errors (timeouts) | p50 ms | p95 ms | p99 ms | max ms | longest stall s | "
        "server RSS MB | load avg | other processes' CPU (cores) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['minute']:.0f} | {r['requests']:,.0f} | {r['errors']:.0f} ({r['timeouts']:.0f}) | {r['p50']:.1f} | "
            f"{r['p95']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['stall']:.1f} | {r['rss']:.0f} | "
            f"{r['load']:.1f} | {r['others']:.2f} |"
            for r in rows
        ),
        "",
        *(f"Minute {r['minute']:.0f}: {r['kinds']}." for r in rows if r["kinds"]),
        *pg_log_summary(OUT / "soak-postgres.log"),
        *server_log_summary(OUT / "soak-server.log"),
    ]
    publish(MARK, lines, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
