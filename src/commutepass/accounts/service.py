"""Users, roles and sign-in: argon2 password hashes (pwdlib), signed tokens (PyJWT) with a
server-side session row per token, so signing out or disabling a user revokes at once.

The same token works as ``Authorization: Bearer`` and in the HttpOnly cookie
``commutepass_session`` (the web pages sign in through ``sign_in`` and set the cookie).
"""

from __future__ import annotations

import functools
import re
import secrets
from datetime import UTC, datetime
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Connection

from commutepass.accounts import repository
from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import AuthError, InputError
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.roles import MAX_FAMILY, Role
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.sessions import (
    TOKEN_ALGORITHM,
    TOKEN_LIFETIME,
    SignedIn,
    User,
    token_key,
)
from commutepass.store import repositories as repo

MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")


@functools.cache
def _hasher(memory_kib: int, rounds: int) -> tuple[PasswordHash, str]:
    """The Argon2id hasher for these costs, and a hash of a random password: verifying against
    it when the user does not exist keeps the answer time the same either way."""
    hasher = PasswordHash((Argon2Hasher(time_cost=rounds, memory_cost=memory_kib),))
    return hasher, hasher.hash(secrets.token_hex(16))


def _hashing(app: App) -> tuple[PasswordHash, str]:
    return _hasher(app.settings.password_hash_memory_kib, app.settings.password_hash_rounds)


def _check_username(username: str) -> str:
    if not _USERNAME.match(username):
        raise InputError(
            "username",
            "use 3-64 letters, digits, '.', '_' or '-'",
            "用户名须为 3–64 个字母、数字或 . _ -",
        )
    return username


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(
            "password", f"must have at least {MIN_PASSWORD} characters", f"密码至少 {MIN_PASSWORD} 个字符"
        )
    return password


def add_user(
    app: App,
    username: str,
    password: str,
    role: Role,
    *,
    id_number: str | None = None,
    by: audit.Actor | None = None,
) -> dict[str, Any]:
    """Create a user. A citizen is linked to their own person by ID number (required)."""
    _check_username(username)
    _check_password(password)
    if role is Role.CITIZEN and not id_number:
        raise InputError("id_number", "a citizen needs their ID number", "市民用户须提供本人身份证号")
    if role is not Role.CITIZEN and id_number:
        raise InputError("id_number", "only a citizen is linked to a person", "只有市民用户关联本人身份证号")
    with app.transaction() as conn:
        if repository.user_named(conn, username) is not None:
            raise InputError("username", f"'{username}' is taken", f"用户名“{username}”已被使用")
        person_id = app.ensure_person(conn, parse_resident_id(id_number)) if id_number else None
        user_id = repository.add_user(
            conn,
            username=username,
            password_hash=_hashing(app)[0].hash(password),
            role=role.value,
            disabled=False,
            person_id=person_id,
            created_at=datetime.now(UTC),
        )
        audit.record(
            conn, app, by or audit.cli_actor(), "user.add", person_id, f"role {role.value}", username=username
        )
    return {"id": user_id, "username": username, "role": role.value, "disabled": False}


def list_users(app: App) -> list[dict[str, Any]]:
    with app.engine.connect() as conn:
        rows = repository.all_users(conn)
    return [
        {
            "id": r.id,
            "username": r.username,
            "role": r.role,
            "disabled": r.disabled,
            "linked_person": r.person_id is not None,
            "created_at": r.created_at.astimezone(BEIJING).isoformat(),
        }
        for r in rows
    ]


def set_disabled(
    app: App, username: str, disabled: bool = True, *, by: audit.Actor | None = None
) -> dict[str, Any]:
    """Disable (or enable) a user; disabling revokes every session at once."""
    now = datetime.now(UTC)
    with app.transaction() as conn:
        row = repository.user_named(conn, username)
        if row is None:
            raise InputError("username", f"no user '{username}'", f"没有用户“{username}”")
        repository.set_user(conn, row.id, disabled=disabled)
        if disabled:
            repository.end_sessions(conn, row.id, now)
        audit.record(
            conn,
            app,
            by or audit.cli_actor(),
            "user.disable" if disabled else "user.enable",
            None,
            "",
            username=username,
        )
    return {"username": username, "role": row.role, "disabled": disabled}


