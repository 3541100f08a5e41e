"""``commutepass whatif``: replay a candidate policy file on a window of the recorded past."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated

import typer

from commutepass.domain.clock import parse_date
from commutepass.domain.errors import InputError
from commutepass.kit.cli import app_of, emit, fail
from commutepass.whatif import service

cli = typer.Typer()


def _reference(text: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            "status_time", f"'{text}' is not a time of day (HH:MM)", f"“{text}”不是时刻（时:分）"
        ) from None


@cli.command()
def whatif(
    ctx: typer.Context,
    policy: Annotated[Path, typer.Option("--policy", help="The candidate version (a policy TOML file).")],
    first: Annotated[str, typer.Option("--from", help="First day of the window (YYYY-MM-DD, Beijing).")],
    last: Annotated[str, typer.Option("--to", help="Last day of the window (YYYY-MM-DD, inclusive).")],
    against: Annotated[
        str | None,
        typer.Option("--against", help="Baseline version (default: the version each check used)."),
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="local (process pool) or spark.")] = "local",
    out: Annotated[
        Path, typer.Option("--out", help="Folder for report.json, diff.parquet, diff.csv.")
    ] = Path("whatif-report"),
    status_time: Annotated[
        str, typer.Option("--status-time", help="Daily reference time of the status replay (Beijing).")
    ] = "07:30",
    workers: Annotated[int, typer.Option("--workers", help="Processes (local) or Spark cores.")] = 2,
    partition: Annotated[int, typer.Option("--partition", help="Items per partition.")] = 5000,
) -> None:
    """What would have changed, for whom and why, had CANDIDATE applied in the window."""
    try:
        request = service.WhatIf(
            candidate=service.candidate_from_file(policy),
            source=str(policy),
            first=parse_date(first, "from"),
            last=parse_date(last, "to"),
            against=against,
            engine=engine,
            reference=_reference(status_time),
            workers=workers,
            partition_size=partition,
        )
        result = service.run(app_of(ctx), request, out)
    except InputError as exc:
        fail(exc)
    emit(
        {
            "out": str(out),
            **result["summary"],
            "transitions": {k: v for k, v in result["transitions"].items()},
            "timing": result["timing"],
        }
    )
