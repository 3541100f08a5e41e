"""What-if: replay a candidate policy on the recorded past before it is scheduled.

For a window of Beijing days, every recorded check is re-decided under the candidate and under the
version that applied (the one the check stored, or ``against``), each with the facts as known at
that check's recorded-time horizon (``checks.known_at``); and every person in the commuter database
or checked in the window has their daily status (07:30 by default) re-assessed under both. The
decisions are the domain's own functions (``replay.redecide``); nothing is written to the store but
one audit entry per run. The diff goes to ``OUT/diff.parquet`` and ``OUT/diff.csv`` and the report
(``report.build``) to ``OUT/report.json``.

Engines: ``local`` — a process pool over partitions (row-id ranges of checks, chunks of people per
day), each worker reading its partition's facts and writing its own diff file; ``spark`` — the
partitions' facts are read into the lake (keyed by row ids), and Spark ships ``redecide_all`` to
them (``whatif.spark``). Both write the same diff files, so the report is the same.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import secrets
import shutil
import time as clock
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from commutepass.domain.clock import BEIJING, local_midnight, to_utc
from commutepass.domain.errors import InputError, NoPolicyInForce
from commutepass.domain.policy import Policy
from commutepass.domain.policy_authoring import PolicyUploadError, parse_policy_text
from commutepass.domain.regions import region_catalog
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.sessions import User, cli_user
from commutepass.policies import policy_from_text
from commutepass.store import policy_store
from commutepass.whatif import report, repository
from commutepass.whatif.partitions import Reader, Shared, Task, init_worker, run_task, run_with

MAX_WINDOW_DAYS = 62
DEFAULT_REFERENCE = time(7, 30)
DEFAULT_PARTITION = 5000
ENGINES = ("local", "spark")


@dataclass(frozen=True)
class WhatIf:
    """One replay: the candidate, the window (Beijing days, inclusive), and how to run it."""

    candidate: Policy
    source: str
    """Where the candidate came from (a file name or ``draft:VERSION``), for the report and audit."""
    first: date
    last: date
    against: str | None = None
    engine: str = "local"
    reference: time = DEFAULT_REFERENCE
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))
    partition_size: int = DEFAULT_PARTITION


# --- the candidate --------------------------------------------------------------------------------


def candidate_from_file(path: Path) -> Policy:
    """The candidate policy in ``path``, validated as an upload is; every error names the file, the
    line and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("policy", f"{path}: no such file", f"{path}：文件不存在") from None
    except UnicodeDecodeError:
        raise InputError("policy", f"{path}: not UTF-8 text", f"{path}：不是 UTF-8 文本") from None
    except OSError as exc:
        raise InputError("policy", f"{path}: cannot read ({exc.strerror})", f"{path}：无法读取") from None
    try:
        return parse_policy_text(text, region_catalog())
    except PolicyUploadError as exc:
        first = exc.problems[0]
        where = f"line {first.line}, " if first.line else ""
        where_zh = f"第 {first.line} 行，" if first.line else ""
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        error = PolicyUploadError(exc.problems)
        error.field = first.field
        error.en = f"{path}: {where}{first.field}: {first.en}{more}"
        error.zh = f"{path}：{where_zh}{first.field}：{first.zh}"
        raise error from None


def candidate_from_draft(app: App, version: str) -> Policy:
    """A version uploaded to the store (a draft, or any stored version) as the candidate."""
    with app.engine.connect() as conn:
        stored = policy_store.get(conn, version)
    if stored is None:
        raise InputError("version", f"no policy version '{version}'", f"没有政策版本“{version}”")
    return policy_from_text(stored.body, stored.effective_from)


def stored_policies(app: App) -> dict[str, Policy]:
    """Every version the store holds, by name (a check keeps the name of the one it used, even if
    that version was withdrawn since)."""
    with app.engine.connect() as conn:
        versions = policy_store.all_versions(conn)
    found = {v.version: policy_from_text(v.body, v.effective_from) for v in versions}
    for p in app.policies.policies:
        found.setdefault(p.version, p)
    return found


# --- planning -------------------------------------------------------------------------------------


@dataclass
class Plan:
    tasks: list[Task]
    checks: int
    checks_without_person: int
    people: int
    days: int
    horizons: dict[str, str]


