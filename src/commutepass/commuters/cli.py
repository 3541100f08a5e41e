"""The commuter database at the command line: ``identify``, ``evaluate`` and ``commuters add|list``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from commutepass.commuters import service
from commutepass.domain.clock import parse_date, parse_time
from commutepass.domain.errors import InputError
from commutepass.domain.facts import Source
from commutepass.domain.policy import CommuterClass
from commutepass.kit.cli import app_of, emit, fail

cli = typer.Typer()
commuters = typer.Typer(help="The commuter database (通勤人员数据库).", no_args_is_help=True)
cli.add_typer(commuters, name="commuters")


@cli.command()
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
        summary = service.identify(app_of(ctx), day, window, engine).as_dict()
    except InputError as exc:
        fail(exc)
    emit(summary)


@cli.command()
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
        result = service.evaluate(app_of(ctx), truth, day)
    except InputError as exc:
        fail(exc)
    emit({"scope": "overall", **result.overall.as_dict(), "confusion": result.overall.matrix()})
    for behaviour, part in result.by_behaviour.items():
        emit({"scope": "behaviour", "behaviour": behaviour, **part.as_dict(), "confusion": part.matrix()})


@commuters.command("add")
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
        entry = service.add_commuter(
            app_of(ctx),
            id_number,
            since=parse_date(since, "since"),
            source=Source(source),
            commuter_class=CommuterClass(commuter_class),
            home_county=home_county,
            reason=reason,
        )
    except InputError as exc:
        fail(exc)
    emit(entry)


@commuters.command("list")
def commuters_list(
    ctx: typer.Context,
    as_of: Annotated[str, typer.Option("--as-of", help="Date or time (ISO 8601); a date means 00:00.")],
) -> None:
    """Everyone in the database at that time, one JSON line each."""
    try:
        at = parse_time(as_of, "as_of")
    except InputError as exc:
        fail(exc)
    for entry in service.list_commuters(app_of(ctx), at):
        emit(entry)
