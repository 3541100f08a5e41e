"""The command line: a contract other tools depend on. Thin: every command calls a service.

Output is one JSON object per line. A row that cannot be processed gives a line with an
``error`` field and the batch goes on.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from commutepass.cli_credentials import checkpoint_app, codes_app, trust_app
from commutepass.domain.clock import parse_date, parse_time
from commutepass.domain.errors import InputError
from commutepass.domain.facts import Source
from commutepass.domain.policy import CommuterClass
from commutepass.services import commuters as commuter_service
from commutepass.services import decide
from commutepass.services.context import App
from commutepass.services.loading import COLUMNS, LoadError, load_file
from commutepass.settings import Settings

app = typer.Typer(
    help="commutepass: commuter database, health-code status and checkpoint decisions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
commuters_app = typer.Typer(help="The commuter database (通勤人员数据库).", no_args_is_help=True)
app.add_typer(commuters_app, name="commuters")
app.add_typer(codes_app, name="codes")
app.add_typer(trust_app, name="trust")
app.add_typer(checkpoint_app, name="checkpoint")
users_app = typer.Typer(
    help="Users and roles (citizen, officer, hotline, reviewer, admin, analyst).", no_args_is_help=True
)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
retention_app = typer.Typer(help="Deleting rows past the policy's retention period.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")


def _emit(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))
    sys.stdout.buffer.flush()


def _fail(exc: InputError | LoadError, code: int = 2) -> None:
    if isinstance(exc, InputError):
        _emit({"error": exc.as_dict()})
    else:
        _emit({"error": {"file": str(exc.path), "en": exc.en, "zh": exc.zh}})
    raise typer.Exit(code)


def _app(ctx: typer.Context) -> App:
    settings: Settings = ctx.obj
    return App.open(settings)


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data directory (env COMMUTEPASS_DATA_DIR, default ./var)."),
    ] = None,
) -> None:
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    ctx.obj = settings


@app.command()
def load(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="travel | nat | itinerary | risk")],
    files: Annotated[list[Path], typer.Argument(help="CSV or Parquet files with a header row")],
) -> None:
    """Load files; bad rows go to FILE.rejects.csv beside each input; one transaction per file."""
    if kind not in COLUMNS:
        _fail(
            InputError(
                "kind",
                f"'{kind}' is not one of {', '.join(COLUMNS)}",
                f"“{kind}”不是 {'、'.join(COLUMNS)} 之一",
            )
        )
    application = _app(ctx)
    failed = False
    for path in files:
        try:
            summary = load_file(application, kind, path, progress=True)
        except LoadError as exc:
            _emit({"file": str(path), "error": {"en": exc.en, "zh": exc.zh}})
            failed = True
            continue
        _emit(summary.as_dict())
        sys.stderr.write(
            f"{path}: {summary.rows} rows, {summary.added} added, {summary.duplicate} already present, "
            f"{summary.rejected} rejected"
            + (f" (see {summary.rejects_file})" if summary.rejects_file else "")
            + "\n"
        )
    if failed:
        raise typer.Exit(1)


@app.command()
def identify(
    ctx: typer.Context,
    as_of: Annotated[str, typer.Option("--as-of", help="Last day of the look-back window (YYYY-MM-DD).")],
    window: Annotated[
        int | None, typer.Option("--window", help="Days to look back (default: policy).")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="duckdb (embedded, default) or spark (COMMUTEPASS_SPARK_MASTER).")
    ] = "duckdb",
) -> None:
    """Identify commuters from travel records; entries change from the next day."""
    try:
        day = parse_date(as_of, "as_of")
        if engine not in ("duckdb", "spark"):
            raise InputError(
                "engine", f"'{engine}' is not one of duckdb, spark", f"“{engine}”不是 duckdb 或 spark"
            )
        from commutepass.services import audit, people

        summary = people.identify_audited(_app(ctx), audit.CLI, day, window, engine)
    except InputError as exc:
        _fail(exc)
    _emit(summary)


@app.command()
def evaluate(
    ctx: typer.Context,
    truth: Annotated[
        Path, typer.Option("--truth", help="Truth file of the synthetic region (CSV or Parquet).")
    ],
    as_of: Annotated[str, typer.Option("--as-of", help="The day identification ran for (YYYY-MM-DD).")],
) -> None:
    """Precision, recall and class agreement of the commuter database against a truth file."""
    try:
        day = parse_date(as_of, "as_of")
        result = commuter_service.evaluate(_app(ctx), truth, day)
    except InputError as exc:
        _fail(exc)
    _emit({"scope": "overall", **result.overall.as_dict(), "confusion": result.overall.matrix()})
    for behaviour, part in result.by_behaviour.items():
        _emit({"scope": "behaviour", "behaviour": behaviour, **part.as_dict(), "confusion": part.matrix()})


@app.command()
def synth(
    people: Annotated[int, typer.Option("--people", help="People in the region (up to 1,800,000).")],
    days: Annotated[int, typer.Option("--days", help="Days of records.")],
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")] = 7,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Write a synthetic ring-Beijing region in the load formats, with its truth file."""
    from commutepass.analytics.synth import write_region

    try:
        first = parse_date(start, "start")
        result = write_region(out, people=people, days=days, start=first, seed=seed, fmt=fmt, progress=True)
    except InputError as exc:
        _fail(exc)
    _emit(
        {
            "people": result.people,
            "travel_rows": result.travel_rows,
            "files": {kind: str(path) for kind, path in result.files.items()},
        }
    )