def _validate(request: WhatIf) -> None:
    if request.last < request.first:
        raise InputError(
            "to",
            f"the window ends ({request.last}) before it starts ({request.first})",
            f"时间窗口的结束日（{request.last}）早于开始日（{request.first}）",
        )
    days = (request.last - request.first).days + 1
    if days > MAX_WINDOW_DAYS:
        raise InputError(
            "to",
            f"the window has {days} days; at most {MAX_WINDOW_DAYS} (split it into several runs)",
            f"时间窗口共 {days} 天，最多 {MAX_WINDOW_DAYS} 天（请分几次运行）",
        )
    if request.engine not in ENGINES:
        raise InputError(
            "engine", f"'{request.engine}' is not local or spark", f"“{request.engine}”不是 local 或 spark"
        )
    if request.workers < 1 or request.partition_size < 1:
        raise InputError(
            "workers", "needs at least one worker and one item per partition", "至少需要一个进程"
        )


def plan(app: App, request: WhatIf, policies: dict[str, Policy]) -> Plan:
    """The partitions of the window: ranges of check row ids, and chunks of people per day."""
    _validate(request)
    if request.against is not None and request.against not in policies:
        raise InputError(
            "against",
            f"no policy version '{request.against}'; known: {', '.join(sorted(policies))}",
            f"没有政策版本“{request.against}”",
        )
    start = to_utc(local_midnight(request.first))
    end = to_utc(local_midnight(request.last + timedelta(days=1)))
    tasks: list[Task] = []
    horizons: dict[str, str] = {}
    with app.engine.connect() as conn:
        span = repository.check_range(conn, start, end)
        unknown = [v for v in repository.versions_used(conn, start, end) if v not in policies]
        if unknown and request.against is None:
            raise InputError(
                "against",
                f"checks in the window used versions the store does not hold ({', '.join(unknown)}); "
                "name the baseline with --against",
                f"窗口内的查验使用了库中没有的政策版本（{'、'.join(unknown)}）；请用 --against 指定对照版本",
            )
        size = request.partition_size
        for lo in range(span.first_id, span.last_id + 1, size):
            tasks.append(
                Task(len(tasks), "check", start, end, first_id=lo, last_id=min(lo + size - 1, span.last_id))
            )
        people = repository.status_people(conn, start, end)
        day = request.first
        while day <= request.last:
            moment = to_utc(datetime.combine(day, request.reference, tzinfo=BEIJING))
            # as known then: the reference time, or — when the checks before it were decided with a
            # later horizon (history loaded and replayed after the fact, as in the demo) — the
            # horizon of the last of them: what the system's decisions of that morning knew
            horizon = max(moment, repository.horizon_before(conn, moment) or moment)
            horizons[day.isoformat()] = horizon.isoformat()
            if people:
                try:
                    base = request.against or app.policies.in_force(moment).version
                except NoPolicyInForce:
                    base = ""  # no version was in force that morning: no status to compare
                if base:
                    for i in range(0, len(people), size):
                        chunk = tuple(people[i : i + size])
                        tasks.append(
                            Task(
                                len(tasks),
                                "status",
                                start,
                                end,
                                person_ids=chunk,
                                moment=moment,
                                horizon=horizon,
                                base_version=base,
                            )
                        )
            day += timedelta(days=1)
    days = (request.last - request.first).days + 1
    if not tasks:
        raise InputError(
            "from",
            f"nothing to replay: no recorded check and nobody in the commuter database under a policy "
            f"version in force from {request.first} to {request.last}",
            f"{request.first} 至 {request.last} 没有可重放的内容：既无查验记录，也无处于现行政策下的通勤库人员",
        )
    return Plan(tasks, span.checks, span.without_person, len(people), days, horizons)


# --- running --------------------------------------------------------------------------------------


def _shared(app: App, request: WhatIf, policies: dict[str, Policy]) -> Shared:
    with app.engine.connect() as conn:
        risk = tuple(repository.risk_history(conn))
    return Shared(app.settings.resolved_database_url(), policies, request.candidate, request.against, risk)


def _run_local(app: App, shared: Shared, tasks: list[Task], parts: Path, workers: int) -> tuple[int, int]:
    items = infants = 0
    if workers == 1 or len(tasks) == 1:
        reader = Reader(shared, app.engine)
        for task in tasks:
            n, skipped = run_with(reader, task, parts)
            items, infants = items + n, infants + skipped
        return items, infants
    context = multiprocessing.get_context("spawn")  # no fork of a process with threads and pools
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=init_worker, initargs=(shared,)
    ) as pool:
        for n, skipped in pool.map(run_task, tasks, [str(parts)] * len(tasks)):
            items, infants = items + n, infants + skipped
    return items, infants


