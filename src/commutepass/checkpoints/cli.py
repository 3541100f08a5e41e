"""``checkpoint sync|swipe|status``: a checkpoint that keeps working offline (``checkpoints.client``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from commutepass.checks.service import parse_mode
from commutepass.domain.clock import parse_time
from commutepass.domain.errors import InputError
from commutepass.kit.cli import app_of, at_or_now, emit, fail
from commutepass.kit.sessions import cli_user
from commutepass.kit.settings import Settings

cli = typer.Typer()
checkpoint_app = typer.Typer(help="A checkpoint that keeps working offline.", no_args_is_help=True)
cli.add_typer(checkpoint_app, name="checkpoint")


def _password() -> str:
    if sys.stdin.isatty():
        password: str = typer.prompt("Password / 密码", hide_input=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


def _checkpoint(
    ctx: typer.Context,
    server: str,
    name: str,
    store: Path | None,
    token: str | None = None,
    username: str | None = None,
) -> Any:
    from commutepass.checkpoints.client import Checkpoint
    from commutepass.domain.regions import region_catalog
    from commutepass.policies import builtin_policies

    if token and username:
        fail(
            InputError(
                "username",
                "give --token or --username, not both",
                "--token 与 --username 只能给出其一",
            )
        )
    password = _password() if username and not token else None
    settings: Settings = ctx.obj
    path = store or settings.data_dir / "checkpoint.db"
    return Checkpoint(
        path,
        server,
        name,
        builtin_policies(),
        region_catalog(),
        token=token,
        username=username,
        password=password,
    )


_SERVER = typer.Option("--server", help="Base URL of the central service.")
_NAME = typer.Option("--name", help="This checkpoint's name.")
_STORE = typer.Option("--store", help="Local store (default DATA_DIR/checkpoint.db).")
_TOKEN = typer.Option(
    "--token",
    envvar="COMMUTEPASS_CHECKPOINT_TOKEN",
    show_envvar=True,
    help="An officer's access token (POST /v1/auth/token).",
)
_USERNAME = typer.Option(
    "--username",
    help="Sign in as this officer instead; the password is read from the first line of stdin (asked if a terminal).",
)


@checkpoint_app.command("sync")
def checkpoint_sync(
    ctx: typer.Context,
    server: Annotated[str, _SERVER],
    name: Annotated[str, _NAME] = "checkpoint",
    store: Annotated[Path | None, _STORE] = None,
    at: Annotated[str | None, typer.Option("--at", help="Snapshot as-of time; default now.")] = None,
    anchor: Annotated[Path | None, typer.Option("--anchor", help="Pin this trust-list key (PEM).")] = None,
    token: Annotated[str | None, _TOKEN] = None,
    username: Annotated[str | None, _USERNAME] = None,
) -> None:
    """Send waiting swipes and download a fresh signed snapshot (signed in as an officer)."""
    from commutepass.checkpoints.client import ServiceUnavailable

    client = _checkpoint(ctx, server, name, store, token, username)
    try:
        if anchor is not None:
            try:
                pem = anchor.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                raise InputError(
                    "anchor", f"{anchor}: cannot read the PEM file", f"{anchor}：无法读取 PEM 文件"
                ) from None
            client.pin_anchor(pem)
        client.send()
        emit({**client.sync(parse_time(at, "at") if at else None), "pending": client.pending()})
    except InputError as exc:
        fail(exc)
    except ServiceUnavailable as exc:
        emit(
            {
                "error": {
                    "field": "server",
                    "en": f"the service cannot be reached ({exc})",
                    "zh": "无法连接中心服务",
                }
            }
        )
        raise typer.Exit(1) from None
    finally:
        client.close()


@checkpoint_app.command("swipe")
def checkpoint_swipe(
    ctx: typer.Context,
    id_number: Annotated[str, typer.Argument(help="Resident ID number (from the card)")],
    server: Annotated[str, _SERVER],
    site: Annotated[str, typer.Option("--site", help="Checkpoint or station name.")],
    at: Annotated[str | None, typer.Option("--at", help="Time of the swipe; default now.")] = None,
    mode: Annotated[str, typer.Option("--mode", help="road | rail | air")] = "road",
    name: Annotated[str, _NAME] = "checkpoint",
    store: Annotated[Path | None, _STORE] = None,
    token: Annotated[str | None, _TOKEN] = None,
    username: Annotated[str | None, _USERNAME] = None,
) -> None:
    """A swipe: decided by the service (signed in as an officer), or from the snapshot when the
    service is unreachable. A refused sign-in is an error, not a reason to decide offline."""
    client = _checkpoint(ctx, server, name, store, token, username)
    try:
        emit(client.swipe(id_number, at_or_now(at), site, parse_mode(mode)))
    except InputError as exc:
        fail(exc)
    finally:
        client.close()


@checkpoint_app.command("status")
def checkpoint_status(
    ctx: typer.Context,
    server: Annotated[str, _SERVER] = "http://127.0.0.1:8000",
    name: Annotated[str, _NAME] = "checkpoint",
    store: Annotated[Path | None, _STORE] = None,
) -> None:
    """The snapshot's age and how many swipes wait to be sent."""
    client = _checkpoint(ctx, server, name, store)
    try:
        emit(client.status())
    except InputError as exc:
        fail(exc)
    finally:
        client.close()


@checkpoint_app.command("snapshot")
def checkpoint_snapshot(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option("--at", help="As-of time (ISO 8601); default now.")] = None,
) -> None:
    """The signed snapshot and its key, as a checkpoint downloads them (JSON; audited)."""
    from commutepass.checkpoints import service

    try:
        emit(service.hand_out_snapshot(app_of(ctx), cli_user(), at_or_now(at)))
    except InputError as exc:
        fail(exc)
