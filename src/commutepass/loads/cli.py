"""The ``load`` command: travel, NAT, itinerary and risk files into the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from commutepass.domain.errors import InputError, LoadError
from commutepass.kit.cli import app_of, emit, fail
from commutepass.loads.service import COLUMNS, load_file

cli = typer.Typer()


@cli.command()
def load(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="travel | nat | itinerary | risk")],
    files: Annotated[list[Path], typer.Argument(help="CSV or Parquet files with a header row")],
) -> None:
    """Load files; bad rows go to FILE.rejects.csv beside each input; one transaction per file."""
    if kind not in COLUMNS:
        fail(
            InputError(
                "kind",
                f"'{kind}' is not one of {', '.join(COLUMNS)}",
                f"“{kind}”不是 {'、'.join(COLUMNS)} 之一",
            )
        )
    application = app_of(ctx)
    failed = False
    for path in files:
        try:
            summary = load_file(application, kind, path, progress=True)
        except LoadError as exc:
            emit({"file": str(path), "error": {"en": exc.en, "zh": exc.zh}})
            failed = True
            continue
        emit(summary.as_dict())
        sys.stderr.write(
            f"{path}: {summary.rows} rows, {summary.added} added, {summary.duplicate} already present, "
            f"{summary.rejected} rejected"
            + (f" (see {summary.rejects_file})" if summary.rejects_file else "")
            + "\n"
        )
    if failed:
        raise typer.Exit(1)
