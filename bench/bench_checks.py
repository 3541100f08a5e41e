"""Benchmark: checkpoint checks per second, in process and over HTTP.

    uv run python bench/bench_checks.py [--people 20000] [--rows 20000] [--http-seconds 15] [--write-docs]

Builds a synthetic region in a temporary data directory (embedded SQLite store), then measures
  1. the decision engine alone (facts already in memory), one core;
  2. ``check --batch`` in process: read facts from the store, decide, render both languages,
     record the swipe — one core;
  3. single checks, each in its own transaction (what one API call does), one core;
  4. HTTP: ``commutepass serve --workers 2`` under load from ``wrk`` (Debian package), signed in
     as a checkpoint officer (Bearer token), every check recorded and audited.
With --write-docs the table replaces the section between the markers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from commutepass.accounts import service as auth
from commutepass.checks import service as decide
from commutepass.domain.clock import parse_time, to_utc
from commutepass.domain.decisions import Mode, decide_check
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from commutepass.loads.service import load_file
from commutepass.synth import write_region
from docs_section import publish  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
START = date(2021, 11, 1)
MARK = "bench_checks"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def build(data_dir: Path, people: int) -> tuple[App, list[dict[str, str]]]:
    region = write_region(data_dir / "region", people=people, days=28, start=START, seed=11)
    app = App.open(Settings(data_dir=data_dir, secret="bench"))
    for kind in ("travel", "nat", "itinerary", "risk"):
        load_file(app, kind, region.files[kind])
    from commutepass.commuters.service import identify

    end = START + timedelta(days=27)
    for as_of in (end - timedelta(days=14), end - timedelta(days=7), end):
        identify(app, as_of)
    with region.files["truth"].open(encoding="utf-8") as handle:
        truth = list(csv.DictReader(handle))
    return app, truth


def bench_engine(app: App, truth: list[dict[str, str]], rows: int) -> float:
    at = parse_time("2021-11-29T07:30")
    policy = app.policies.in_force(at)
    with app.engine.connect() as conn:
        session = decide.CheckSession(app, conn)
        facts = [
            session.facts(parse_resident_id(t["id_number"]), at, policy)[1] for t in truth[: min(rows, 5000)]
        ]
    risk, catalog, at_utc = app.risk_map(), app.catalog, to_utc(at)
    n = 0
    started = time.perf_counter()
    while n < rows:
        for f in facts:
            decide_check(f, policy, at_utc, risk, catalog, mode=Mode.ROAD)
        n += len(facts)
    return _rate(n, time.perf_counter() - started)


def write_batch(path: Path, truth: list[dict[str, str]], rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id_number", "at", "site", "mode", "smartphone", "companions"])
        for i in range(rows):
            t = truth[i % len(truth)]
            writer.writerow(
                [
                    t["id_number"],
                    f"2021-11-29T{7 + i // 3600 % 12:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
                    t["site"],
                    t["mode"],
                    "true",
                    "",
                ]
            )


def bench_batch(app: App, path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    n = sum(1 for line in decide.check_batch(app, path) if "decision" in line)
    return _rate(n, time.perf_counter() - started), n


def bench_single(app: App, truth: list[dict[str, str]], rows: int) -> float:
    at = parse_time("2021-11-30T07:30")
    requests = [
        decide.CheckRequest(t["id_number"], at, t["site"], decide.parse_mode(t["mode"])) for t in truth[:rows]
    ]
    started = time.perf_counter()
    for request in requests:
        decide.check(app, request)
    return _rate(len(requests), time.perf_counter() - started)


def officer_token(data_dir: Path) -> str:
    """A checkpoint officer's sign-in: /v1/checks is for officers only."""
    app = App.open(Settings(data_dir=data_dir, secret="bench"))
    try:
        password = "bench-officer-password"
        auth.add_user(app, "bench-officer", password, Role.OFFICER)
        return auth.sign_in(app, "bench-officer", password).token
    finally:
        app.close()


