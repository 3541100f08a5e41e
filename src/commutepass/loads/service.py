"""Loading travel, NAT, itinerary and risk files (CSV or Parquet, with a header row).

Every bad row goes to a rejects file beside the input with its row number, field and reason;
good rows load; loading the same file twice adds nothing (unique keys); a file loads in one
transaction, so a load killed midway leaves nothing half-loaded.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import Connection
from tqdm import tqdm

from commutepass.domain.clock import parse_date, parse_time, to_utc
from commutepass.domain.errors import InputError, LoadError
from commutepass.domain.facts import RiskLevel
from commutepass.domain.identity import ResidentId, parse_resident_id
from commutepass.kit.context import App
from commutepass.notifications import service as notifications
from commutepass.store import repositories as repo
from commutepass.store.tables import itinerary, nat_results, travel

CHUNK_ROWS = 20_000
ID_CACHE_SIZE = 100_000

COLUMNS: dict[str, tuple[str, ...]] = {
    "travel": ("id_number", "event_time", "direction", "mode", "site", "county"),
    "nat": ("id_number", "sampled_at", "reported_at", "result", "lab"),
    "itinerary": ("id_number", "date", "county"),
    "risk": ("county", "level", "start", "end"),
}


@dataclass
class Reject:
    row: int
    field: str
    en: str
    zh: str


@dataclass
class LoadSummary:
    kind: str
    file: str
    rows: int = 0
    added: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejects_file: str | None = None
    rejects: list[Reject] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "rows": self.rows,
            "added": self.added,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "rejects_file": self.rejects_file,
        }


def rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.csv")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_rows(path: Path, kind: str, progress: bool) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, row) — CSV row numbers count the header as row 1, as a spreadsheet does."""
    wanted = COLUMNS[kind]
    if path.suffix.lower() == ".parquet":
        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:
            raise LoadError(
                path, f"not a readable Parquet file ({exc})", f"无法读取 Parquet 文件（{exc}）"
            ) from exc
        _check_header(path, kind, parquet.schema_arrow.names)
        bar = tqdm(
            total=parquet.metadata.num_rows,
            unit="row",
            desc=path.name,
            disable=not progress or None,
        )
        number = 0
        for batch in parquet.iter_batches(batch_size=CHUNK_ROWS, columns=list(wanted)):
            columns = {name: batch.column(name).to_pylist() for name in wanted}
            for i in range(batch.num_rows):
                number += 1
                yield number, {name: _text(columns[name][i]) for name in wanted}
            bar.update(batch.num_rows)
        bar.close()
        return
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise LoadError(
            path, f"cannot open the file ({exc.strerror})", f"无法打开文件（{exc.strerror}）"
        ) from exc
    with raw:
        total = path.stat().st_size
        bar = tqdm(total=total, unit="B", unit_scale=True, desc=path.name, disable=not progress or None)
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise LoadError(
                path, "the file is empty; a header row is required", "文件为空，须有表头行"
            ) from None
        except UnicodeDecodeError:
            raise LoadError(path, "the file is not UTF-8 text", "文件不是 UTF-8 文本") from None
        header = [h.strip() for h in header]
        _check_header(path, kind, header)
        index = {name: header.index(name) for name in wanted}
        number = 1
        seen = 0
        try:
            for record in reader:
                number += 1
                if not any(cell.strip() for cell in record):
                    continue
                yield (
                    number,
                    {name: record[i] if i < len(record) else "" for name, i in index.items()},
                )
                seen += 1
                if seen % 5000 == 0:
                    bar.update(raw.tell() - bar.n)
        except UnicodeDecodeError:
            # the text layer decodes ahead in blocks, so the row being read is not the bad one
            line = _first_non_utf8_line(path)
            raise LoadError(path, f"row {line} is not UTF-8 text", f"第 {line} 行不是 UTF-8 文本") from None
        except csv.Error as exc:
            raise LoadError(path, f"row {number}: {exc}", f"第 {number} 行：{exc}") from None
        bar.update(total - bar.n)
        bar.close()


