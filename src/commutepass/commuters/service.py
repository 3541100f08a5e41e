"""The commuter database: enrol, list as of a time, and identify from travel records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Connection

from commutepass.commuters.evaluate import Evaluation, read_truth, score
from commutepass.commuters.identification import (
    DuckDBEngine,
    Engine,
    Lake,
    SparkEngine,
    features_of,
    run_job,
    write_travel,
)
from commutepass.domain.clock import BEIJING, local_midnight
from commutepass.domain.commuters import Classification, Features, Outcome, explain
from commutepass.domain.errors import InputError
from commutepass.domain.facts import Source
from commutepass.domain.identity import ResidentId, parse_resident_id
from commutepass.domain.policy import CommuterClass
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.notifications import service as notifications
from commutepass.store import repositories as repo


def _entry_json(listed: repo.ListedEntry) -> dict[str, Any]:
    e = listed.entry
    return {
        "id": listed.id_masked,
        "person_key": listed.person_key,
        "commuter_class": e.commuter_class.value,
        "source": e.source.value,
        "home_county": e.home_county,
        "valid_from": e.valid_from.astimezone(BEIJING).isoformat(),
        "valid_to": e.valid_to.astimezone(BEIJING).isoformat() if e.valid_to else None,
        "reason": e.reason,
        "evidence": e.evidence,
    }


def add_commuter(
    app: App,
    id_number: str,
    *,
    since: date,
    source: Source,
    commuter_class: CommuterClass = CommuterClass.DAILY,
    home_county: str | None = None,
    reason: str = "",
    by: audit.Actor | None = None,
    conn: Connection | None = None,
) -> dict[str, Any]:
    """Enrol a person from ``since`` 00:00 (application, hotline or manual), audited as ``by``
    (the operator at the command line by default); in the caller's transaction when ``conn`` is
    given (an approved application: the decision and the entry are stored together or not at all)."""
    if source is Source.AUTO:
        raise InputError(
            "source", "auto entries come from identification only", "自动入库只能由大数据识别产生"
        )
    resident = parse_resident_id(id_number)
    valid_from = local_midnight(since)
    check_home_county(app, home_county, valid_from)
    actor = by or audit.cli_actor()
    if conn is None:
        with app.transaction() as own:
            return _enrol(own, app, actor, resident, valid_from, source, commuter_class, home_county, reason)
    return _enrol(conn, app, actor, resident, valid_from, source, commuter_class, home_county, reason)


def check_home_county(app: App, home_county: str | None, valid_from: datetime) -> None:
    """A home county must exist and lie in the ring area of the policy in force from ``valid_from``."""
    if home_county is None:
        return
    policy = (
        app.policies.in_force(valid_from)
        if valid_from >= app.policies.policies[0].effective_from
        else app.policies.policies[0]
    )
    county = app.catalog.county(home_county, "home_county")
    if not policy.ring_area.contains(county.code):
        raise InputError(
            "home_county",
            f"{county.full_name} ({county.code}) is outside the ring area ({policy.ring_area.note})",
            f"{county.full_name}（{county.code}）不在环京地区（{policy.ring_area.note}）",
        )


def _enrol(
    conn: Connection,
    app: App,
    actor: audit.Actor,
    resident: ResidentId,
    valid_from: datetime,
    source: Source,
    commuter_class: CommuterClass,
    home_county: str | None,
    reason: str,
) -> dict[str, Any]:
    person_id = app.ensure_person(conn, resident)
    current = next((e for e in repo.entries_of(conn, person_id) if e.valid_to is None), None)
    if current is not None:
        if current.valid_from >= valid_from:
            raise InputError(
                "since",
                f"an entry from {current.valid_from.astimezone(BEIJING):%Y-%m-%d} is already open; "
                "a new one must start after it",
                f"已有自 {current.valid_from.astimezone(BEIJING):%Y-%m-%d} 起的记录，新记录须晚于该日期",
            )
        repo.end_entry(conn, current.id, valid_from, f"superseded by {source.value} entry")
    repo.add_entry(
        conn,
        person_id=person_id,
        commuter_class=commuter_class,
        source=source,
        valid_from=valid_from,
        reason=reason or f"enrolled by {source.value}",
        home_county=home_county,
    )
    entry = repo.entry_at(conn, person_id, valid_from)
    assert entry is not None, "the entry just added is in force from its first moment"
    added = _entry_json(repo.ListedEntry(app.vault.key(resident), resident.masked, entry))
    audit.record(conn, app, actor, "commuter.add", person_id, added["reason"], source=added["source"])
    return added


def list_commuters(app: App, as_of: datetime, by: audit.Actor | None = None) -> list[dict[str, Any]]:
    """The database as of a time; the listing itself is audited (the operator's by default)."""
    with app.transaction() as conn:
        audit.record(
            conn,
            app,
            by or audit.cli_actor(),
            "commuters.list",
            None,
            "database listing",
            as_of=as_of.isoformat(),
        )
        return [_entry_json(e) for e in repo.entries_in_force(conn, as_of)]


@dataclass
class IdentifySummary:
    as_of: str
    window_days: int
    engine: str = "duckdb"
    days_built: int = 0
    """Window days whose daily activity was built from travel rows in this run (the rest reused)."""
    people_seen: int = 0
    added: int = 0
    changed_class: int = 0
    revoked: int = 0
    kept_in_grace: int = 0
    unchanged: int = 0
    by_class: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def identify(
    app: App,
    as_of: date,
    window_days: int | None = None,
    engine: str | Engine = "duckdb",
    by: audit.Actor | None = None,
) -> IdentifySummary:
    """Run the identification job over the window ending on ``as_of`` and record what it found:
    entries change from the next day 00:00 and old rows are closed, never overwritten. The run's
    summary goes to the audit log (as the operator at the command line by default)."""
    summary = _identify(app, as_of, window_days, engine)
    with app.transaction() as conn:
        audit.record(
            conn,
            app,
            by or audit.cli_actor(),
            "commuters.identify",
            None,
            f"as of {as_of.isoformat()}",
            **summary.as_dict(),
        )
    notifications.refresh(app)  # entries added or ended are told (each once)
    return summary


def _identify(app: App, as_of: date, window_days: int | None, engine: str | Engine) -> IdentifySummary:
    effective = local_midnight(as_of + timedelta(days=1))
    policy = app.policies.in_force(effective)
    rules = policy.commuters.identification
    if window_days is not None:
        if window_days < 7:
            raise InputError("window", "must be at least 7 days", "至少 7 天")
        rules = rules.model_copy(update={"window_days": window_days})
    lake = lake_of(app)
    job = run_job(lake, _engine(app, engine), as_of, rules, policy.ring_area)
    summary = IdentifySummary(
        as_of=as_of.isoformat(),
        window_days=rules.window_days,
        engine=job.engine,
        days_built=len(job.days_built),
        people_seen=job.result.num_rows,
    )
    classified: dict[int, Classification] = {}
    judged: dict[int, Classification] = {}
    for row in job.result.to_pylist():
        result = explain(Outcome(row["outcome"]), features_of(row, rules.window_days), rules, app.catalog)
        judged[row["person_id"]] = result
        if result.commuter_class is not None:
            classified[row["person_id"]] = result
            summary.by_class[result.commuter_class.value] = (
                summary.by_class.get(result.commuter_class.value, 0) + 1
            )
    with app.transaction() as conn:
        current = repo.open_entries(conn)
        for person_id, result in classified.items():
            entry = current.get(person_id)
            assert result.commuter_class is not None
            evidence = f"{result.evidence_zh} / {result.evidence_en}"
            if entry is not None and entry.valid_from >= effective:
                summary.unchanged += 1  # a later run already decided from that day on
                continue
            if entry is not None and (
                entry.commuter_class is result.commuter_class or entry.source is not Source.AUTO
            ):
                summary.unchanged += 1
                continue
            if entry is not None:
                repo.end_entry(
                    conn,
                    entry.id,
                    effective,
                    f"class changed to {result.commuter_class.value}: {result.evidence_en}",
                )
                summary.changed_class += 1
            else:
                summary.added += 1
            repo.add_entry(
                conn,
                person_id=person_id,
                commuter_class=result.commuter_class,
                source=Source.AUTO,
                valid_from=effective,
                reason=f"identified from travel records as of {as_of.isoformat()}",
                home_county=result.features.home_county,
                evidence=evidence,
            )
        for person_id, entry in current.items():
            if person_id in classified or entry.valid_from >= effective:
                continue
            if entry.source is not Source.AUTO:
                grace_end = entry.valid_from + timedelta(days=policy.commuters.application_grace_days)
                if effective < grace_end:
                    summary.kept_in_grace += 1
                    continue
            why = judged.get(person_id) or explain(
                Outcome.NO_ENTRY, NO_FEATURES(rules.window_days), rules, app.catalog
            )
            repo.end_entry(
                conn,
                entry.id,
                effective,
                f"pattern lapsed as of {as_of.isoformat()}: {why.evidence_en}",
            )
            summary.revoked += 1
    return summary


def NO_FEATURES(window_days: int) -> Features:
    """The features of a person with no travel row in the window."""
    return Features(window_days, window_days, 0, 0, 0, 0, 0, None, 0, 0, None, None, None)


def lake_of(app: App) -> Lake:
    """The travel copy identification reads, brought up to date with the store first: every
    travel load not yet copied is copied (people by row id only, Beijing wall-clock times)."""
    lake = Lake(app.settings.resolved_lake_dir())
    marks = lake.root / "exported"
    with app.engine.connect() as conn:
        for load_id in repo.travel_load_ids(conn):
            mark = marks / f"load-{load_id}"
            if mark.exists():
                continue
            for batch, rows in enumerate(repo.travel_of_load(conn, load_id)):
                columns = list(zip(*rows, strict=True))
                table = pa.table(
                    {
                        "person_id": pa.array(columns[0], pa.int64()),
                        "event_time": pa.array(
                            [t.astimezone(BEIJING).replace(tzinfo=None) for t in columns[1]],
                            pa.timestamp("us"),
                        ),
                        "direction": pa.array(columns[2], pa.string()),
                        "mode": pa.array(columns[3], pa.string()),
                        "site": pa.array(columns[4], pa.string()),
                        "county": pa.array(columns[5], pa.string()),
                    }
                )
                write_travel(lake, table, f"load-{load_id}-{batch}")
            marks.mkdir(parents=True, exist_ok=True)
            mark.touch()
    return lake


def _engine(app: App, engine: str | Engine) -> Engine:
    if not isinstance(engine, str):
        return engine
    if engine == "duckdb":
        return DuckDBEngine()
    if engine == "spark":
        return SparkEngine(master=app.settings.spark_master)
    raise InputError("engine", f"'{engine}' is not one of duckdb, spark", f"“{engine}”不是 duckdb 或 spark")


def evaluate(app: App, truth_path: Path, as_of: date) -> Evaluation:
    """Score the database as identification left it for the day after ``as_of`` against a
    truth file (the generator's ``truth``): every person in it, commuter or not."""
    truth = read_truth(truth_path)
    moment = local_midnight(as_of + timedelta(days=1))
    with app.engine.connect() as conn:
        found = {e.person_key: e.entry.commuter_class.value for e in repo.entries_in_force(conn, moment)}
    rows: list[tuple[str, str, str]] = []
    for number, (id_number, behaviour, expected) in enumerate(
        zip(*(truth[c].to_pylist() for c in ("id_number", "behaviour", "expected_class")), strict=True),
        start=2,
    ):
        try:
            key = app.vault.key(parse_resident_id(id_number or ""))
        except InputError as exc:
            raise InputError(
                "truth",
                f"{truth_path}, row {number}: id_number {exc.en}",
                f"{truth_path}，第 {number} 行：身份证号{exc.zh}",
            ) from None
        rows.append((behaviour or "", expected or "", found.get(key, "")))
    return score(rows)