def bench_http(data_dir: Path, truth: list[dict[str, str]], seconds: int) -> dict[str, str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        return {"error": "wrk not installed (apt-get install wrk)"}
    token = officer_token(data_dir)
    port = _free_port()
    env = {**os.environ, "COMMUTEPASS_SECRET": "bench"}
    cli = [sys.executable, "-c", "from commutepass.cli import main; main()"]
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen(
        [*cli, "--data-dir", str(data_dir), "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # the port accepts connections before the workers are ready: wait for an answer
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                return {"error": "server did not start: " + (data_dir / "server.log").read_text()[-500:]}
            time.sleep(0.3)
        bodies = [
            json.dumps(
                {"id_number": t["id_number"], "at": "2021-12-01T07:30", "site": t["site"], "mode": t["mode"]}
            )
            for t in truth[:2000]
        ]
        script = data_dir / "checks.lua"
        script.write_text(
            "bodies = {" + ",".join(json.dumps(b) for b in bodies) + "}\n"
            "i = 0\n"
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {token}"\n'
            "request = function()\n  i = i % #bodies + 1\n"
            '  return wrk.format(nil, "/v1/checks", nil, bodies[i])\nend\n',
            encoding="utf-8",
        )
        # /health answers once the first worker is up; the warm-up (not measured) lets the second
        # start and fills both workers' caches
        target = f"http://127.0.0.1:{port}"
        subprocess.run(
            [wrk, "-t1", "-c16", "-d3s", "-s", str(script), target], capture_output=True, check=True
        )
        out = subprocess.run(
            [wrk, "-t1", "-c16", f"-d{seconds}s", "--latency", "-s", str(script), target],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": rps.group(1) if rps else "?",
        "p50": p50.group(1) if p50 else "?",
        "p99": p99.group(1) if p99 else "?",
        "errors": (non2xx.group(1) if non2xx else "0")
        + (f"; socket errors {socket_errors.group(1)}" if socket_errors else ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--http-seconds", type=int, default=15)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="commutepass-bench-") as tmp:
        data_dir = Path(tmp)
        t0 = time.perf_counter()
        app, truth = build(data_dir, args.people)
        build_s = time.perf_counter() - t0
        engine = bench_engine(app, truth, args.rows)
        batch_file = data_dir / "batch.csv"
        write_batch(batch_file, truth, args.rows)
        batch, batch_n = bench_batch(app, batch_file)
        single = bench_single(app, truth, min(args.rows, 5000))
        app.close()
        http = bench_http(data_dir, truth, args.http_seconds)
    command = " ".join(["uv run python bench/bench_checks.py", *sys.argv[1:]])
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite store"
    )
    publish(
        MARK,
        [
            f"Command: `{command}` — {args.people} synthetic people × 28 days (built and loaded in {build_s:.0f} s), "
            f"{args.rows} check rows; {machine}; measured {date.today().isoformat()}.",
            "",
            "| what | per second | target |",
            "|---|---:|---:|",
            f"| decision engine alone (facts in memory), 1 core | {engine:,.0f} | ≥ 20,000 |",
            f"| `check --batch` in process: store reads + decision + both languages + recorded swipe, 1 core ({batch_n} rows) | {batch:,.0f} | ≥ 20,000 |",
            f"| single checks, one transaction each (an API call without HTTP), 1 core | {single:,.0f} | — |",
            f"| HTTP `POST /v1/checks`, `serve --workers 2`, wrk 16 connections, {args.http_seconds} s, every check recorded | "
            f"{http.get('rps', '?')} (p50 {http.get('p50', '?')}, p99 {http.get('p99', '?')}, non-2xx {http.get('errors', http.get('error', '?'))}) | ≥ 2,000 |",
        ],
        write_docs=args.write_docs,
    )


if __name__ == "__main__":
    main()