def run(app: App, request: WhatIf, out: Path, user: User | None = None) -> dict[str, Any]:
    """Replay the window under the candidate and the baseline; write the diff and the report to
    ``out`` (replaced if it holds an earlier run) and audit the run. Returns the report."""
    by = user or cli_user()
    started = clock.perf_counter()
    policies = stored_policies(app)
    the_plan = plan(app, request, policies)
    shared = _shared(app, request, policies)
    out.mkdir(parents=True, exist_ok=True)
    parts = out / "parts"
    if parts.exists():
        shutil.rmtree(parts)
    if request.engine == "spark":
        from commutepass.whatif import spark  # pyspark is imported only when asked for

        lake = app.settings.resolved_lake_dir() / "whatif" / f"{out.name}-{secrets.token_hex(4)}"
        items, infants = spark.run(app, shared, the_plan.tasks, lake, parts, request.workers)
    else:
        # a window smaller than one partition is not worth starting worker processes for
        small = the_plan.checks + the_plan.people * the_plan.days <= request.partition_size
        items, infants = _run_local(app, shared, the_plan.tasks, parts, 1 if small else request.workers)
    seconds = clock.perf_counter() - started
    meta = {
        "candidate": request.candidate.version,
        "source": request.source,
        "against": request.against,
        "from": request.first.isoformat(),
        "to": request.last.isoformat(),
        "reference_time": request.reference.strftime("%H:%M"),
        "engine": request.engine,
        "partitions": len(the_plan.tasks),
        "checks_in_window": the_plan.checks,
        "checks_without_person": the_plan.checks_without_person,
        "infant_checks_skipped": infants,
        "status_people": the_plan.people,
        "days": the_plan.days,
        "status_horizons": the_plan.horizons,
        "items": items,
    }
    built = report.build(parts, out, meta)
    shutil.rmtree(parts, ignore_errors=True)
    with app.transaction() as conn:
        audit.record(
            conn,
            app,
            by.actor,
            "whatif.run",
            None,
            f"what-if {request.candidate.version} on {request.first}..{request.last}",
            candidate=request.candidate.version,
            source=request.source,
            against=request.against,
            window=[request.first.isoformat(), request.last.isoformat()],
            engine=request.engine,
            run=out.name,
            items=items,
            changed=built["summary"]["changed"],
        )
    built["timing"] = {"seconds": round(seconds, 2), "re_decisions": 2 * items}
    return built


# --- runs kept for the admin pages ----------------------------------------------------------------

RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")
FILES = {
    "diff.csv": "text/csv; charset=utf-8",
    "diff.parquet": "application/vnd.apache.parquet",
    "report.json": "application/json",
}


def runs_dir(app: App) -> Path:
    return app.settings.data_dir / "whatif"


def run_draft(
    app: App,
    user: User,
    version: str,
    first: date,
    last: date,
    against: str | None = None,
    engine: str = "local",
) -> str:
    """Replay a stored version (a draft, from the admin page); the run is kept under the data
    directory for its report page and downloads. Returns the run's id."""
    candidate = candidate_from_draft(app, version)
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    request = WhatIf(candidate, f"draft:{version}", first, last, against or None, engine)
    out = runs_dir(app) / run_id
    try:
        run(app, request, out, user)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return run_id


def _run_folder(app: App, run_id: str) -> Path:
    folder = runs_dir(app) / run_id
    if not RUN_ID.match(run_id) or not (folder / "report.json").is_file():
        raise InputError("run", f"no what-if run '{run_id}'", f"没有这次推演“{run_id}”")
    return folder


def run_report(app: App, run_id: str) -> dict[str, Any]:
    return report.read(_run_folder(app, run_id))


def run_file(app: App, run_id: str, name: str) -> tuple[Path, str]:
    """A download of a kept run: its diff (CSV, Parquet) or report (JSON)."""
    if name not in FILES:
        raise InputError("file", f"no file '{name}'; one of {', '.join(FILES)}", f"没有文件“{name}”")
    return _run_folder(app, run_id) / name, FILES[name]


def recent_runs(app: App, limit: int = 20) -> list[dict[str, Any]]:
    folder = runs_dir(app)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir(), reverse=True):
        if RUN_ID.match(path.name) and (path / "report.json").is_file():
            meta = report.read(path)["meta"]
            found.append(
                {"id": path.name, **{k: meta[k] for k in ("candidate", "source", "from", "to", "engine")}}
            )
        if len(found) >= limit:
            break
    return found