@commuters_app.command("add")
def commuters_add(
    ctx: typer.Context,
    id_number: Annotated[str, typer.Argument(help="Resident ID number")],
    since: Annotated[
        str, typer.Option("--since", help="First day in the database (YYYY-MM-DD), from 00:00.")
    ],
    source: Annotated[str, typer.Option("--source", help="application | hotline | manual")],
    commuter_class: Annotated[str, typer.Option("--class", help="daily | weekly")] = "daily",
    home_county: Annotated[
        str | None, typer.Option("--home-county", help="County code of residence (ring area).")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the history).")] = "",
) -> None:
    """Enrol a person in the commuter database."""
    try:
        if source not in ("application", "hotline", "manual"):
            raise InputError(
                "source",
                f"'{source}' is not application, hotline or manual",
                f"“{source}”不是 application、hotline 或 manual",
            )
        if commuter_class not in ("daily", "weekly"):
            raise InputError(
                "class",
                f"'{commuter_class}' is not daily or weekly",
                f"“{commuter_class}”不是 daily 或 weekly",
            )
        from commutepass.services import audit, people

        entry = people.enrol(
            _app(ctx),
            audit.CLI,
            id_number,
            since=parse_date(since, "since"),
            source=Source(source),
            commuter_class=CommuterClass(commuter_class),
            home_county=home_county,
            reason=reason,
        )
    except InputError as exc:
        _fail(exc)
    _emit(entry)


@commuters_app.command("list")
def commuters_list(
    ctx: typer.Context,
    as_of: Annotated[str, typer.Option("--as-of", help="Date or time (ISO 8601); a date means 00:00.")],
) -> None:
    """Everyone in the database at that time, one JSON line each."""
    try:
        at = parse_time(as_of, "as_of")
    except InputError as exc:
        _fail(exc)
    for entry in commuter_service.list_commuters(_app(ctx), at):
        _emit(entry)


def _batch_or_single(id_number: str | None, batch: Path | None) -> None:
    if (id_number is None) == (batch is None):
        _fail(
            InputError(
                "id_number",
                "give either ID_NUMBER or --batch FILE",
                "请给出身份证号或 --batch 文件（二选一）",
            )
        )


