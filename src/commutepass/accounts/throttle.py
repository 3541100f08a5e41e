"""Sign-in protection: per-account and per-address failure counts with a doubling back-off, and an
account lockout that ends by itself or when an admin lifts it; every failure, lockout and unlock
is audited. Unknown usernames are counted like known ones, so the answers (and their times) say
nothing about whether an account exists."""

from __future__ import annotations

from datetime import datetime, timedelta

from commutepass.domain.errors import TooManyAttempts
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.store import security as store

ADDRESS_WINDOW = timedelta(minutes=15)
ACCOUNT_MEMORY = timedelta(hours=24)
"""Failures of an account older than this (with no lockout running) are forgotten."""
ANONYMOUS = audit.Actor("anonymous", "anonymous")


def account_key(username: str) -> str:
    return f"account:{username.strip().lower()[:150]}"


def address_key(address: str | None) -> str:
    return f"address:{(address or 'unknown')[:150]}"


def _wait(seconds: float) -> int:
    return max(1, int(seconds + 0.999))


def check_allowed(app: App, username: str, address: str | None, now: datetime) -> None:
    """Refuse (429) before the password is even checked while a back-off or a lockout runs."""
    with app.engine.connect() as conn:
        rows = store.read(conn, [account_key(username), address_key(address)])
    for row in rows.values():
        if row.locked_until is not None and row.locked_until > now:
            raise TooManyAttempts(
                "this account is locked after too many failed sign-ins: wait, or ask an admin to unlock it",
                "该账户因多次登录失败已被锁定：请稍后再试，或请管理员解锁",
                _wait((row.locked_until - now).total_seconds()),
            )
        if row.blocked_until is not None and row.blocked_until > now:
            raise TooManyAttempts(
                "too many failed sign-ins: wait before trying again",
                "登录失败次数过多：请稍后再试",
                _wait((row.blocked_until - now).total_seconds()),
            )


def _backoff(app: App, over: int) -> timedelta:
    s = app.settings
    return timedelta(
        seconds=min(s.signin_backoff_seconds * 2 ** max(0, over - 1), s.signin_backoff_max_seconds)
    )


def record_failure(app: App, username: str, address: str | None, now: datetime) -> None:
    """Count a failed sign-in against the account and the address; start a back-off or a lockout."""
    s = app.settings
    with app.transaction() as conn:
        account = store.lock_row(conn, account_key(username), now)
        fresh = account.failures == 0 or now - account.last_failure_at > ACCOUNT_MEMORY
        failures = (
            1 if fresh and not (account.locked_until and account.locked_until > now) else account.failures + 1
        )
        blocked = (
            now + _backoff(app, failures - s.signin_free_failures)
            if failures > s.signin_free_failures
            else None
        )
        locked = account.locked_until
        if failures >= s.signin_lockout_failures and (locked is None or locked <= now):
            locked = now + timedelta(minutes=s.signin_lockout_minutes)
            audit.record(
                conn,
                app,
                ANONYMOUS,
                "signin.lockout",
                None,
                f"{failures} failed sign-ins",
                username=username[:64],
                address=address,
            )
        store.store(conn, account_key(username), failures, now, blocked, locked)

        where = store.lock_row(conn, address_key(address), now)
        count = (
            1 if now - where.last_failure_at > ADDRESS_WINDOW or where.failures == 0 else where.failures + 1
        )
        over = count - s.signin_address_free_failures
        store.store(
            conn, address_key(address), count, now, now + _backoff(app, over) if over > 0 else None, None
        )
        audit.record(
            conn, app, ANONYMOUS, "signin.failure", None, "", username=username[:64], address=address
        )


def record_success(app: App, username: str) -> None:
    with app.transaction() as conn:
        store.clear(conn, account_key(username))


def unlock(app: App, username: str, by: audit.Actor) -> bool:
    """An admin lifts a lockout (and the back-off) of an account; audited. Whether one ran."""
    with app.transaction() as conn:
        lifted = store.clear(conn, account_key(username)) > 0
        audit.record(conn, app, by, "signin.unlock", None, "", username=username, was_locked=lifted)
    return lifted
