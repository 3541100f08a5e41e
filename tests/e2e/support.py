"""Helpers shared by the end-to-end tests: ID numbers, running the real command, servers."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import free_port, make_id, masked, with_wrong_check_digit

__all__ = ["free_port", "masked", "resident_id", "with_wrong_check_digit"]

SECRET = "e2e-test-secret"
CLI_TIMEOUT = 120


def resident_id(county: str, birth: date, serial: int) -> str:
    """A valid resident ID number (county code, birth date, serial, check digit)."""
    return make_id(county, birth, serial)


def cli_prefix() -> list[str]:
    """The installed ``commutepass`` script of this environment, or the same entry point via -c."""
    script = Path(sys.executable).with_name("commutepass")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("commutepass")
    if found and Path(found).parent == Path(sys.executable).parent:
        return [found]
    return [sys.executable, "-c", "from commutepass.cli import main; main()"]


def cli_env() -> dict[str, str]:
    """The environment for a subprocess: no COMMUTEPASS_* leaking in from outside, our secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUTEPASS_")}
    env["COMMUTEPASS_SECRET"] = SECRET
    env["COMMUTEPASS_PASSWORD_HASH_MEMORY_KIB"] = "1024"  # cheap hashes for throw-away test users
    env["COMMUTEPASS_PASSWORD_HASH_ROUNDS"] = "1"
    # servers started by the tests hold a fixed or past clock: no scheduled retention or
    # identification behind the tests' backs (test_jobs.py starts the scheduler on purpose)
    env["COMMUTEPASS_SCHEDULER"] = "0"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


@dataclass
class CliResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[dict[str, Any]]:
        """Every stdout line parsed as JSON (the contract: one JSON object per line)."""
        parsed = []
        for line in self.stdout.splitlines():
            if line.strip():
                value = json.loads(line)
                assert isinstance(value, dict), line
                parsed.append(value)
        return parsed

    @property
    def line(self) -> dict[str, Any]:
        lines = self.lines
        assert len(lines) == 1, self.stdout
        return lines[0]

    def __str__(self) -> str:
        return (
            f"$ {' '.join(self.args)}\nexit {self.returncode}\n--- stdout\n{self.stdout}\n"
            f"--- stderr\n{self.stderr[-3000:]}"
        )


def run_cli(
    data_dir: Path | None,
    *args: str,
    expect: int | None = 0,
    cwd: Path | None = None,
    stdin: str | None = None,
) -> CliResult:
    """Run ``commutepass [--data-dir DIR] ARGS`` and check its exit code (``expect=None``: any)."""
    argv = [*cli_prefix(), *(["--data-dir", str(data_dir)] if data_dir is not None else []), *args]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=cli_env(),
        cwd=cwd,
        timeout=CLI_TIMEOUT,
        check=False,
        input=stdin,
    )
    result = CliResult(argv, done.returncode, done.stdout, done.stderr)
    if expect is not None:
        assert result.returncode == expect, str(result)
    return result


@dataclass(frozen=True)
class Call:
    """One command for ``run_many``: arguments after ``--data-dir DIR``, the exit code expected."""

    data_dir: Path | None
    args: tuple[str, ...]
    expect: int | None = 0
    cwd: Path | None = None


def run_many(calls: Sequence[Call], workers: int = 4) -> list[CliResult]:
    """Run independent commands at the same time (never two writers on one data directory):
    most of a command's time is Python starting up, so this saves the suite's minutes."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run_cli, c.data_dir, *c.args, expect=c.expect, cwd=c.cwd) for c in calls]
        return [future.result() for future in futures]


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def wait_until_healthy(base_url: str, running: Running, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise AssertionError(
                f"the server exited with {running.process.returncode} before answering:\n"
                + running.stderr.read_text(encoding="utf-8", errors="replace")[-3000:]
            )
        try:
            response = httpx.get(f"{base_url}/health", timeout=2)
            if response.status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"no answer from {base_url}/health within {timeout} s ({last!r})")


class Running:
    """A command running in the background, its stdout read line by line on a thread."""

    def __init__(self, process: subprocess.Popen[str], stderr: Path) -> None:
        self.process = process
        self.stderr = stderr
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for_line(self, needle: str, timeout: float) -> str:
        """The first stdout line containing ``needle``; fail if the command ends or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line with {needle!r} within {timeout} s:\n{''.join(self.output)}")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(
                    f"the command ended ({self.process.wait()}) without printing {needle!r}:\n"
                    + "".join(self.output)
                    + self.stderr.read_text(encoding="utf-8", errors="replace")[-3000:]
                )
            self.output.append(line)
            if needle in line:
                return line


@contextmanager
def background(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Running]:
    """Start ``commutepass --data-dir DIR ARGS``; on leaving, stop exactly that process."""
    argv = [*cli_prefix(), "--data-dir", str(data_dir), *args]
    stderr_path = data_dir.with_name(data_dir.name + ".stderr.txt")
    with stderr_path.open("w", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
            env={**cli_env(), **(env or {})},
        )
    try:
        yield Running(process, stderr_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
