"""Benchmark: checkpoint checks, in process and over HTTP, each beside its baseline (issue 15).

    uv run python bench/bench_checks.py [--people 20000] [--rows 20000] [--rounds 3] [--round-seconds 5]
        [--stores sqlite,postgresql] [--py-spy DIR] [--write-docs]

Builds a synthetic region in a temporary data directory (embedded SQLite store), then measures
  1. in process, one core: the decision engine alone (facts in memory) before and after; the
     plain path (``check --batch`` with the texts, facts read in six statements) and
     ``check --batch --codes-only`` (facts in one statement), each from the same copy of the store,
     their lines compared row by row (decision, code, badge, reason codes);
  2. HTTP: ``commutepass serve --workers 2 --no-scheduler`` beside an empty FastAPI endpoint
     (``empty_app.py``) served the same way, the same bodies and header sizes, under ``wrk``
     (Debian package) in alternating rounds; on SQLite, then on a throw-away PostgreSQL cluster
     (``serving.Cluster``, shared with ``bench_soak.py``) loaded with the same region. Every check
     is recorded (answered after its commit) and audited. ``--py-spy DIR`` records the server's
     processes during one more round (raw stacks, one file per process).
With --write-docs the table replaces the section between the markers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

import serving  # bench/ is on sys.path when run as a script
from commutepass.accounts import service as auth
from commutepass.checks import service as decide
from commutepass.domain.clock import parse_time, to_utc
from commutepass.domain.decisions import Mode, decide_check
from commutepass.domain.facts import PersonFacts
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.roles import Role
from commutepass.kit.context import App
from commutepass.kit.settings import Settings
from commutepass.loads.service import load_file
from commutepass.store.facts import FactReader
from commutepass.synth import write_region
from docs_section import publish  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[1]
START = date(2021, 11, 1)
MARK = "bench_checks"


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def build(data_dir: Path, people: int, url: str | None = None) -> tuple[App, list[dict[str, str]]]:
    region = write_region(data_dir / "region", people=people, days=28, start=START, seed=11)
    app = App.open(Settings(data_dir=data_dir, database_url=url, secret="bench"))
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


def bench_batch(app: App, path: Path, *, explain: bool = True) -> tuple[float, list[dict[str, Any]]]:
    started = time.perf_counter()
    lines = [line for line in decide.check_batch(app, path, explain=explain) if "decision" in line]
    return _rate(len(lines), time.perf_counter() - started), lines


def _codes(items: list[Any]) -> list[str]:
    return [i if isinstance(i, str) else i["code"] for i in items]


def same_decisions(plain: list[dict[str, Any]], candidate: list[dict[str, Any]]) -> int:
    """Row by row: the same decision, code, badge and reason codes. The number that differ."""
    keys = (
        "row",
        "id",
        "decision",
        "color",
        "commuter_badge",
        "commuter_class",
        "nat_valid_until",
        "policy_version",
    )
    lists = ("reasons", "status_reasons", "to_check_by_hand")
    differ = 0
    for a, b in zip(plain, candidate, strict=True):
        if any(a[k] != b[k] for k in keys) or any(_codes(a[k]) != _codes(b[k]) for k in lists):
            differ += 1
    return differ


@contextmanager
def plain_reads() -> Iterator[None]:
    """The plain path's reads for the comparison: the person's row id, then ``facts`` (six
    statements), in place of the one-statement ``person_facts``."""

    def six_statements(
        self: FactReader, key: str, birth: date, at: datetime, policy: Any, known_at: datetime | None = None
    ) -> tuple[int | None, PersonFacts]:
        person_id = self.person_id(key)
        if person_id is None:
            return None, PersonFacts(birth_date=birth)
        return person_id, self.facts(person_id, birth, at, policy, known_at)

    one = FactReader.person_facts
    FactReader.person_facts = six_statements  # type: ignore[method-assign]
    try:
        yield
    finally:
        FactReader.person_facts = one  # type: ignore[method-assign]


def copy_store(data_dir: Path, to: Path) -> Path:
    """A copy of the embedded store (and its secret), to run the same batch twice from the same state."""
    to.mkdir()
    for item in data_dir.iterdir():
        if item.is_file():
            shutil.copy(item, to / item.name)
    return to


def bench_single(app: App, truth: list[dict[str, str]], rows: int) -> float:
    at = parse_time("2021-11-30T07:30")
    requests = [
        decide.CheckRequest(t["id_number"], at, t["site"], decide.parse_mode(t["mode"])) for t in truth[:rows]
    ]
    started = time.perf_counter()
    for request in requests:
        decide.check(app, request)
    return _rate(len(requests), time.perf_counter() - started)


def officer_token(data_dir: Path, url: str | None = None) -> str:
    """A checkpoint officer's sign-in: /v1/checks is for officers only."""
    app = App.open(Settings(data_dir=data_dir, database_url=url, secret="bench"))
    try:
        password = "lane-seven-barrier-2021"
        auth.add_user(app, "bench-officer", password, Role.OFFICER)
        return auth.sign_in(app, "bench-officer", password).token
    finally:
        app.close()


