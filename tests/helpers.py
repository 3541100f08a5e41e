"""Helpers shared by the test layers: valid ID numbers, input files, counting and dumping the store."""

from __future__ import annotations

import csv
import socket
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, MetaData, func, select
from stdnum.cn import ric

from commutepass.domain.clock import parse_time
from commutepass.kit.context import App
from commutepass.kit.settings import Settings

TEST_SECRET = "test-secret"


def open_app(data_dir: Path, database_url: str) -> App:
    """The App as the CLI and the API build it, on a given store, with a fixed secret."""
    return App.open(
        Settings(data_dir=data_dir, database_url=database_url, secret=TEST_SECRET, policy_dir=None)
    )


def make_id(region: str = "131082", birth: date = date(1990, 3, 7), serial: int = 1) -> str:
    """A valid 18-character resident ID number: region code, birth date, 3-digit serial, check digit.

    The same construction as ``analytics.synth._id_number``; ``calc_check_digit`` reads only the
    first 17 characters, so the placeholder in position 18 does not matter.
    """
    body = f"{region}{birth:%Y%m%d}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def with_wrong_check_digit(number: str) -> str:
    """The same number with a check digit that does not fit (a typo on the last character)."""
    wrong = "1" if number[-1] != "1" else "2"
    return number[:-1] + wrong


def masked(number: str) -> str:
    """How the system shows an ID number: the first 3 and the last 4 characters."""
    return f"{number[:3]}{'*' * 11}{number[-4:]}"


def at(text: str) -> datetime:
    """An aware datetime from ISO text; no offset means Beijing time (as the system reads it)."""
    return parse_time(text)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_parquet(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """A Parquet file with every column as text (the shape a CSV export converted to Parquet has)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    materialised = [list(r) for r in rows]
    columns = {
        name: pa.array([None if r[i] is None else str(r[i]) for r in materialised], type=pa.string())
        for i, name in enumerate(header)
    }
    pq.write_table(pa.table(columns), path)
    return path


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the database (reflected, so a table the code forgot is counted too)."""
    reflected = MetaData()
    reflected.reflect(engine)
    with engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in reflected.tables.items()
        }


def dump_database(engine: Engine) -> str:
    """Everything the database holds, as text.

    SQLite: the file's ``iterdump`` (schema and every row). Other engines: every column of every
    row of every table found by reflection, stringified.
    """
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        assert database, "a dump needs a file-backed SQLite database"
        with sqlite3.connect(database) as raw:
            return "\n".join(raw.iterdump())
    reflected = MetaData()
    reflected.reflect(engine)
    lines: list[str] = []
    with engine.connect() as conn:
        for name, table in reflected.tables.items():
            for row in conn.execute(select(table)):
                lines.append(f"{name}: " + " | ".join(str(value) for value in row))
    return "\n".join(lines)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
