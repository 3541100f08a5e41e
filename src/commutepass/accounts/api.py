"""Sign-in (OAuth2 password flow), sign-out, one's own profile and family, and user admin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from commutepass.accounts import service as auth
from commutepass.domain.roles import ALL_ROLES, Role
from commutepass.kit import audit, sessions
from commutepass.kit.context import App
from commutepass.kit.gates import PUBLIC, AppDep, SessionCache, bearer, require_roles, token_of
from commutepass.kit.sessions import User

router = APIRouter(prefix="/v1", tags=["accounts"])
Anyone = Annotated[User, require_roles(*ALL_ROLES)]
Citizen = Annotated[User, require_roles(Role.CITIZEN)]
Admin = Annotated[User, require_roles(Role.ADMIN)]
Verifier = Annotated[User, require_roles(Role.REVIEWER, Role.HOTLINE)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: str
    role: str


class FamilyIn(BaseModel):
    id_number: str


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=auth.MIN_PASSWORD, max_length=256)
    role: Role
    id_number: str | None = Field(None, description="A citizen's own ID number (required for citizens)")


def set_session_cookie(request: Request, app: App, response: Response, signed: sessions.SignedIn) -> None:
    """The session token as the HttpOnly cookie the pages (and the API) accept; ``Secure`` when
    the setting says so, or (unset) when the request came over HTTPS."""
    secure = app.settings.cookie_secure
    response.set_cookie(
        sessions.SESSION_COOKIE,
        signed.token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" if secure is None else secure,
        max_age=max(1, int((signed.expires_at - datetime.now(UTC)).total_seconds())),
    )


def client_address(request: Request) -> str | None:
    """The peer address the sign-in throttle counts (behind a proxy: the proxy's; see docs/security.md)."""
    return request.client.host if request.client else None


async def end_session(request: Request, app: App, token: str, response: Response) -> None:
    """Revoke the session, forget it in this worker's cache, and drop the cookie."""
    await run_in_threadpool(sessions.sign_out, app, token)
    cache: SessionCache = request.app.state.sessions
    cache.drop(token)
    response.delete_cookie(sessions.SESSION_COOKIE)


@router.post(
    "/auth/token", response_model=TokenOut, summary="Sign in (OAuth2 password flow)", dependencies=[PUBLIC]
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, app: AppDep, response: Response
) -> Any:
    """Form fields ``username`` and ``password``. The token is returned and also set as the
    HttpOnly cookie ``commutepass_session`` (for the web pages). Repeated failures for an account
    or from an address are answered 429 with ``Retry-After`` (back-off, then a lockout an admin
    can lift)."""
    signed = await run_in_threadpool(
        lambda: auth.sign_in(app, form.username, form.password, address=client_address(request))
    )
    set_session_cookie(request, app, response, signed)
    return {
        "access_token": signed.token,
        "expires_at": signed.expires_at.isoformat(),
        "role": signed.user.role.value,
    }


@router.post("/auth/logout", status_code=204, summary="Sign out (the session is revoked)")
async def logout(
    request: Request,
    app: AppDep,
    _user: Anyone,
    bearer_token: Annotated[str | None, Depends(bearer)],
) -> Response:
    current = token_of(request, bearer_token)
    assert current is not None, "the role gate let a request without a token through"
    response = Response(status_code=204)
    await end_session(request, app, current, response)
    return response


@router.get("/me", summary="Who I am, my linked person and family (masked)")
async def me(app: AppDep, user: Anyone) -> Any:
    return await run_in_threadpool(auth.profile, app, user)


@router.post("/me/family", status_code=201, summary="Add a family member (up to 4)")
async def add_family(body: FamilyIn, app: AppDep, user: Citizen) -> Any:
    return await run_in_threadpool(auth.add_family, app, user, body.id_number)


@router.get("/me/family/requests", summary="Who added me as their family member (to confirm or remove)")
async def family_requests(app: AppDep, user: Citizen) -> Any:
    return await run_in_threadpool(auth.family_requests, app, user)


@router.post(
    "/me/family/requests/{adder}/confirm",
    summary="Confirm that this user may see my data as family (audited)",
)
async def confirm_family(adder: int, app: AppDep, user: Citizen) -> Any:
    return await run_in_threadpool(auth.confirm_family, app, user, adder)


@router.delete("/me/family/requests/{adder}", summary="Remove a family link that names me (audited)")
async def withdraw_family(adder: int, app: AppDep, user: Citizen) -> Any:
    return await run_in_threadpool(auth.withdraw_family, app, user, adder)


@router.get("/family/pending", summary="Family links awaiting confirmation (masked IDs)")
async def pending_family(app: AppDep, _user: Verifier) -> Any:
    return await run_in_threadpool(auth.pending_links, app)


class VerifyIn(BaseModel):
    reason: str = Field(
        min_length=1,
        max_length=1000,
        description="The documents seen (household register, birth certificate, guardianship); audited",
    )


@router.post(
    "/family/{adder}/{person}/verify",
    summary="Confirm a family link after seeing the documents (a child, an elder without a smartphone)",
)
async def verify_family(adder: int, person: int, body: VerifyIn, app: AppDep, user: Verifier) -> Any:
    return await run_in_threadpool(auth.verify_family, app, user, adder, person, body.reason)


@router.get("/me/accesses", summary="Who looked at my (and my family's) data, when and why")
async def accesses(app: AppDep, user: Citizen) -> Any:
    def run() -> list[dict[str, Any]]:
        with app.engine.connect() as conn:
            ids = sorted(auth.people_of(conn, user))
        return audit.accesses_to(app, ids)

    return await run_in_threadpool(run)


@router.get("/users", summary="Every user")
async def list_users(app: AppDep, _user: Admin) -> Any:
    return await run_in_threadpool(auth.list_users, app)


@router.post("/users", status_code=201, summary="Create a user")
async def add_user(body: UserIn, app: AppDep, user: Admin) -> Any:
    return await run_in_threadpool(
        lambda: auth.add_user(
            app, body.username, body.password, body.role, id_number=body.id_number, by=user.actor
        )
    )


@router.post("/users/{username}/disable", summary="Disable a user (their sessions end)")
async def disable_user(username: str, request: Request, app: AppDep, user: Admin) -> Any:
    result = await run_in_threadpool(lambda: auth.set_disabled(app, username, True, by=user.actor))
    cache: SessionCache = request.app.state.sessions
    cache.clear()  # this process stops trusting the user's sessions at once
    return result


@router.post("/users/{username}/unlock", summary="Lift a sign-in lockout or back-off (audited)")
async def unlock_user(username: str, app: AppDep, user: Admin) -> Any:
    return await run_in_threadpool(lambda: auth.unlock(app, username, by=user.actor))


@router.post("/users/{username}/enable", summary="Enable a user again")
async def enable_user(username: str, app: AppDep, user: Admin) -> Any:
    return await run_in_threadpool(lambda: auth.set_disabled(app, username, False, by=user.actor))