SERVE = [sys.executable, "-c", "from commutepass.cli import main; main()"]
EMPTY = [
    sys.executable,
    "-c",
    "import sys, uvicorn; sys.path.insert(0, sys.argv[1]); "
    "uvicorn.run('empty_app:factory', factory=True, host='127.0.0.1', port=int(sys.argv[2]), "
    "workers=int(sys.argv[3]), log_level='warning', access_log=False, "
    "timeout_keep_alive=int(sys.argv[4]))",
]


def check_bodies(truth: list[dict[str, str]]) -> list[str]:
    return [
        json.dumps(
            {"id_number": t["id_number"], "at": "2021-12-01T07:30", "site": t["site"], "mode": t["mode"]}
        )
        for t in truth[:2000]
    ]


def bench_http(
    data_dir: Path,
    truth: list[dict[str, str]],
    *,
    url: str | None,
    rounds: int,
    seconds: float,
    workers: int,
    connections: int,
    profile: Path | None = None,
) -> dict[str, Any]:
    """``POST /v1/checks`` of the product beside the same route of an empty FastAPI app
    (``empty_app.py``), served the same way (uvicorn, ``workers``, keep-alive, no access log), the
    same bodies, ``connections`` connections; alternating ``rounds`` rounds of ``seconds`` each."""
    token = officer_token(data_dir, url)
    keep_alive = str(Settings(data_dir=data_dir).keep_alive_seconds)
    env = {**os.environ, "COMMUTEPASS_SECRET": "bench", "COMMUTEPASS_SCHEDULER": "0"}
    if url is not None:
        env["COMMUTEPASS_DATABASE_URL"] = url
    bodies = check_bodies(truth)
    real_port, empty_port = serving.free_port(), serving.free_port()
    real_script = serving.wrk_script(
        data_dir / "checks.lua",
        "/v1/checks",
        bodies,
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    # the same headers (a token of the same length) and bodies: the same request size
    empty_script = serving.wrk_script(
        data_dir / "empty.lua",
        "/v1/checks",
        bodies,
        {"Content-Type": "application/json", "Authorization": "Bearer " + "x" * len(token)},
    )
    real_cmd = [
        *SERVE,
        "--data-dir",
        str(data_dir),
        "serve",
        "--port",
        str(real_port),
        "--workers",
        str(workers),
    ]
    empty_cmd = [*EMPTY, str(Path(__file__).parent), str(empty_port), str(workers), keep_alive]
    read_port = serving.free_port()
    read_cmd = [
        *real_cmd[: real_cmd.index("--port") + 1],
        str(read_port),
        *real_cmd[real_cmd.index("--port") + 2 :],
    ]
    read_env = {**env, "COMMUTEPASS_FACT_INDEX": "false"}
    real_base, empty_base = f"http://127.0.0.1:{real_port}", f"http://127.0.0.1:{empty_port}"
    read_base = f"http://127.0.0.1:{read_port}"
    store = "postgresql" if url else "sqlite"
    with (
        (data_dir / f"server-{store}.log").open("wb") as real_log,
        (data_dir / f"server-reads-{store}.log").open("wb") as read_log,
        (data_dir / f"empty-{store}.log").open("wb") as empty_log,
        serving.server(real_cmd, env, real_log, f"{real_base}/health") as real_server,
        serving.server(read_cmd, read_env, read_log, f"{read_base}/health"),
        serving.server(empty_cmd, env, empty_log, f"{empty_base}/health"),
    ):
        # warm-up, not measured: every worker up, caches filled (the fact index loaded)
        serving.wrk(real_base, real_script, 3, connections)
        serving.wrk(read_base, real_script, 3, connections)
        serving.wrk(empty_base, empty_script, 3, connections)
        time.sleep(2)
        real: list[serving.WrkRound] = []
        reads: list[serving.WrkRound] = []
        empty: list[serving.WrkRound] = []
        for _ in range(rounds):
            empty.append(serving.wrk(empty_base, empty_script, seconds, connections))
            real.append(serving.wrk(real_base, real_script, seconds, connections))
            reads.append(serving.wrk(read_base, real_script, seconds, connections))
        pids = [c.pid for c in psutil.Process(real_server.pid).children(recursive=True)]
        if profile is not None:
            profile_server(real_base, real_script, pids, seconds, profile / f"py-spy-{store}")
    return {"real": real, "reads": reads, "empty": empty, "pids": pids}


def bench_in_process(app: App, truth: list[dict[str, str]], data_dir: Path, rows: int) -> list[str]:
    """The engine alone, then the same batch from the same store state four times: with the
    texts (the plain path); codes only with each check's facts read from the store in one
    statement; codes only with the facts from the in-memory index (``store.fact_index``) that
    the batch loads itself; and codes only from an index already loaded (as a long-running
    process has it). Their decisions compared row by row with the plain path's."""
    engine_before = bench_engine(app, truth, rows)
    batch_file = data_dir / "batch.csv"
    write_batch(batch_file, truth, rows)
    app.close()

    def run(name: str, *, fact_index: bool, explain: bool = False) -> tuple[float, list[dict[str, Any]]]:
        copy = App.open(
            Settings(data_dir=copy_store(data_dir, data_dir / name), secret="bench", fact_index=fact_index)
        )
        try:
            return bench_batch(copy, batch_file, explain=explain)
        finally:
            copy.close()

    with plain_reads():
        plain, plain_lines = run("plain", fact_index=False, explain=True)
    brief, brief_lines = run("one-statement", fact_index=False)
    loading, loading_lines = run("index-loaded-by-the-batch", fact_index=True)
    app = App.open(Settings(data_dir=data_dir, secret="bench"))
    with preloaded_index(app) as load_s:
        indexed, indexed_lines = bench_batch(app, batch_file, explain=False)
    engine_after = bench_engine(app, truth, rows)
    single = bench_single(app, truth, min(rows, 5000))
    app.close()
    engine = (engine_before + engine_after) / 2
    differ = [same_decisions(plain_lines, lines) for lines in (brief_lines, loading_lines, indexed_lines)]
    return [
        f"| decision engine alone (facts in memory), mean of a run before and after | {engine:,.0f} | 1 |",
        f"| plain path: `check --batch` with the texts, facts read in six statements ({len(plain_lines)} rows) | "
        f"{plain:,.0f} | {plain / engine:.2f}× |",
        f"| `check --batch --codes-only`, facts read from the store in one statement a check "
        f"(`COMMUTEPASS_FACT_INDEX=false`; {len(brief_lines)} rows) | {brief:,.0f} | {brief / engine:.2f}× |",
        f"| `check --batch --codes-only`, facts from the in-memory index the batch loads first (the load "
        f"included; {len(loading_lines)} rows) | {loading:,.0f} | {loading / engine:.2f}× |",
        f"| `check --batch --codes-only` end to end, recorded and audited, facts from an index already loaded "
        f"(as a running process has it; loading it took {load_s:.1f} s; {len(indexed_lines)} rows) | "
        f"{indexed:,.0f} | **{indexed / engine:.2f}×** (target ≥ 0.5×) |",
        f"| single checks, one transaction each (an API call without HTTP), with the texts | {single:,.0f} | "
        f"{single / engine:.2f}× |",
        "| rows whose decision, code or reason codes differ from the plain path's (one statement; index "
        f"loaded by the batch; index loaded before) | {'; '.join(str(d) for d in differ)} | — |",
    ]


@contextmanager
def preloaded_index(app: App) -> Iterator[float]:
    """``check_batch`` given a fact index loaded beforehand (timed: the value yielded), in place of
    the one it would load itself."""
    from commutepass.store.fact_index import SLACK, FactIndex
    from commutepass.store.facts import NAT_LOOKBACK

    index = FactIndex(app.engine)
    started = time.perf_counter()
    index.load(to_utc(parse_time("2021-11-29T07:00")) - NAT_LOOKBACK - SLACK)
    load_s = time.perf_counter() - started
    own = decide.fact_index
    decide.fact_index = lambda _app, **_kw: index  # type: ignore[assignment]
    try:
        yield load_s
    finally:
        decide.fact_index = own
        index.close()


def _total(rounds: list[serving.WrkRound]) -> tuple[float, float, float, int]:
    """(requests/s over all rounds, median p50, worst p99, errors)."""
    rate = sum(r.requests for r in rounds) / sum(r.seconds for r in rounds)
    return (
        rate,
        statistics.median(r.p50_ms for r in rounds),
        max(r.p99_ms for r in rounds),
        sum(r.errors for r in rounds),
    )


def profile_server(base: str, script: Path, pids: list[int], seconds: float, out: Path) -> None:
    """py-spy (when installed) on every server process during one more wrk round."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return
    spies = [
        subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                f"{seconds:g}",
                "--format",
                "raw",
                "--output",
                str(out.with_suffix(f".{pid}.txt")),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    serving.wrk(base, script, seconds)
    for spy_process in spies:
        spy_process.wait(timeout=60)


def http_lines(store: str, result: dict[str, Any], workers: int, connections: int) -> list[str]:
    real, reads, empty = result["real"], result["reads"], result["empty"]
    r_rate, r_p50, r_p99, r_err = _total(real)
    s_rate, s_p50, s_p99, s_err = _total(reads)
    e_rate, e_p50, e_p99, e_err = _total(empty)
    ratio = r_rate / e_rate if e_rate else float("nan")
    s_ratio = s_rate / e_rate if e_rate else float("nan")
    return [
        f"| {store}: empty FastAPI endpoint, same serving | {e_rate:,.0f} | {e_p50:.2f} | {e_p99:.2f} | {e_err} | — |",
        f"| {store}: `POST /v1/checks`, facts read from the store each check (`COMMUTEPASS_FACT_INDEX=false`) | "
        f"{s_rate:,.0f} | {s_p50:.2f} | {s_p99:.2f} | {s_err} | {s_ratio:.2f}× |",
        f"| {store}: `POST /v1/checks`, recorded and audited, facts from the in-memory index | {r_rate:,.0f} | "
        f"{r_p50:.2f} | {r_p99:.2f} | {r_err} | **{ratio:.2f}×** (target ≥ 0.7×, p99 ≤ 25 ms) |",
        f"| {store}: per round, checks/s (index) ÷ checks/s (store reads) ÷ empty/s | "
        + ", ".join(
            f"{r.rate:,.0f}/{d.rate:,.0f}/{e.rate:,.0f}" for r, d, e in zip(real, reads, empty, strict=True)
        )
        + " | | | | |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3, help="HTTP: alternating rounds per side")
    parser.add_argument("--round-seconds", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--stores", default="sqlite,postgresql", help="HTTP on these stores")
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument(
        "--py-spy", type=Path, help="record the server's workers with py-spy into this folder"
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    in_process: list[str] = []
    http: list[str] = []
    build_s = 0.0
    with tempfile.TemporaryDirectory(prefix="commutepass-bench-") as tmp:
        data_dir = Path(tmp)
        t0 = time.perf_counter()
        app, truth = build(data_dir, args.people)
        build_s = time.perf_counter() - t0
        if not args.skip_in_process:
            in_process = bench_in_process(app, truth, data_dir, args.rows)
        app.close()
        if "sqlite" in stores:
            result = bench_http(
                data_dir,
                truth,
                url=None,
                rounds=args.rounds,
                seconds=args.round_seconds,
                workers=args.workers,
                connections=args.connections,
                profile=args.py_spy,
            )
            http += http_lines("SQLite", result, args.workers, args.connections)
        if "postgresql" in stores:
            cluster = serving.Cluster("bench-checks-postgres.log")
            try:
                url = cluster.start("checks")
                pg_dir = data_dir / "pg"
                pg_dir.mkdir()
                pg_app, _pg_truth = build(pg_dir, args.people, url)
                pg_app.close()
                result = bench_http(
                    pg_dir,
                    truth,
                    url=url,
                    rounds=args.rounds,
                    seconds=args.round_seconds,
                    workers=args.workers,
                    connections=args.connections,
                    profile=args.py_spy,
                )
                http += http_lines(f"PostgreSQL {cluster.version}", result, args.workers, args.connections)
            finally:
                cluster.stop()
    command = " ".join(["uv run python bench/bench_checks.py", *sys.argv[1:]])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"Command: `{command}` — {args.people} synthetic people × 28 days (built and loaded in {build_s:.0f} s), "
        f"{args.rows} check rows; {machine}; measured {date.today().isoformat()}.",
        "",
    ]
    if in_process:
        lines += [
            "| in process, 1 core (SQLite store) | per second | ratio |",
            "|---|---:|---:|",
            *in_process,
            "",
        ]
    if http:
        lines += [
            f"HTTP: `serve --workers {args.workers} --no-scheduler` beside an empty FastAPI endpoint "
            f"(`bench/empty_app.py`) served the same way, the same bodies and header sizes; wrk, 1 thread, "
            f"{args.connections} connections, {args.rounds} alternating rounds of {args.round_seconds:g} s each "
            "after a 3 s warm-up of each; every check recorded (answered after its commit) and audited.",
            "",
            "| what | requests/s | p50 ms (median of rounds) | p99 ms (worst round) | errors | ratio |",
            "|---|---:|---:|---:|---:|---:|",
            *http,
        ]
    publish(MARK, lines, write_docs=args.write_docs)


if __name__ == "__main__":
    main()
