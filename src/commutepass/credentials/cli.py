"""Command groups of signed codes (``codes``) and the trust list (``trust``). Thin: every command calls a service. Output: one JSON object per line.

The credential libraries (COSE, CBOR, QR) are imported inside the commands, so that every other
command of the CLI starts as fast as before."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from commutepass.checks.service import parse_mode
from commutepass.domain.errors import InputError
from commutepass.kit.cli import app_of, at_or_now, emit, fail
from commutepass.kit.sessions import cli_user

cli = typer.Typer()
codes_app = typer.Typer(help="Signed health-code QR credentials (二维码).", no_args_is_help=True)
trust_app = typer.Typer(help="The trust list of issuer keys, rotation and revocation.", no_args_is_help=True)
cli.add_typer(codes_app, name="codes")
cli.add_typer(trust_app, name="trust")


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
    from commutepass.credentials import service
    from commutepass.credentials.qr import write_qr

    try:
        issued = service.issue(
            app_of(ctx),
            cli_user(),
            id_number,
            at_or_now(at),
            region,
            lifetime=timedelta(hours=hours),
            name=name,
        )
        if png is not None:
            write_qr(issued["code"], png, "png")
        if svg is not None:
            write_qr(issued["code"], svg, "svg")
    except InputError as exc:
        fail(exc)
    emit({k: v for k, v in issued.items() if k != "code"})
    sys.stdout.write(issued["code"] + "\n")


@codes_app.command("verify")
def codes_verify(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The code string (JJJ1:...)")],
    at: Annotated[str | None, typer.Option("--at", help="Time of the check (ISO 8601); default now.")] = None,
    site: Annotated[str, typer.Option("--site", help="Checkpoint or station name.")] = "二维码核验",
    mode: Annotated[str, typer.Option("--mode", help="road | rail | air")] = "road",
    trust: Annotated[
        Path | None, typer.Option("--trust", help="Trust list JSON (default: this installation's).")
    ] = None,
    revocations: Annotated[Path | None, typer.Option("--revocations", help="Revocation list JSON.")] = None,
    anchor: Annotated[Path | None, typer.Option("--anchor", help="Pinned trust-list key (PEM).")] = None,
) -> None:
    """Verify a code against the trust list and apply the policy to the status it carries.
    Exit status 0 when valid, 1 when refused, 2 for bad input."""
    from commutepass.credentials import service

    try:
        moment = at_or_now(at)
        travel = parse_mode(mode)
        if trust is None:
            # this installation's own verifier: the code is a check here, recorded and audited
            answer = service.check_code(app_of(ctx), cli_user(), code, moment, site=site, mode=travel)
        else:
            # another region's published lists: a verification only, nothing of this store read
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
            answer, _swipe = service.verify(
                checker, builtin_policies(), code, moment, site=site, mode=travel, role=None
            )
    except InputError as exc:
        fail(exc)
    emit(answer)
    if not answer["valid"]:
        raise typer.Exit(1)


@codes_app.command("conformance")
def codes_conformance(
    directory: Annotated[Path, typer.Argument(help="Folder of HCERT test vectors (*.json, searched below)")],
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="The family's prefix (default HC1:, the EU's).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Print only the vectors that disagree and the summary.")
    ] = False,
) -> None:
    """Feed every EU HCERT conformance vector to our decoder and verifier and compare each step
    with its expectation: one line per vector, then a summary line. Exit status 0 when every
    applicable vector agrees, 1 when one does not, 2 for bad input."""
    from commutepass.credentials import conformance

    try:
        profile = conformance.profile_with(prefix)
        report = conformance.run(directory, profile)
    except InputError as exc:
        fail(exc)
    for outcome in report.outcomes:
        if not quiet or (outcome.not_applicable is None and not outcome.agrees):
            emit(outcome.as_json())
    emit(report.summary(directory, profile))
    if report.disagreeing:
        raise typer.Exit(1)


@codes_app.command("revoke")
def codes_revoke(
    ctx: typer.Context,
    code: Annotated[str, typer.Argument(help="The code string, or its hash (64 hex)")],
    reason: Annotated[str, typer.Option("--reason", help="Why (kept).")] = "",
) -> None:
    """Put a code on the revocation list (audited)."""
    from commutepass.credentials import service

    try:
        emit(service.revoke(app_of(ctx), code, reason, actor=cli_user().actor))
    except InputError as exc:
        fail(exc)


@trust_app.command("export")
def trust_export(ctx: typer.Context) -> None:
    """The signed trust list: every issuer key with its validity period."""
    from commutepass.credentials import service

    emit(service.trust_document(app_of(ctx)))


@trust_app.command("revocations")
def trust_revocations(ctx: typer.Context) -> None:
    """The signed revocation list (hashes of revoked codes)."""
    from commutepass.credentials import service

    emit(service.revocation_document(app_of(ctx)))


@trust_app.command("revocation-filter")
def trust_revocation_filter(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Write the signed filter (binary) here.")],
    since: Annotated[int, typer.Option("--since", help="Only what was revoked after this version.")] = 0,
) -> None:
    """The signed revocation filter (64-bit hash prefixes), whole or since a version."""
    from commutepass.credentials import service

    try:
        signed, described = service.revocation_filter(app_of(ctx), since)
        out.write_bytes(signed)
    except OSError as exc:
        fail(InputError("out", f"{out}: cannot write ({exc.strerror})", f"{out}：无法写入"))
    except InputError as exc:
        fail(exc)
    emit({**described, "bytes": len(signed), "file": str(out)})


@trust_app.command("rotate-anchor")
def trust_rotate_anchor(
    ctx: typer.Context,
    at: Annotated[str | None, typer.Option("--at", help="When the overlap starts (default now).")] = None,
    overlap_hours: Annotated[
        float, typer.Option("--overlap-hours", help="How long the old key signs and introduces the new one.")
    ] = 72.0,
) -> None:
    """Rotate the trust-list key: the old one signs for the overlap and introduces the new one."""
    from commutepass.credentials import service

    try:
        emit(service.rotate_anchor(app_of(ctx), at_or_now(at), timedelta(hours=overlap_hours)))
    except InputError as exc:
        fail(exc)


@trust_app.command("hcert-add")
def trust_hcert_add(
    ctx: typer.Context,
    certificate: Annotated[Path, typer.Argument(help="An EU DCC signing certificate (PEM or DER)")],
) -> None:
    """Put an EU Digital COVID Certificate signer on the trust list (HC1: codes)."""
    from commutepass.credentials import service

    try:
        emit(service.add_hcert_certificate(app_of(ctx), certificate))
    except InputError as exc:
        fail(exc)


@trust_app.command("anchor")
def trust_anchor(ctx: typer.Context) -> None:
    """The trust-list key's public half (PEM), for verifiers to pin."""
    from commutepass.credentials import service

    sys.stdout.write(service.anchor_pem(app_of(ctx)))


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
    from commutepass.credentials import service

    try:
        emit(service.rotate(app_of(ctx), region, at_or_now(at), timedelta(hours=old_valid_hours)))
    except InputError as exc:
        fail(exc)
