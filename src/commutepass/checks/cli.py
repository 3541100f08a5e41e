"""``status`` and ``check`` at the command line, single or from a batch file; audited as the operator (``cli:<os user>``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from commutepass.checks import service as decide
from commutepass.domain.clock import parse_time
from commutepass.domain.errors import InputError
from commutepass.kit.cli import app_of, emit, fail

cli = typer.Typer()

KNOWN_AT_HELP = (
    "Answer with the facts recorded by this time (ISO 8601; no offset = Beijing time); "
    "default everything recorded so far."
)


def _batch_or_single(id_number: str | None, batch: Path | None) -> None:
    if (id_number is None) == (batch is None):
        fail(
            InputError(
                "id_number",
                "give either ID_NUMBER or --batch FILE",
                "请给出身份证号或 --batch 文件（二选一）",
            )
        )


@cli.command()
def status(
    ctx: typer.Context,
    id_number: Annotated[str | None, typer.Argument(help="Resident ID number")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Time (ISO 8601; no offset = Beijing time).")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="CSV with columns id_number,at")] = None,
    known_at: Annotated[str | None, typer.Option("--known-at", help=KNOWN_AT_HELP)] = None,
) -> None:
    """A person's health-code status: colour, pop-up, commuter badge, with reasons."""
    _batch_or_single(id_number, batch)
    application = app_of(ctx)
    try:
        if batch is not None:
            for line in decide.status_batch(application, batch):
                emit(line)
            return
        moment = parse_time(at, "at") if at else datetime.now().astimezone()
        known = parse_time(known_at, "known_at") if known_at else None
        emit(decide.status_of(application, id_number or "", moment, known))
    except InputError as exc:
        fail(exc)


@cli.command()
def check(
    ctx: typer.Context,
    id_number: Annotated[str | None, typer.Argument(help="Resident ID number")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Time (ISO 8601; no offset = Beijing time).")] = None,
    site: Annotated[str | None, typer.Option("--site", help="Checkpoint or station name.")] = None,
    mode: Annotated[str | None, typer.Option("--mode", help="road | rail | air")] = None,
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
    known_at: Annotated[str | None, typer.Option("--known-at", help=KNOWN_AT_HELP)] = None,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain/--codes-only",
            help="With --batch: each line with the texts (default), or only the decision and the reason codes.",
        ),
    ] = True,
) -> None:
    """The checkpoint decision (recorded as a swipe), with reasons and what to check by hand."""
    _batch_or_single(id_number, batch)
    application = app_of(ctx)
    try:
        if batch is not None:
            for line in decide.check_batch(application, batch, explain=explain):
                emit(line)
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
            known_at=parse_time(known_at, "known_at") if known_at else None,
        )
        emit(decide.check(application, request))
    except InputError as exc:
        fail(exc)
