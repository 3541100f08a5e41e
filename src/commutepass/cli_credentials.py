"""Command groups of signed codes (``codes``), the trust list (``trust``) and offline checkpoints
(``checkpoint``). Thin: every command calls a service. Output: one JSON object per line.

The credential libraries (COSE, CBOR, QR) are imported inside the commands, so that every other
command of the CLI starts as fast as before."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from commutepass.domain.clock import parse_time
from commutepass.domain.errors import InputError
from commutepass.services.context import App
from commutepass.services.decide import parse_mode
from commutepass.settings import Settings

codes_app = typer.Typer(help="Signed health-code QR credentials (二维码).", no_args_is_help=True)
trust_app = typer.Typer(help="The trust list of issuer keys, rotation and revocation.", no_args_is_help=True)
checkpoint_app = typer.Typer(help="A checkpoint that keeps working offline.", no_args_is_help=True)


def _emit(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))
    sys.stdout.buffer.flush()


def _fail(exc: InputError) -> None:
    _emit({"error": exc.as_dict()})
    raise typer.Exit(2)


def _app(ctx: typer.Context) -> App:
    settings: Settings = ctx.obj
    return App.open(settings)


def _at(value: str | None) -> datetime:
    return parse_time(value, "at") if value else datetime.now().astimezone()


def _read_anchor(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise InputError(
            "anchor", f"{path}: cannot read the PEM file", f"{path}：无法读取 PEM 文件"
        ) from None


@codes_app.command("issue")
def codes_issue(
    ctx: typer.Context,
    id_number: Annotated[str, typer.Argument(help="Resident ID number")],
    at: Annotated[str | None, typer.Option("--at", help="Issue time (ISO 8601); default now.")] = None,
    region: Annotated[str, typer.Option("--region", help="Issuing region: BJ | TJ | HE")] = "BJ",
    hours: Annotated[float, typer.Option("--hours", help="Lifetime of the code in hours.")] = 6.0,
    name: Annotated[str | None, typer.Option("--name", help="Holder's name, carried masked (张*).")] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Write the QR image as PNG here.")] = None,
    svg: Annotated[Path | None, typer.Option("--svg", help="Write the QR image as SVG here.")] = None,
) -> None:
    """Issue a signed code for the person's status; the code string is the last line printed."""
    from commutepass.credentials.qr import write_qr
    from commutepass.services import credentials as service

    try:
        issued = service.issue(
            _app(ctx), id_number, _at(at), region, lifetime=timedelta(hours=hours), name=name
        )
        if png is not None:
            write_qr(issued["code"], png, "png")
        if svg is not None:
            write_qr(issued["code"], svg, "svg")
    except InputError as exc:
        _fail(exc)
    _emit({k: v for k, v in issued.items() if k != "code"})
    sys.stdout.write(issued["code"] + "\n")


@codes_app.command("verify")
def codes_verify(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The code string (JJJ1:...)")],
    at: Annotated[str | None, typer.Option("--at", help="Time of the check (ISO 8601); default now.")] = None,
    site: Annotated[str, typer.Option("--site", help="Checkpoint or station name.")] = "二维码核验",
    mode: Annotated[str, typer.Option("--mode", help="road | rail")] = "road",
    trust: Annotated[
        Path | None, typer.Option("--trust", help="Trust list JSON (default: this installation's).")
    ] = None,
    revocations: Annotated[Path | None, typer.Option("--revocations", help="Revocation list JSON.")] = None,
    anchor: Annotated[Path | None, typer.Option("--anchor", help="Pinned trust-list key (PEM).")] = None,
) -> None:
    """Verify a code against the trust list and apply the policy to the status it carries.
    Exit status 0 when valid, 1 when refused, 2 for bad input."""
    from commutepass.services import credentials as service

    try:
        moment = _at(at)
        travel = parse_mode(mode)
        if trust is None:
            application = _app(ctx)
            checker = service.local_verifier(application)
            policies = application.policies
        else:
            from commutepass.policies import builtin_policies

            if anchor is None or revocations is None:
                raise InputError(
                    "anchor",
                    "--trust needs --anchor (the pinned trust-list key) and --revocations",
                    "使用 --trust 时须同时给出 --anchor（信任列表公钥）和 --revocations",
                )
            checker = service.verifier(
                service.read_json_file(trust, "trust"),
                service.read_json_file(revocations, "revocations"),
                _read_anchor(anchor),
            )
            policies = builtin_policies()
        answer = service.verify(checker, policies, code, moment, site=site, mode=travel)
    except InputError as exc:
        _fail(exc)
    _emit(answer)
    if not answer["valid"]:
        raise typer.Exit(1)


