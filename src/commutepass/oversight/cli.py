"""``audit verify`` and ``retention run``."""

from __future__ import annotations

from typing import Annotated

import typer

from commutepass.domain.clock import parse_time
from commutepass.domain.errors import InputError
from commutepass.kit.cli import app_of, emit, fail

cli = typer.Typer()
audit_group = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
cli.add_typer(audit_group, name="audit")
retention_group = typer.Typer(help="Deleting rows past the policy's retention period.", no_args_is_help=True)
cli.add_typer(retention_group, name="retention")


@audit_group.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Walk the chain; exit 1 and list each edited, inserted or deleted entry if any."""
    from commutepass.kit import audit

    result = audit.verify(app_of(ctx))
    emit(result.as_dict())
    if not result.ok:
        raise typer.Exit(1)


@retention_group.command("run")
def retention_run(
    ctx: typer.Context,
    now: Annotated[
        str | None, typer.Option("--now", help="Run as of this time (ISO 8601; default now).")
    ] = None,
) -> None:
    """Delete travel, itinerary and swipe rows older than the policy's retention period; daily
    counts are kept."""
    from commutepass.oversight import retention

    try:
        moment = parse_time(now, "now") if now else None
    except InputError as exc:
        fail(exc)
    emit(retention.run(app_of(ctx), now=moment))