@app.command()
def status(
    ctx: typer.Context,
    id_number: Annotated[str | None, typer.Argument(help="Resident ID number")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Time (ISO 8601; no offset = Beijing time).")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="CSV with columns id_number,at")] = None,
) -> None:
    """A person's health-code status: colour, pop-up, commuter badge, with reasons."""
    _batch_or_single(id_number, batch)
    application = _app(ctx)
    try:
        if batch is not None:
            for line in decide.status_batch(application, batch):
                _emit(line)
            return
        moment = parse_time(at, "at") if at else datetime.now().astimezone()
        _emit(decide.status_of(application, id_number or "", moment))
    except InputError as exc:
        _fail(exc)


@app.command()
def check(
    ctx: typer.Context,
    id_number: Annotated[str | None, typer.Argument(help="Resident ID number")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Time (ISO 8601; no offset = Beijing time).")] = None,
    site: Annotated[str | None, typer.Option("--site", help="Checkpoint or station name.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="road | rail")] = None,
    no_smartphone: Annotated[
        bool,
        typer.Option("--no-smartphone", help="Elderly, child or disabled without a smartphone."),
    ] = False,
    companion: Annotated[
        list[str] | None,
        typer.Option("--companion", help="Companion ID number (for an infant); repeat."),
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help="CSV: id_number,at,site,mode,smartphone,companions"),
    ] = None,
) -> None:
    """The checkpoint decision (recorded as a swipe), with reasons and what to check by hand."""
    _batch_or_single(id_number, batch)
    application = _app(ctx)
    try:
        if batch is not None:
            for line in decide.check_batch(application, batch):
                _emit(line)
            return
        if not site:
            raise InputError("site", "--site is required", "须给出 --site（检查站或车站）")
        request = decide.CheckRequest(
            id_number=id_number or "",
            at=parse_time(at, "at") if at else datetime.now().astimezone(),
            site=site,
            mode=decide.parse_mode(mode or ""),
            smartphone=not no_smartphone,
            companions=tuple(companion or ()),
        )
        _emit(decide.check(application, request))
    except InputError as exc:
        _fail(exc)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs)."""
    from commutepass.api.server import run

    run(ctx.obj, host=host, port=port, workers=workers)


@app.command()
def demo(
    ctx: typer.Context,
    people: Annotated[int, typer.Option(help="People in the synthetic region.")] = 3000,
    days: Annotated[int, typer.Option(help="Days of travel records.")] = 28,
    port: Annotated[int, typer.Option(help="Port for the API.")] = 8000,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")] = True,
) -> None:
    """Build a small synthetic region, identify commuters, show sample people, serve the API."""
    from commutepass.services.demo import run_demo

    run_demo(ctx.obj, people=people, days=days, port=port, serve=serve_api)


@app.command()
def reasons(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/reasons.md.")] = False,
) -> None:
    """Every reason code with its texts in Chinese and English."""
    from commutepass.domain.reasons import CATALOG, catalog_markdown

    if markdown:
        sys.stdout.write(catalog_markdown())
        return
    for code, text in CATALOG.items():
        _emit(
            {
                "code": code,
                "kind": text.kind,
                "zh": text.zh,
                "en": text.en,
                "remedy_zh": text.remedy_zh,
                "remedy_en": text.remedy_en,
            }
        )


@app.command()
def policies(ctx: typer.Context) -> None:
    """The policy versions, each with when it takes effect."""
    application = _app(ctx)
    for policy in application.policies.policies:
        end = application.policies.effective_to(policy)
        _emit(
            {
                "version": policy.version,
                "effective_from": policy.effective_from.isoformat(),
                "effective_to": end.isoformat() if end else None,
                "title_zh": policy.title_zh,
                "title_en": policy.title_en,
            }
        )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password / 密码", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="3-64 letters, digits, . _ -")],
    role: Annotated[
        str, typer.Option("--role", help="citizen | officer | hotline | reviewer | admin | analyst")
    ],
    id_number: Annotated[
        str | None, typer.Option("--id-number", help="A citizen's own ID number (required for citizens).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Create a user (the password is asked for, or read with --password-stdin)."""
    from commutepass.domain.roles import parse_role
    from commutepass.services import auth

    try:
        parsed = parse_role(role)
        password = _read_password(password_stdin)
        _emit(auth.add_user(_app(ctx), username, password, parsed, id_number=id_number))
    except InputError as exc:
        _fail(exc)


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Every user, one JSON line each."""
    from commutepass.services import auth

    for user in auth.list_users(_app(ctx)):
        _emit(user)


@users_app.command("disable")
def users_disable(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user; their open sessions end at once."""
    from commutepass.services import auth

    try:
        _emit(auth.set_disabled(_app(ctx), username, True))
    except InputError as exc:
        _fail(exc)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Walk the chain; exit 1 and list each edited, inserted or deleted entry if any."""
    from commutepass.services import audit

    result = audit.verify(_app(ctx))
    _emit(result.as_dict())
    if not result.ok:
        raise typer.Exit(1)


@retention_app.command("run")
def retention_run(
    ctx: typer.Context,
    now: Annotated[
        str | None, typer.Option("--now", help="Run as of this time (ISO 8601; default now).")
    ] = None,
) -> None:
    """Delete travel, itinerary and swipe rows older than the policy's retention period; daily
    counts are kept."""
    from commutepass.services import retention

    try:
        moment = parse_time(now, "now") if now else None
    except InputError as exc:
        _fail(exc)
    _emit(retention.run(_app(ctx), now=moment))


def main() -> None:
    app()
