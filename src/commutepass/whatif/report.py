"""The what-if report: the full diff as Parquet and CSV, and the aggregates an admin reads.

Built with DuckDB from the partitions' diff files, whichever engine wrote them, so both engines give
the same report. Every list is sorted, so the same diff gives the same report byte for byte.
People appear as pseudonyms (the first 16 hex digits of their keyed hash); no ID number is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from commutepass.whatif.replay import DIFF_SCHEMA

SAMPLE_SIZE = 12
PEOPLE_LISTED = 100
DIMENSIONS = {
    "day": "CAST(day AS VARCHAR)",
    "checkpoint": "site",
    "mode": "mode",
    "commuter_class": "commuter_class",
    "home_prefecture": "home_prefecture",
}
"""Dimensions of the breakdowns; checkpoint and mode apply to checks only."""
CHECK_ONLY = {"checkpoint", "mode"}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, (_plain(v) for v in row), strict=True)) for row in cursor.fetchall()]


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0] or 0) if row else 0


def build(parts: Path, out: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``out/diff.parquet``, ``out/diff.csv`` and ``out/report.json``; return the report."""
    con = duckdb.connect()
    files = sorted(parts.glob("*.parquet")) if parts.is_dir() else []
    if files:
        con.execute(f"CREATE VIEW d AS SELECT * FROM read_parquet({[str(f) for f in files]!r})")
    else:
        con.register("empty_diff", DIFF_SCHEMA.empty_table())
        con.execute("CREATE VIEW d AS SELECT * FROM empty_diff")
    order = "ORDER BY kind, day, check_id NULLS LAST, person, item"
    for name in ("diff.parquet", "diff.csv"):
        (out / name).unlink(missing_ok=True)
    con.execute(
        f"COPY (SELECT * FROM d {order}) TO '{out / 'diff.parquet'}' (FORMAT parquet, COMPRESSION zstd)"
    )
    con.execute(f"COPY (SELECT * FROM d {order}) TO '{out / 'diff.csv'}' (FORMAT csv, HEADER true)")

    summary = {
        "checks": _one(con, "SELECT count(*) FROM d WHERE kind = 'check'"),
        "statuses": _one(con, "SELECT count(*) FROM d WHERE kind = 'status'"),
        "changed": _one(con, "SELECT count(*) FROM d WHERE changed"),
        "changed_checks": _one(con, "SELECT count(*) FROM d WHERE changed AND kind = 'check'"),
        "changed_statuses": _one(con, "SELECT count(*) FROM d WHERE changed AND kind = 'status'"),
        "decisions_changed": _one(
            con, "SELECT count(*) FROM d WHERE kind = 'check' AND base_decision <> cand_decision"
        ),
        "newly_refused_checks": _one(
            con, "SELECT count(*) FROM d WHERE cand_decision = 'refuse' AND base_decision <> 'refuse'"
        ),
        "no_longer_refused_checks": _one(
            con, "SELECT count(*) FROM d WHERE base_decision = 'refuse' AND cand_decision <> 'refuse'"
        ),
        "badges_lost": _one(con, "SELECT count(*) FROM d WHERE base_badge AND NOT cand_badge"),
        "badges_gained": _one(con, "SELECT count(*) FROM d WHERE cand_badge AND NOT base_badge"),
        "baseline_differs_from_recorded": _one(
            con, "SELECT count(*) FROM d WHERE kind = 'check' AND base_decision <> recorded_decision"
        ),
        "people": _one(con, "SELECT count(DISTINCT person) FROM d"),
    }
    transitions: dict[str, list[dict[str, Any]]] = {}
    for what, base, cand in (
        ("decision", "base_decision", "cand_decision"),
        ("badge", "CAST(base_badge AS VARCHAR)", "CAST(cand_badge AS VARCHAR)"),
        ("color", "base_color", "cand_color"),
        ("popup", "base_popup", "cand_popup"),
    ):
        transitions[what] = _rows(
            con,
            f'SELECT kind, {base} AS "from", {cand} AS "to", count(*) AS n FROM d '
            f"WHERE {base} IS DISTINCT FROM {cand} AND {base} IS NOT NULL "
            f'GROUP BY ALL ORDER BY kind, n DESC, "from", "to"',
        )
    by: dict[str, list[dict[str, Any]]] = {}
    for name, expr in DIMENSIONS.items():
        where = "WHERE kind = 'check'" if name in CHECK_ONLY else ""
        by[name] = _rows(
            con,
            f"SELECT kind, coalesce({expr}, '') AS value, count(*) AS items, "
            "count(*) FILTER (WHERE changed) AS changed, "
            "count(*) FILTER (WHERE cand_decision = 'refuse' AND base_decision <> 'refuse') AS newly_refused, "
            "count(*) FILTER (WHERE base_badge AND NOT cand_badge) AS badges_lost "
            f"FROM d {where} GROUP BY ALL ORDER BY kind, value",
        )
    by["reason_code"] = _rows(
        con,
        "WITH a AS (SELECT kind, unnest(string_split(reasons_added, ',')) AS code FROM d "
        "WHERE changed AND reasons_added <> ''), "
        "r AS (SELECT kind, unnest(string_split(reasons_removed, ',')) AS code FROM d "
        "WHERE changed AND reasons_removed <> '') "
        "SELECT kind, code, sum(added) AS added, sum(removed) AS removed FROM ("
        "SELECT kind, code, 1 AS added, 0 AS removed FROM a UNION ALL "
        "SELECT kind, code, 0 AS added, 1 AS removed FROM r) GROUP BY ALL ORDER BY kind, code",
    )
    losing = _rows(
        con,
        "SELECT person, min(day) AS first_day FROM d WHERE base_badge AND NOT cand_badge "
        "GROUP BY person ORDER BY first_day, person",
    )
    refused = _rows(
        con,
        "SELECT person, min(day) FILTER (WHERE cand_decision = 'refuse') AS first_day FROM d "
        "WHERE kind = 'check' GROUP BY person "
        "HAVING count(*) FILTER (WHERE cand_decision = 'refuse') > 0 "
        "AND count(*) FILTER (WHERE base_decision = 'refuse') = 0 ORDER BY first_day, person",
    )
    summary["people_losing_badge"] = len(losing)
    summary["people_refused_first_time"] = len(refused)
    sample = _rows(
        con,
        'SELECT kind, person, "at", site, mode, commuter_class, home_prefecture, '
        "base_version, cand_version, base_decision, cand_decision, base_color, cand_color, base_popup, "
        "cand_popup, base_badge, cand_badge, base_zh, cand_zh, base_en, cand_en FROM ("
        "SELECT *, row_number() OVER (PARTITION BY kind, base_decision, cand_decision, base_badge, cand_badge, "
        "base_color, cand_color, base_popup, cand_popup ORDER BY day, person, item) AS k FROM d WHERE changed) "
        f"WHERE k = 1 ORDER BY kind, base_decision NULLS LAST, cand_decision NULLS LAST, base_badge, cand_badge, "
        f"base_color, cand_color, base_popup, cand_popup LIMIT {SAMPLE_SIZE}",
    )
    con.close()
    result = {
        "meta": meta,
        "summary": summary,
        "transitions": transitions,
        "by": by,
        "people_losing_badge": losing[:PEOPLE_LISTED],
        "people_refused_first_time": refused[:PEOPLE_LISTED],
        "sample": sample,
        "files": {"parquet": "diff.parquet", "csv": "diff.csv"},
    }
    (out / "report.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return result


def read(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    return data


def diff_rows(out: Path) -> int:
    return int(pq.ParquetFile(out / "diff.parquet").metadata.num_rows)