def set_password(app: App, username: str, password: str, *, by: audit.Actor | None = None) -> None:
    """A new password (the demo sets one on every run); every open session of the user ends."""
    _check_password(password)
    now = datetime.now(UTC)
    with app.transaction() as conn:
        row = repository.user_named(conn, username)
        if row is None:
            raise InputError("username", f"no user '{username}'", f"没有用户“{username}”")
        repository.set_user(conn, row.id, password_hash=_hashing(app)[0].hash(password))
        repository.end_sessions(conn, row.id, now)
        audit.record(conn, app, by or audit.cli_actor(), "user.password", None, "", username=username)


def sign_in(app: App, username: str, password: str, *, now: datetime | None = None) -> SignedIn:
    """Check the password and open a session: the token to send as Bearer or in the cookie."""
    now = now or datetime.now(UTC)
    with app.transaction() as conn:
        row = repository.user_named(conn, username)
        hasher, dummy = _hashing(app)
        valid = hasher.verify(password, row.password_hash if row is not None else dummy)
        if row is None or not valid or row.disabled:
            raise AuthError(
                "wrong username or password, or the user is disabled", "用户名或密码错误，或用户已停用"
            )
        jti = secrets.token_hex(16)
        expires = now + TOKEN_LIFETIME
        repository.open_session(conn, jti, row.id, now, expires)
    user = User(row.id, row.username, Role(row.role), row.person_id)
    claims = {"sub": row.username, "uid": row.id, "role": row.role, "jti": jti, "iat": now, "exp": expires}
    return SignedIn(jwt.encode(claims, token_key(app), algorithm=TOKEN_ALGORITHM), expires, user)


# --- a citizen's family (为他人查询) --------------------------------------------------------------


def family_of(conn: Connection, user: User) -> list[int]:
    return repository.family_of(conn, user.id)


def household_of(conn: Connection, user: User) -> list[int]:
    """A citizen's own person first, then the family members they added, in order."""
    own = [user.person_id] if user.person_id is not None else []
    return own + family_of(conn, user)


def people_of(conn: Connection, user: User) -> set[int]:
    """The people a citizen may see: themself and the family members they added."""
    return set(household_of(conn, user))


def add_family(app: App, user: User, id_number: str) -> dict[str, Any]:
    resident = parse_resident_id(id_number)
    with app.transaction() as conn:
        person_id = app.ensure_person(conn, resident)
        current = family_of(conn, user)
        if person_id == user.person_id or person_id in current:
            raise InputError("id_number", "this person is already on your list", "此人已在您的列表中")
        if len(current) >= MAX_FAMILY:
            raise InputError(
                "id_number",
                f"a citizen may add at most {MAX_FAMILY} family members",
                f"最多可添加 {MAX_FAMILY} 名家人",
            )
        repository.add_family_member(conn, user.id, person_id, datetime.now(UTC))
        audit.record(conn, app, user.actor, "family.add", person_id, "added as family member")
    return {"id": resident.masked, "family_members": len(current) + 1}


def profile(app: App, user: User) -> dict[str, Any]:
    with app.engine.connect() as conn:
        ids = household_of(conn, user)
        masked = repo.masked_ids(conn, ids)
        sessions = repository.open_sessions(conn, user.id)
    return {
        "username": user.username,
        "role": user.role.value,
        "id": masked.get(user.person_id) if user.person_id is not None else None,
        "family": [masked[i] for i in ids[1 if user.person_id is not None else 0 :] if i in masked],
        "open_sessions": sessions,
    }
