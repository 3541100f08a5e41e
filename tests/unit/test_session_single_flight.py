"""The session gate reads a session once per token and process however many requests wait for
it (no herd of reads and ``last_seen_at`` writes of one session row when the cache expires)."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest

from commutepass.domain.errors import AuthError
from commutepass.domain.roles import Role
from commutepass.kit import gates
from commutepass.kit.sessions import User


def _run(coroutine: Any) -> Any:
    """Run on a fresh event loop in its own thread (another test may leave this thread's running)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _request() -> Any:
    return SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(sessions=gates.SessionCache(), commutepass=None))
    )


def test_concurrent_requests_read_a_session_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    lock = threading.Lock()

    def slow_authenticate(_app: Any, token: str) -> User:
        with lock:
            calls.append(token)
        time.sleep(0.2)
        return User(7, "officer", Role.OFFICER, None)

    monkeypatch.setattr(gates.auth, "authenticate", slow_authenticate)
    request = _request()

    async def main() -> list[User]:
        return list(
            await asyncio.gather(
                *(gates.current_user(request, "token-a") for _ in range(20)),
                *(gates.current_user(request, "token-b") for _ in range(5)),
            )
        )

    users = _run(main())
    assert [u.username for u in users] == ["officer"] * 25
    assert sorted(calls) == ["token-a", "token-b"], "one read per token, not one per request"


def test_a_failed_read_is_not_shared_as_a_success(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def refuse(_app: Any, token: str) -> User:
        calls.append(token)
        raise AuthError("the session has ended; sign in again", "会话已结束，请重新登录")

    monkeypatch.setattr(gates.auth, "authenticate", refuse)
    request = _request()

    async def main() -> list[Any]:
        return list(
            await asyncio.gather(
                *(gates.current_user(request, "gone") for _ in range(3)), return_exceptions=True
            )
        )

    answers = _run(main())
    assert all(isinstance(a, AuthError) for a in answers)
    assert len(calls) == 3  # a refusal is not cached: each waiter reads (and is refused) in turn
