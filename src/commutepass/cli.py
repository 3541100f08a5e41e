"""The command line: a contract other tools depend on. Thin: every command calls a service.

Output is one JSON object per line. A row that cannot be processed gives a line with an
``error`` field and the batch goes on.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from commutepass.accounts.cli import cli as accounts_cli
from commutepass.checkpoints.cli import cli as checkpoints_cli
from commutepass.checks.cli import cli as checks_cli
from commutepass.commuters.cli import cli as commuters_cli
from commutepass.credentials.cli import cli as credentials_cli
from commutepass.domain.clock import parse_date
from commutepass.domain.errors import InputError
from commutepass.kit.cli import app_of, emit, fail
from commutepass.kit.settings import Settings
from commutepass.loads.cli import cli as loads_cli
from commutepass.notifications.cli import cli as notifications_cli
from commutepass.oversight.cli import cli as oversight_cli
from commutepass.whatif.cli import cli as whatif_cli

app = typer.Typer(
    help="commutepass: commuter database, health-code status and checkpoint decisions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# each business area brings its own commands (top-level ones and groups)
for area in (
    loads_cli,
    commuters_cli,
    checks_cli,
    credentials_cli,
    checkpoints_cli,
    accounts_cli,
    oversight_cli,
    notifications_cli,
    whatif_cli,
):
    app.add_typer(area)


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
def synth(
    people: Annotated[int, typer.Option("--people", help="People in the region (up to 1,800,000).")],
    days: Annotated[int, typer.Option("--days", help="Days of records.")],
    start: Annotated[str, typer.Option("--start", help="First day (YYYY-MM-DD).")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the files into.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")] = 7,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
) -> None:
    """Write a synthetic ring-Beijing region in the load formats, with its truth file."""
    from commutepass.synth import write_region

    try:
        first = parse_date(start, "start")
        result = write_region(out, people=people, days=days, start=first, seed=seed, fmt=fmt, progress=True)
    except InputError as exc:
        fail(exc)
    emit(
        {
            "people": result.people,
            "travel_rows": result.travel_rows,
            "files": {kind: str(path) for kind, path in result.files.items()},
        }
    )


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    scheduler: Annotated[
        bool | None,
        typer.Option(
            "--scheduler/--no-scheduler",
            help="Also run the scheduled jobs (default on; env COMMUTEPASS_SCHEDULER=0 turns it off).",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) and, unless --no-scheduler, the scheduled jobs."""
    from commutepass.app import run

    run(ctx.obj, host=host, port=port, workers=workers, scheduler=scheduler)


@app.command()
def worker(ctx: typer.Context) -> None:
    """Run only the scheduled jobs (identification, retention, snapshot, trust lists, alerts);
    for larger deployments next to servers started with --no-scheduler. Several may run: each
    job's slot runs once (claimed in the store)."""
    from commutepass.app import work

    work(ctx.obj)


@app.command()
def demo(
    ctx: typer.Context,
    people: Annotated[int, typer.Option(help="People in the synthetic region.")] = 3000,
    days: Annotated[int, typer.Option(help="Days of travel records.")] = 28,
    port: Annotated[int, typer.Option(help="Port for the API.")] = 8000,
    serve_api: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards.")] = True,
) -> None:
    """Build a small synthetic region, identify commuters, show sample people, serve the API."""
    from commutepass.demo import run_demo

    run_demo(ctx.obj, people=people, days=days, port=port, serve=serve_api)


@app.command()
def reasons(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/reasons.md.")] = False,
) -> None:
    """Every reason code with its texts in Chinese and English."""
    from commutepass.domain.reasons import CATALOG, catalog_markdown

    if markdown:
        from commutepass.policies import builtin_policies

        sys.stdout.write(catalog_markdown(builtin_policies().policies))
        return
    for code, text in CATALOG.items():
        emit(
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
    application = app_of(ctx)
    for policy in application.policies.policies:
        end = application.policies.effective_to(policy)
        emit(
            {
                "version": policy.version,
                "effective_from": policy.effective_from.isoformat(),
                "effective_to": end.isoformat() if end else None,
                "title_zh": policy.title_zh,
                "title_en": policy.title_en,
            }
        )


def main() -> None:
    app()
