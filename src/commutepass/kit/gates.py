"""Every endpoint declares who may call it, through one dependency: ``require_roles(...)`` (or
``PUBLIC``). The gate reads the token from ``Authorization: Bearer`` or the HttpOnly cookie
``commutepass_session``, checks the session, and answers 401 (not signed in) or 403 (wrong
role). The declaration stays on the route, so the role-matrix test can read it from
``app.routes`` and fail for any route that has none.

Declaring a new router's roles is one line::

    router = APIRouter(prefix="/v1/credentials", dependencies=[require_roles(Role.OFFICER)])
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.security import OAuth2PasswordBearer

from commutepass.domain.errors import AuthError, Forbidden
from commutepass.domain.roles import ALL_ROLES, Role
from commutepass.kit import sessions as auth
from commutepass.kit.context import App

CACHE_SECONDS = 2.0
"""A verified session is trusted this long in one process before its row is read again: a
sign-out in another worker takes effect within this time (in the same worker at once)."""

bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


class SessionCache:
    def __init__(self) -> None:
        self._users: dict[str, tuple[auth.User, float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        """One session read in flight per token per process (see ``current_user``)."""

    def lock(self, token: str) -> asyncio.Lock:
        if len(self._locks) > 10_000:
            self._locks = {t: lock for t, lock in self._locks.items() if lock.locked()}
        return self._locks.setdefault(token, asyncio.Lock())

    def get(self, token: str) -> auth.User | None:
        hit = self._users.get(token)
        if hit is None or time.monotonic() - hit[1] > CACHE_SECONDS:
            return None
        return hit[0]

    def put(self, token: str, user: auth.User) -> None:
        if len(self._users) > 10_000:
            self._users.clear()
        self._users[token] = (user, time.monotonic())

    def drop(self, token: str) -> None:
        self._users.pop(token, None)

    def clear(self) -> None:
        self._users.clear()


def token_of(request: Request, bearer_token: str | None) -> str | None:
    return bearer_token or request.cookies.get(auth.SESSION_COOKIE)


async def current_user(request: Request, token: str | None) -> auth.User:
    if not token:
        raise AuthError("sign in first (POST /v1/auth/token)", "请先登录（POST /v1/auth/token）")
    cache: SessionCache = request.app.state.sessions
    user = cache.get(token)
    if user is not None:
        return user
    # single flight: when the cached session expires under load, the requests that arrive while
    # it is read again wait for that one read instead of each reading (and, once a minute,
    # writing ``last_seen_at`` of) the same session row, which under a busy checkpoint could take every
    # pooled connection and serialise on the row's lock
    async with cache.lock(token):
        user = cache.get(token)
        if user is None:
            application: App = request.app.state.commutepass
            user = await run_in_threadpool(auth.authenticate, application, token)
            cache.put(token, user)
    return user


class RoleGate:
    """The dependency that both declares and enforces a route's roles (None: public)."""

    def __init__(self, roles: frozenset[Role] | None) -> None:
        self.roles = roles

    async def __call__(
        self, request: Request, bearer_token: Annotated[str | None, Depends(bearer)]
    ) -> auth.User | None:
        if self.roles is None:
            return None
        user = await current_user(request, token_of(request, bearer_token))
        if user.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            raise Forbidden(
                f"the {user.role.value} role may not do this (allowed: {allowed})",
                f"“{user.role.value}”角色无权执行此操作（允许：{allowed}）",
            )
        return user


def require_roles(*roles: Role) -> Any:
    if not roles:
        raise ValueError("name at least one role, or use PUBLIC")
    return Depends(RoleGate(frozenset(roles)))


class _PublicGate(RoleGate):
    """Declares a public route: no token is read (and the OpenAPI page shows no lock)."""

    def __init__(self) -> None:
        super().__init__(None)

    async def __call__(self) -> None:  # type: ignore[override]
        return None


PUBLIC: Any = Depends(_PublicGate())


async def get_app(request: Request) -> App:
    """The application context (``async`` on purpose: a plain ``def`` dependency costs two
    thread hand-offs per request for a dictionary lookup)."""
    application: App = request.app.state.commutepass
    return application


AppDep = Annotated[App, Depends(get_app)]

# Each role gate, declared once and used by the API and the pages alike.
Anyone = Annotated[auth.User, require_roles(*ALL_ROLES)]
Citizen = Annotated[auth.User, require_roles(Role.CITIZEN)]
Officer = Annotated[auth.User, require_roles(Role.OFFICER)]
Hotline = Annotated[auth.User, require_roles(Role.HOTLINE)]
Reviewer = Annotated[auth.User, require_roles(Role.REVIEWER)]
Admin = Annotated[auth.User, require_roles(Role.ADMIN)]
Community = Annotated[auth.User, require_roles(Role.COMMUNITY)]
"""社区工作人员: submits applications for residents and sees only its own submissions."""
Analyst = Annotated[auth.User, require_roles(Role.ANALYST, Role.ADMIN)]
Staff = Annotated[auth.User, require_roles(Role.HOTLINE, Role.REVIEWER, Role.ADMIN)]
"""Staff who answer people: the hotline, reviewers and admins."""
BoardReader = Annotated[auth.User, require_roles(Role.CITIZEN, Role.HOTLINE, Role.REVIEWER, Role.ADMIN)]
"""Who reads the message board: citizens and the staff who answer them."""


def api_routes(app: FastAPI) -> list[tuple[str, str, Dependant]]:
    """(method, path, dependant) of every API route, routers included (FastAPI ≥ 0.165 keeps
    included routers as lazy wrappers in ``app.routes``; their effective routes carry the
    router-level dependencies)."""
    found: list[tuple[str, str, Dependant]] = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if isinstance(dependant, Dependant):
            found.extend((method, str(context.path), dependant) for method in sorted(context.methods or ()))
    return found


def declared_roles(dependant: Dependant) -> list[frozenset[Role] | None]:
    """Every role declaration on a route (the test wants exactly one)."""
    found: list[frozenset[Role] | None] = []
    stack = list(dependant.dependencies)
    while stack:
        dependant = stack.pop()
        if isinstance(dependant.call, RoleGate):
            found.append(dependant.call.roles)
        stack.extend(dependant.dependencies)
    return found