def _first_non_utf8_line(path: Path) -> int:
    """The line (1 = header) holding the first byte that is not UTF-8; a newline byte never
    occurs inside a multi-byte UTF-8 character, so lines can be decoded one by one."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _check_header(path: Path, kind: str, header: list[str]) -> None:
    missing = [c for c in COLUMNS[kind] if c not in header]
    if missing:
        raise LoadError(
            path,
            f"a {kind} file needs the columns {','.join(COLUMNS[kind])}; missing: {', '.join(missing)}",
            f"{kind} 文件须有列 {','.join(COLUMNS[kind])}；缺少：{'、'.join(missing)}",
        )


def _choice(value: str, allowed: tuple[str, ...], field_name: str) -> str:
    cleaned = value.strip().lower()
    if cleaned not in allowed:
        raise InputError(
            field_name,
            f"'{value}' is not one of {', '.join(allowed)}",
            f"“{value}”不是以下之一：{'、'.join(allowed)}",
        )
    return cleaned


def _text_field(value: str, field_name: str, max_length: int) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise InputError(field_name, "is empty", "为空")
    if len(cleaned) > max_length:
        raise InputError(field_name, f"is longer than {max_length} characters", f"超过 {max_length} 个字符")
    return cleaned


class _Loader:
    """Validates rows of one kind and writes a chunk of them; one instance per file."""

    def __init__(self, app: App, kind: str) -> None:
        self.app = app
        self.kind = kind
        self._ids: dict[str, ResidentId] = {}

    def resident(self, text: str) -> ResidentId:
        """Parse an ID number, remembering recent ones (a file repeats people; memory stays bounded)."""
        found = self._ids.get(text)
        if found is None:
            found = parse_resident_id(text)
            if len(self._ids) >= ID_CACHE_SIZE:
                self._ids.clear()
            self._ids[text] = found
        return found

    def county(self, text: str) -> str:
        return self.app.catalog.county(text.strip()).code

    def validate(self, row: dict[str, str]) -> dict[str, Any]:
        if self.kind == "travel":
            return {
                "person": self.resident(row["id_number"]),
                "event_time": to_utc(parse_time(row["event_time"], "event_time")),
                "direction": _choice(row["direction"], ("enter", "exit"), "direction"),
                "mode": _choice(row["mode"], ("road", "rail", "air"), "mode"),
                "site": _text_field(row["site"], "site", 64),
                "county": self.county(row["county"]),
            }
        if self.kind == "nat":
            sampled = parse_time(row["sampled_at"], "sampled_at")
            reported = parse_time(row["reported_at"], "reported_at")
            if reported < sampled:
                raise InputError("reported_at", "is earlier than sampled_at", "报告时间早于采样时间")
            return {
                "person": self.resident(row["id_number"]),
                "sampled_at": to_utc(sampled),
                "reported_at": to_utc(reported),
                "positive": _choice(row["result"], ("negative", "positive"), "result") == "positive",
                "lab": _text_field(row["lab"], "lab", 128),
            }
        if self.kind == "itinerary":
            return {
                "person": self.resident(row["id_number"]),
                "day": parse_date(row["date"], "date"),
                "county": self.county(row["county"]),
            }
        start = parse_date(row["start"], "start")
        end = parse_date(row["end"], "end") if row["end"].strip() else None
        if end is not None and end < start:
            raise InputError("end", "is earlier than start", "结束日期早于开始日期")
        return {
            "county": self.county(row["county"]),
            "level": RiskLevel(_choice(row["level"], ("case", "border_port"), "level")).value,
            "start": start,
            "end": end,
        }

    def write(self, conn: Connection, records: list[dict[str, Any]], load_id: int) -> tuple[int, int]:
        """Write one chunk; return (added, already present)."""
        if self.kind == "risk":
            rows = [{**r, "load_id": load_id} for r in records]
            added, changed = repo.upsert_risk_periods(conn, rows)
            return added + changed, len(rows) - added - changed
        vault = self.app.vault
        persons: dict[str, tuple[Any, ...]] = {}
        keyed: list[tuple[str, dict[str, Any]]] = []
        for record in records:
            resident: ResidentId = record.pop("person")
            key = vault.key(resident)
            if key not in persons:
                persons[key] = self.app.person_row(resident)
            keyed.append((key, record))
        ids = repo.ensure_people(conn, persons.values())
        rows = [{**record, "person_id": ids[key], "load_id": load_id} for key, record in keyed]
        table, returning = {
            "travel": (travel, "id"),
            "nat": (nat_results, "id"),
            "itinerary": (itinerary, "person_id"),
        }[self.kind]
        added = 0
        for start in range(0, len(rows), 2_000):
            added += repo.insert_new(conn, table, rows[start : start + 2_000], returning)
        return added, len(rows) - added


def load_file(app: App, kind: str, path: Path, *, progress: bool = False) -> LoadSummary:
    """Load one file in one transaction; write its rejects beside it."""
    if kind not in COLUMNS:
        raise LoadError(path, f"unknown kind '{kind}'; use one of {', '.join(COLUMNS)}", f"未知类型“{kind}”")
    if not path.is_file():
        raise LoadError(path, "no such file", "文件不存在")
    summary = LoadSummary(kind=kind, file=str(path))
    loader = _Loader(app, kind)
    digest = _sha256(path)
    with app.transaction() as conn:
        load_id = repo.record_load(
            conn,
            kind=kind,
            file_name=str(path),
            sha256=digest,
            rows_total=0,
            rows_added=0,
            rows_duplicate=0,
            rows_rejected=0,
        )
        chunk: list[dict[str, Any]] = []
        for number, row in _read_rows(path, kind, progress):
            summary.rows += 1
            try:
                chunk.append(loader.validate(row))
            except InputError as exc:
                summary.rejects.append(Reject(number, exc.field, exc.en, exc.zh))
            if len(chunk) >= CHUNK_ROWS:
                _flush(loader, conn, chunk, load_id, summary)
        _flush(loader, conn, chunk, load_id, summary)
        summary.rejected = len(summary.rejects)
        repo.update_load(
            conn,
            load_id,
            rows_total=summary.rows,
            rows_added=summary.added,
            rows_duplicate=summary.duplicate,
            rows_rejected=summary.rejected,
        )
    _write_rejects(path, summary)
    if kind == "risk":
        app.risk_changed()
    if kind in ("nat", "risk", "itinerary") and summary.added:
        notifications.refresh(app)  # badges that lapse or lapsed with these facts are told
    return summary


def _flush(
    loader: _Loader,
    conn: Connection,
    chunk: list[dict[str, Any]],
    load_id: int,
    summary: LoadSummary,
) -> None:
    if chunk:
        added, duplicate = loader.write(conn, chunk, load_id)
        summary.added += added
        summary.duplicate += duplicate
        chunk.clear()


def _write_rejects(path: Path, summary: LoadSummary) -> None:
    target = rejects_path(path)
    if not summary.rejects:
        target.unlink(missing_ok=True)
        return
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "field", "reason", "reason_zh"])
        for reject in summary.rejects:
            writer.writerow([reject.row, reject.field, reject.en, reject.zh])
    summary.rejects_file = str(target)
