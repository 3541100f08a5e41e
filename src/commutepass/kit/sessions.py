"""Who is asking: the signed-in user behind a token (PyJWT, with a server-side session row per
token, so signing out or disabling a user revokes at once).

The same token works as ``Authorization: Bearer`` and in the HttpOnly cookie
``commutepass_session``. Every area reads the caller through ``authenticate``; passwords and
user accounts are the accounts area's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from commutepass.domain.errors import AuthError
from commutepass.domain.roles import Role
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.store import repositories as repo

SESSION_COOKIE = "commutepass_session"
TOKEN_LIFETIME = timedelta(hours=12)
TOKEN_ALGORITHM = "HS256"
TOKEN_KEY_PURPOSE = b"commutepass session token v1"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    role: Role
    person_id: int | None
    """A citizen's own person (the ID number they signed up with)."""
    operator: bool = False
    """A command run on the server rather than a signed-in user (audited as ``cli:<user>``)."""

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor(self.username, "operator" if self.operator else self.role.value)


def cli_user() -> User:
    """The operator at the command line: sees what an admin sees, audited as ``cli:<os user>``."""
    actor = audit.cli_actor()
    return User(0, actor.username, Role.ADMIN, None, operator=True)


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    expires_at: datetime
    user: User


def token_key(app: App) -> bytes:
    return app.vault.derive(TOKEN_KEY_PURPOSE)


def claims_of(app: App, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, token_key(app), algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "jti", "uid"]}
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("the session has expired; sign in again", "登录已过期，请重新登录") from None
    except jwt.InvalidTokenError:
        raise AuthError("the token is not valid", "令牌无效") from None
    return claims


def authenticate(app: App, token: str, *, now: datetime | None = None) -> User:
    """The user behind a token whose session is open and whose account is enabled."""
    claims = claims_of(app, token)
    now = now or datetime.now(UTC)
    with app.engine.connect() as conn:
        row = repo.session_user(conn, str(claims["jti"]), int(claims["uid"]))
    if row is None or row.revoked_at is not None or row.disabled or row.expires_at <= now:
        raise AuthError("the session has ended; sign in again", "会话已结束，请重新登录")
    return User(row.id, row.username, Role(row.role), row.person_id)


def sign_out(app: App, token: str) -> None:
    claims = claims_of(app, token)
    with app.transaction() as conn:
        repo.revoke_session(conn, str(claims["jti"]), datetime.now(UTC))
