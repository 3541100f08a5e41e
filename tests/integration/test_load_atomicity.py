"""A file loads in one transaction: a load that fails or is killed midway leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection

from commutepass.kit.context import App
from commutepass.loads import service as loading
from commutepass.loads.service import COLUMNS, load_file
from tests.helpers import make_id, open_app, row_counts, write_csv


def _travel_rows(count: int) -> list[tuple[str, ...]]:
    """``count`` distinct passages of 500 people over 2021-11 (every row new to the store)."""
    ids = [make_id("131082", date(1980, 1, 1) + timedelta(days=n), n) for n in range(500)]
    start = datetime(2021, 11, 1, 6, 0)
    return [
        (
            ids[n % 500],
            (start + timedelta(minutes=n)).strftime("%Y-%m-%dT%H:%M"),
            "enter" if n % 2 == 0 else "exit",
            "road",
            "白庙检查站",
            "131082",
        )
        for n in range(count)
    ]


def test_a_failure_in_the_second_chunk_stores_nothing(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = write_csv(tmp_path / "earlier.csv", COLUMNS["travel"], _travel_rows(30)[20:])
    load_file(app, "travel", earlier)
    before = row_counts(app.engine)

    monkeypatch.setattr(loading, "CHUNK_ROWS", 10)
    real_write = loading._Loader.write
    calls: list[int] = []

    def failing_write(
        self: loading._Loader, conn: Connection, records: list[dict[str, Any]], load_id: int
    ) -> Any:
        calls.append(len(records))
        if len(calls) == 2:
            raise RuntimeError("the disk went away")
        return real_write(self, conn, records, load_id)

    monkeypatch.setattr(loading._Loader, "write", failing_write)
    path = write_csv(tmp_path / "travel.csv", COLUMNS["travel"], _travel_rows(35))

    with pytest.raises(RuntimeError, match="the disk went away"):
        load_file(app, "travel", path)

    assert calls == [10, 10]  # the first chunk was written inside the transaction
    assert row_counts(app.engine) == before
    monkeypatch.setattr(loading._Loader, "write", real_write)
    assert load_file(app, "travel", path).added == 25  # 10 of the 35 were there already


def test_a_load_killed_midway_leaves_nothing(tmp_path: Path) -> None:
    """A real kill (SIGKILL) of the command line after it has written a chunk, before it commits.

    SQLite only: the embedded store is the one a killed process shares a file with."""
    data = tmp_path / "data"
    path = write_csv(tmp_path / "big.csv", COLUMNS["travel"], _travel_rows(100_000))
    # The command line, with a line on stdout after each chunk it writes (inside the transaction).
    script = (
        "import sys\n"
        "from commutepass.loads import service as loading\n"
        "real = loading._Loader.write\n"
        "def write(self, *args):\n"
        "    result = real(self, *args)\n"
        "    print('chunk written', flush=True)\n"
        "    return result\n"
        "loading._Loader.write = write\n"
        "from commutepass.cli import main\n"
        "sys.argv[0] = 'commutepass'\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMUTEPASS_")}
    process = subprocess.Popen(
        [sys.executable, "-c", script, "--data-dir", str(data), "load", "travel", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        assert first_line.strip() == "chunk written", process.stderr.read() if process.stderr else ""
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL  # killed, not finished

    app = open_app(data, f"sqlite:///{data / 'commutepass.db'}")
    try:
        counts = row_counts(app.engine)
        assert counts["travel"] == 0
        assert counts["loads"] == 0
        assert counts["people"] == 0
        # the store is whole: the same file loads completely afterwards
        small = write_csv(tmp_path / "small.csv", COLUMNS["travel"], _travel_rows(1_000))
        assert load_file(app, "travel", small).added == 1_000
    finally:
        app.close()