@codes_app.command("revoke")
def codes_revoke(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The code string, or its hash (64 hex)")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept).")] = "",
) -> None:
    """Put a code on the revocation list (audited)."""
    from commutepass.services import audit
    from commutepass.services import credentials as service

    try:
        _emit(service.revoke(_app(ctx), code, reason, actor=audit.CLI))
    except InputError as exc:
        _fail(exc)


@trust_app.command("export")
def trust_export(ctx: typer.Context) -> None:
    """The signed trust list: every issuer key with its validity period."""
    from commutepass.services import credentials as service

    _emit(service.trust_document(_app(ctx)))


@trust_app.command("revocations")
def trust_revocations(ctx: typer.Context) -> None:
    """The signed revocation list (hashes of revoked codes)."""
    from commutepass.services import credentials as service

    _emit(service.revocation_document(_app(ctx)))


@trust_app.command("anchor")
def trust_anchor(ctx: typer.Context) -> None:
    """The trust-list key's public half (PEM), for verifiers to pin."""
    from commutepass.services import credentials as service

    sys.stdout.write(service.anchor_pem(_app(ctx)))


@trust_app.command("rotate")
def trust_rotate(
    ctx: typer.Context,
    region: Annotated[str, typer.Argument(help="BJ | TJ | HE")],
    at: Annotated[str | None, typer.Option("--at", help="When the new key starts signing.")] = None,
    old_valid_hours: Annotated[
        float, typer.Option("--old-valid-hours", help="How long codes signed by the old key still verify.")
    ] = 24.0,
) -> None:
    """A new signing key for the region; the old one stops signing and stays valid a while."""
    from commutepass.services import credentials as service

    try:
        _emit(service.rotate(_app(ctx), region, _at(at), timedelta(hours=old_valid_hours)))
    except InputError as exc:
        _fail(exc)


@checkpoint_app.command("snapshot")
def checkpoint_snapshot(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option("--at", help="As-of time (ISO 8601); default now.")] = None,
) -> None:
    """The signed snapshot and its key, as a checkpoint downloads them (JSON; audited)."""
    from commutepass.services import audit
    from commutepass.services import credentials as service

    try:
        _emit(service.hand_out_snapshot(_app(ctx), audit.CLI, _at(at)))
    except InputError as exc:
        _fail(exc)


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
    from commutepass.credentials.checkpoint import Checkpoint
    from commutepass.domain.regions import region_catalog
    from commutepass.policies import builtin_policies

    if token and username:
        _fail(
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
    from commutepass.credentials.checkpoint import ServiceUnavailable

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
        _emit({**client.sync(parse_time(at, "at") if at else None), "pending": client.pending()})
    except InputError as exc:
        _fail(exc)
    except ServiceUnavailable as exc:
        _emit(
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
    mode: Annotated[str, typer.Option("--mode", help="road | rail")] = "road",
    name: Annotated[str, _NAME] = "checkpoint",
    store: Annotated[Path | None, _STORE] = None,
    token: Annotated[str | None, _TOKEN] = None,
    username: Annotated[str | None, _USERNAME] = None,
) -> None:
    """A swipe: decided by the service (signed in as an officer), or from the snapshot when the
    service is unreachable. A refused sign-in is an error, not a reason to decide offline."""
    client = _checkpoint(ctx, server, name, store, token, username)
    try:
        _emit(client.swipe(id_number, _at(at), site, parse_mode(mode)))
    except InputError as exc:
        _fail(exc)
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
        _emit(client.status())
    except InputError as exc:
        _fail(exc)
    finally:
        client.close()
