"""Shared helpers of the HTTP benchmarks: a free port, a throw-away PostgreSQL cluster, a server
process waited for until it answers, and ``wrk`` runs with their figures parsed.

``bench_soak.py`` and ``bench_checks.py`` both use them (one copy of each)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil

OUT = Path(__file__).resolve().parent / "out"
PG_LOGGING = (
    "-c log_checkpoints=on -c log_lock_waits=on -c log_min_duration_statement=1000 "
    "-c log_autovacuum_min_duration=0"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Cluster:
    """A throw-away PostgreSQL cluster (durable commits: what production would run)."""

    def __init__(self, log_name: str = "soak-postgres.log") -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            sys.exit("PostgreSQL is not installed (scripts/bootstrap --system)")
        self.bindir = found[-1].parent
        self.root = Path(tempfile.mkdtemp(prefix="commutepass-bench-pg-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self.port = free_port()
        self.log_name = log_name

    @property
    def version(self) -> str:
        return self.bindir.parent.name

    def run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self, database: str = "soak") -> str:
        data = self.root / "data"
        self.run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} {PG_LOGGING}"
        self.run("pg_ctl", "-D", str(data), "-l", str(self.root / "log"), "-w", "-o", options, "start")
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", database)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def processes(self) -> list[psutil.Process]:
        """The cluster's server processes (postmaster, backends, checkpointer, ...)."""
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if any(str(self.root) in part for part in cmdline):
                found.append(proc)
                found.extend(proc.children(recursive=True))
        return found

    def stop(self) -> None:
        try:
            self.run("pg_ctl", "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")
        finally:
            log = self.root / "log"
            if log.exists():
                OUT.mkdir(exist_ok=True)
                shutil.copy(log, OUT / self.log_name)
            shutil.rmtree(self.root, ignore_errors=True)


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    """Wait until ``url`` answers 200 (the port accepts connections before the workers are ready)."""
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.time() > deadline or process.poll() is not None:
            raise RuntimeError(f"server did not start ({url})")
        time.sleep(0.3)


@contextmanager
def server(
    command: list[str], env: dict[str, str], log: IO[bytes], health: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, ready (``health`` answers 200), terminated on exit."""
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(health, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk_script(path: Path, route: str, bodies: list[str], headers: dict[str, str]) -> Path:
    """A wrk Lua script posting the bodies in turn to ``route`` with the headers."""
    lines = [
        "bodies = {" + ",".join(json.dumps(b) for b in bodies) + "}",
        "i = 0",
        'wrk.method = "POST"',
        *(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()),
        "request = function()",
        "  i = i % #bodies + 1",
        f'  return wrk.format(nil, "{route}", nil, bodies[i])',
        "end",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class WrkRound:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    """Non-2xx answers plus socket errors."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(base: str, script: Path, seconds: float, connections: int = 16) -> WrkRound:
    """One wrk run (one thread, ``connections`` connections) against ``base``."""
    binary = shutil.which("wrk")
    if binary is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    out = subprocess.run(
        [binary, "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if done is None:
        raise RuntimeError("wrk printed no result:\n" + out)
    took = _ms(done.group(2) + done.group(3)) / 1000
    return WrkRound(
        int(done.group(1)),
        took,
        _ms(p50.group(1)) if p50 else float("nan"),
        _ms(p99.group(1)) if p99 else float("nan"),
        (int(non2xx.group(1)) if non2xx else 0) + (sum(int(g) for g in sockets.groups()) if sockets else 0),
    )
