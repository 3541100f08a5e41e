"""``users add|list|disable``: user accounts and roles."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from commutepass.domain.errors import InputError
from commutepass.kit.cli import app_of, emit, fail

cli = typer.Typer()
users = typer.Typer(
    help="Users and roles (citizen, officer, hotline, reviewer, admin, analyst).", no_args_is_help=True
)
cli.add_typer(users, name="users")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password / 密码", hide_input=True, confirmation_prompt=True)
    return password


@users.command("add")
def users_add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="3-64 letters, digits, . _ -")],
    role: Annotated[
        str, typer.Option("--role", help="citizen | officer | hotline | reviewer | admin | analyst")
    ],
    id_number: Annotated[
        str | None, typer.Option("--id-number", help="A citizen's own ID number (required for citizens).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
    ] = False,
) -> None:
    """Create a user (the password is asked for, or read with --password-stdin)."""
    from commutepass.accounts import service as auth
    from commutepass.domain.roles import parse_role

    try:
        parsed = parse_role(role)
        password = _read_password(password_stdin)
        emit(auth.add_user(app_of(ctx), username, password, parsed, id_number=id_number))
    except InputError as exc:
        fail(exc)


@users.command("list")
def users_list(ctx: typer.Context) -> None:
    """Every user, one JSON line each."""
    from commutepass.accounts import service as auth

    for user in auth.list_users(app_of(ctx)):
        emit(user)


@users.command("disable")
def users_disable(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """Disable a user; their open sessions end at once."""
    from commutepass.accounts import service as auth

    try:
        emit(auth.set_disabled(app_of(ctx), username, True))
    except InputError as exc:
        fail(exc)
