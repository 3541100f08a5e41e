"""``audit verify`` and ``retention run``."""

from __future__ import annotations

from pathlib import Path
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


policy_group = typer.Typer(
    help="Policy versions: upload a draft, see its diff, schedule, withdraw or discard it.",
    no_args_is_help=True,
)
cli.add_typer(policy_group, name="policy")


@policy_group.command("list")
def policy_list(ctx: typer.Context) -> None:
    """Every version with its state (draft, scheduled, in force, superseded, withdrawn, discarded)."""
    from commutepass.oversight import policy_versions

    for line in policy_versions.versions(app_of(ctx)):
        emit(line)


@policy_group.command("upload")
def policy_upload(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help="The version's TOML file.")]
) -> None:
    """Store a version as a draft (every error with its line and field; nothing stored then),
    and print what it changes against the version in force."""
    from commutepass.kit import audit
    from commutepass.oversight import policy_versions

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(InputError("file", f"{file}: cannot read the file ({exc})", f"{file}：无法读取文件"))
    try:
        emit(policy_versions.upload(app_of(ctx), audit.cli_actor(), text))
    except InputError as exc:
        fail(exc)


@policy_group.command("diff")
def policy_diff(ctx: typer.Context, version: str) -> None:
    """What a version changes against the version in force (parameters and ring area)."""
    from commutepass.oversight import policy_versions

    try:
        emit(policy_versions.diff(app_of(ctx), version))
    except InputError as exc:
        fail(exc)


@policy_group.command("schedule")
def policy_schedule(
    ctx: typer.Context,
    version: str,
    effective_from: Annotated[
        str | None,
        typer.Option("--at", help="Effective time (ISO 8601; default: the file's effective_from)."),
    ] = None,
) -> None:
    """Schedule a draft to take effect."""
    from commutepass.kit import audit
    from commutepass.oversight import policy_versions

    try:
        at = parse_time(effective_from, "effective_from") if effective_from else None
        emit(policy_versions.schedule(app_of(ctx), audit.cli_actor(), version, at))
    except InputError as exc:
        fail(exc)


@policy_group.command("withdraw")
def policy_withdraw(
    ctx: typer.Context,
    version: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")] = "",
) -> None:
    """Withdraw a scheduled version before it takes effect."""
    from commutepass.kit import audit
    from commutepass.oversight import policy_versions

    try:
        emit(policy_versions.withdraw(app_of(ctx), audit.cli_actor(), version, reason))
    except InputError as exc:
        fail(exc)


@policy_group.command("discard")
def policy_discard(ctx: typer.Context, version: str) -> None:
    """Discard a draft."""
    from commutepass.kit import audit
    from commutepass.oversight import policy_versions

    try:
        emit(policy_versions.discard(app_of(ctx), audit.cli_actor(), version))
    except InputError as exc:
        fail(exc)
