"""Users, roles and sign-in: argon2 password hashes (pwdlib), signed tokens (PyJWT) with a
server-side session row per token, so signing out or disabling a user revokes at once.

The same token works as ``Authorization: Bearer`` and in the HttpOnly cookie
``commutepass_session`` (the web pages sign in through ``sign_in`` and set the cookie).
"""

from __future__ import annotations

import functools
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Connection

from commutepass.accounts import repository, throttle
from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import AuthError, InputError
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.roles import MAX_FAMILY, Role
from commutepass.domain.workflows import require_reason
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.sessions import (
    TOKEN_ALGORITHM,
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


COMMON_PASSWORDS = frozenset(
    {
        "password",
        "password1",
        "password123",
        "123456789012",
        "qwertyuiop",
        "1q2w3e4r5t6y",
        "administrator",
        "admin123456",
        "iloveyou1234",
        "000000000000",
        "111111111111",
        "abcdefghijkl",
        "commutepass",
        "welcome12345",
        "letmein12345",
        "passw0rd1234",
    }
)


def _check_password(password: str, role: Role | None = None, username: str = "", minimum: int = 12) -> str:
    """At least 8 characters; staff (every role but citizen) at least ``minimum`` (setting
    ``staff_min_password``), not the username, not one repeated character, not a common password."""
    if len(password) < MIN_PASSWORD:
        raise InputError(
            "password", f"must have at least {MIN_PASSWORD} characters", f"密码至少 {MIN_PASSWORD} 个字符"
        )
    if len(password) > 256:
        raise InputError("password", "must have at most 256 characters", "密码至多 256 个字符")
    if role is None or role is Role.CITIZEN:
        return password
    lowered = password.lower()
    if len(password) < minimum:
        raise InputError(
            "password",
            f"a staff password must have at least {minimum} characters: use a passphrase",
            f"工作人员密码至少 {minimum} 个字符：建议使用短语",
        )
    if username and username.lower() in lowered:
        raise InputError("password", "must not contain the username", "密码不得包含用户名")
    if len(set(password)) < 4 or lowered in COMMON_PASSWORDS:
        raise InputError(
            "password", "is too easy to guess: choose another", "密码过于简单，容易被猜中：请另选"
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
        _check_password(password, role, username, app.settings.staff_min_password)
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
    """Disable (or enable) a user; disabling revokes every session at once. An admin cannot
    disable their own account (another admin, or the CLI, can)."""
    if disabled and by is not None and by.username == username:
        raise InputError(
            "username",
            "you cannot disable your own account: ask another admin, or use the command line",
            "不能停用自己的账户：请其他管理员或在命令行停用",
        )
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
    now = datetime.now(UTC)
    with app.transaction() as conn:
        row = repository.user_named(conn, username)
        if row is None:
            raise InputError("username", f"no user '{username}'", f"没有用户“{username}”")
        _check_password(password, Role(row.role), username, app.settings.staff_min_password)
        repository.set_user(conn, row.id, password_hash=_hashing(app)[0].hash(password))
        repository.end_sessions(conn, row.id, now)
        audit.record(conn, app, by or audit.cli_actor(), "user.password", None, "", username=username)


def sign_in(
    app: App, username: str, password: str, *, now: datetime | None = None, address: str | None = None
) -> SignedIn:
    """Check the password and open a session: the token to send as Bearer or in the cookie.

    A back-off or lockout running for the account or the address refuses first (429); a failure
    is counted and audited; the Argon2 hash is checked for unknown users too (the same time)."""
    now = now or datetime.now(UTC)
    throttle.check_allowed(app, username, address, now)
    with app.engine.connect() as conn:
        row = repository.user_named(conn, username)
    hasher, dummy = _hashing(app)
    valid = hasher.verify(password, row.password_hash if row is not None else dummy)
    if row is None or not valid or row.disabled:
        throttle.record_failure(app, username, address, now)
        raise AuthError(
            "wrong username or password, or the user is disabled", "用户名或密码错误，或用户已停用"
        )
    throttle.record_success(app, username)
    jti = secrets.token_hex(16)
    expires = now + timedelta(minutes=app.settings.session_lifetime_minutes)
    with app.transaction() as conn:
        repository.open_session(conn, jti, row.id, now, expires)
    user = User(row.id, row.username, Role(row.role), row.person_id)
    claims = {"sub": row.username, "uid": row.id, "role": row.role, "jti": jti, "iat": now, "exp": expires}
    return SignedIn(jwt.encode(claims, token_key(app), algorithm=TOKEN_ALGORITHM), expires, user)


def unlock(app: App, username: str, *, by: audit.Actor | None = None) -> dict[str, Any]:
    """Lift a sign-in lockout or back-off of an account (audited)."""
    lifted = throttle.unlock(app, username, by or audit.cli_actor())
    return {"username": username, "was_locked": lifted}


# --- a citizen's family (为他人查询), by consent -------------------------------------------------
#
# Adding a family member reveals nothing on its own: until the member confirms the link from their
# own account, or a reviewer or hotline operator verifies the relation with the documents (a child,
# an elder without a smartphone), the one who added them sees only the colour, the badge and the
# NAT deadline — never a place, a county or a trip date (``access.authorise_lookup``).


def family_of(conn: Connection, user: User) -> list[int]:
    """Every family member this citizen added, confirmed or not, in the order added."""
    return repository.family_of(conn, user.id)


def household_of(conn: Connection, user: User) -> list[int]:
    """A citizen's own person first, then the family members who confirmed the link, in order:
    whose data (travel, applications, appeals, accesses) the citizen may see in full."""
    own = [user.person_id] if user.person_id is not None else []
    return own + [p for p, confirmed in repository.links_of(conn, user.id) if confirmed]


def pending_family_of(conn: Connection, user: User) -> list[int]:
    """Family members this citizen added who have not confirmed (and no one verified) yet."""
    return [p for p, confirmed in repository.links_of(conn, user.id) if not confirmed]


def people_of(conn: Connection, user: User) -> set[int]:
    """The people a citizen may see in full: themself and the confirmed family members."""
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
    return {"id": resident.masked, "family_members": len(current) + 1, "confirmed": False}


def _no_link() -> InputError:
    return InputError(
        "link",
        "no such family link: it was removed, or it never named you",
        "没有此家人关联：已被解除，或与您无关",
    )


def family_requests(app: App, user: User) -> list[dict[str, Any]]:
    """The links that name this citizen as someone's family member, for them to confirm or remove."""
    if user.person_id is None:
        return []
    with app.engine.connect() as conn:
        rows = repository.links_to(conn, user.person_id)
    return [
        {
            "adder": r.user_id,
            "username": r.username,
            "added_at": r.added_at.astimezone(BEIJING).isoformat(),
            "confirmed": r.confirmed_at is not None,
            "confirmed_by": r.confirmed_by,
        }
        for r in rows
    ]


def confirm_family(app: App, user: User, adder: int) -> dict[str, Any]:
    """The member confirms, from their own account, that ``adder`` may see their data in full."""
    if user.person_id is None:
        raise _no_link()
    now = datetime.now(UTC)
    with app.transaction() as conn:
        row = repository.link(conn, adder, user.person_id)
        if row is None:
            raise _no_link()
        if row.confirmed_at is None:
            repository.confirm(conn, adder, user.person_id, now, "member")
            audit.record(
                conn,
                app,
                user.actor,
                "family.confirm",
                user.person_id,
                "confirmed by the member",
                adder=adder,
            )
    return {"adder": adder, "confirmed": True}


def withdraw_family(app: App, user: User, adder: int) -> dict[str, Any]:
    """The member removes a link (confirmed or not): ``adder`` sees nothing of them any more."""
    if user.person_id is None:
        raise _no_link()
    with app.transaction() as conn:
        if repository.link(conn, adder, user.person_id) is None:
            raise _no_link()
        repository.remove(conn, adder, user.person_id)
        audit.record(
            conn, app, user.actor, "family.withdraw", user.person_id, "removed by the member", adder=adder
        )
    return {"adder": adder, "removed": True}


def pending_links(app: App) -> list[dict[str, Any]]:
    """Links awaiting confirmation, for a reviewer or hotline operator (masked IDs only)."""
    with app.engine.connect() as conn:
        rows = repository.pending(conn)
    return [
        {
            "adder": r.user_id,
            "person": r.person_id,
            "username": r.username,
            "id": r.id_masked,
            "added_at": r.added_at.astimezone(BEIJING).isoformat(),
        }
        for r in rows
    ]


def verify_family(app: App, user: User, adder: int, person_id: int, reason: str) -> dict[str, Any]:
    """A reviewer or hotline operator confirms a link after seeing the documents (household
    register, birth certificate, guardianship) for a member who cannot confirm themself."""
    why = require_reason(reason)
    now = datetime.now(UTC)
    with app.transaction() as conn:
        row = repository.link(conn, adder, person_id)
        if row is None:
            raise _no_link()
        if row.confirmed_at is None:
            repository.confirm(conn, adder, person_id, now, f"{user.role.value}:{user.username}"[:80])
            audit.record(conn, app, user.actor, "family.verify", person_id, why, adder=adder)
    return {"adder": adder, "person": person_id, "confirmed": True}


def profile(app: App, user: User) -> dict[str, Any]:
    with app.engine.connect() as conn:
        family = family_of(conn, user)
        pending = set(pending_family_of(conn, user))
        ids = ([user.person_id] if user.person_id is not None else []) + family
        masked = repo.masked_ids(conn, ids)
        sessions = repository.open_sessions(conn, user.id)
    return {
        "username": user.username,
        "role": user.role.value,
        "id": masked.get(user.person_id) if user.person_id is not None else None,
        "family": [masked[i] for i in family if i in masked],
        "family_pending": [masked[i] for i in pending if i in masked],
        "open_sessions": sessions,
    }
