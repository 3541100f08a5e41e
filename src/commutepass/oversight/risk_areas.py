"""Risk areas as the admin keeps them: list the case periods, add one, end one.

A change made by hand is recorded like a file load (kind ``risk``, file name ``admin:<who>``) so
the table keeps who changed what, and every server sees the change within a second (the risk
fingerprint includes the load id).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import PurePath
from typing import Any

from commutepass.domain.errors import InputError
from commutepass.domain.facts import RiskLevel
from commutepass.kit.context import App
from commutepass.oversight import repository
from commutepass.store import repositories as repo


@dataclass(frozen=True)
class RiskArea:
    id: int
    county: str
    name: str
    level: RiskLevel
    start: date
    end: date | None
    changed_by: str

    def active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or self.end >= day)


def list_risk_areas(app: App) -> list[RiskArea]:
    """Every case period in its latest recorded version, newest first (earlier versions stay
    in the table: what was known before a period was ended remains answerable)."""
    with app.engine.connect() as conn:
        versions = repo.risk_versions(conn)
        names = repository.load_file_names(conn, {v.load_id for v in versions if v.load_id is not None})
    areas = []
    for v in versions:
        county = app.catalog.get(v.period.county)
        areas.append(
            RiskArea(
                id=v.id,
                county=v.period.county,
                name=county.full_name if county else v.period.county,
                level=v.period.level,
                start=v.period.start,
                end=v.period.end,
                changed_by=_source(names.get(v.load_id) if v.load_id is not None else None),
            )
        )
    areas.sort(key=lambda a: a.county)
    areas.sort(key=lambda a: a.start, reverse=True)
    return areas


def _source(file_name: str | None) -> str:
    """``admin:<who>`` for a change by hand, else the loaded file's name (not its full path)."""
    if not file_name:
        return ""
    return file_name if file_name.startswith("admin:") else PurePath(file_name).name


def _level(value: str) -> RiskLevel:
    try:
        return RiskLevel(value.strip())
    except ValueError:
        allowed = ", ".join(level.value for level in RiskLevel)
        raise InputError(
            "level", f"'{value}' is not a risk level ({allowed})", f"“{value}”不是风险类别（{allowed}）"
        ) from None


def _record_change(app: App, actor: str, what: str, rows: list[dict[str, Any]]) -> tuple[int, int]:
    """Apply ``rows`` to the risk periods in one transaction, recorded as a load by ``actor``."""
    name = f"admin:{actor.strip() or 'unknown'}"
    with app.transaction() as conn:
        load_id = repo.record_load(
            conn,
            kind="risk",
            file_name=name[:200],
            sha256=hashlib.sha256(what.encode()).hexdigest(),
            rows_total=len(rows),
            rows_added=0,
            rows_duplicate=0,
            rows_rejected=0,
        )
        added, changed = repo.upsert_risk_periods(conn, [{**row, "load_id": load_id} for row in rows])
        repo.update_load(
            conn, load_id, rows_added=added + changed, rows_duplicate=len(rows) - added - changed
        )
    app.risk_changed()
    return added, changed


def add_risk_area(app: App, county: str, level: str, start: date, end: date | None, actor: str) -> None:
    """Start a case period for a county (or set the end of the one that starts that day)."""
    found = app.catalog.county(county)
    if end is not None and end < start:
        raise InputError("end", "the end date is before the start date", "结束日期早于开始日期")
    row = {"county": found.code, "level": _level(level).value, "start": start, "end": end}
    _record_change(app, actor, f"add {row}", [row])


def end_risk_area(app: App, period_id: int, end: date, actor: str) -> None:
    """Set the last day of a case period."""
    with app.engine.connect() as conn:
        row = repository.risk_period(conn, period_id)
    if row is None:
        raise InputError("id", f"no risk period with id {period_id}", f"没有编号为 {period_id} 的风险时段")
    if end < row.start:
        raise InputError("end", "the end date is before the start date", "结束日期早于开始日期")
    _record_change(
        app,
        actor,
        f"end {period_id} {end}",
        [{"county": row.county, "level": row.level, "start": row.start, "end": end}],
    )
