"""Signing in and out of the pages, and what a page shows instead of a JSON problem when the
visitor is not signed in (the sign-in form, 401) or may not see it (403)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from commutepass.accounts import service as auth
from commutepass.accounts.api import client_address, end_session, set_session_cookie
from commutepass.accounts.service import household_of
from commutepass.domain.errors import AuthError, Forbidden, InputError, TooManyAttempts
from commutepass.domain.roles import ALL_ROLES, Role, parse_role
from commutepass.kit import audit, problems
from commutepass.kit.context import App
from commutepass.kit.gates import (
    PUBLIC,
    Admin,
    AppDep,
    Citizen,
    bearer,
    require_roles,
    token_of,
)
from commutepass.kit.i18n import lang_of
from commutepass.kit.render import error_of, home_of, local_path, page
from commutepass.kit.sessions import User

router = APIRouter(include_in_schema=False)
Anyone = Annotated[User, require_roles(*ALL_ROLES)]
API_PREFIXES = ("/v1/", "/health", "/docs", "/openapi", "/redoc", "/static/")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def _login_page(request: Request, status_code: int, message: str | None, next_path: str) -> Response:
    return page(request, "login.html", status_code, message=message, next_path=next_path)


@router.get("/", dependencies=[PUBLIC])
async def home(request: Request) -> Response:
    return page(request, "home.html")


@router.get("/login", dependencies=[PUBLIC])
async def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, 200, None, local_path(next, ""))


@router.post("/login", dependencies=[PUBLIC])
async def login(
    request: Request,
    app: AppDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    try:
        signed = await run_in_threadpool(
            lambda: auth.sign_in(app, username.strip(), password, address=client_address(request))
        )
    except (AuthError, TooManyAttempts) as exc:
        message = exc.zh if lang_of(request) == "zh" else exc.en
        status = 429 if isinstance(exc, TooManyAttempts) else 401
        answer = _login_page(request, status, message, local_path(next, ""))
        if isinstance(exc, TooManyAttempts):
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer
    target = local_path(next, home_of(signed.user.role))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, app, response, signed)
    return response


@router.post("/logout")
async def logout(
    request: Request,
    app: AppDep,
    _user: Anyone,
    bearer_token: Annotated[str | None, Depends(bearer)],
) -> Response:
    token = token_of(request, bearer_token)
    response = RedirectResponse("/login", status_code=303)
    if token:
        await end_session(request, app, token, response)
    return response


def install_handlers(api: FastAPI) -> None:
    """Pages answer a missing sign-in with the sign-in form and a wrong role with a page that
    says so; the API keeps its RFC 9457 problem details."""

    @api.exception_handler(AuthError)
    async def _not_signed_in(request: Request, exc: AuthError) -> Response:
        if not is_page(request):
            return problems.not_signed_in(exc)
        message = exc.zh if lang_of(request) == "zh" else exc.en
        return _login_page(request, 401, message, request.url.path)

    @api.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if not is_page(request):
            return problems.forbidden(exc)
        message = exc.zh if lang_of(request) == "zh" else exc.en
        return page(request, "forbidden.html", 403, message=message)


Verifier = Annotated[User, require_roles(Role.REVIEWER, Role.HOTLINE)]


def _verify_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    return page(
        request,
        "family_verify.html",
        status_code,
        user=user,
        links=auth.pending_links(app),
        **{"error": None, **context},
    )


@router.get("/family/pending")
async def family_pending(request: Request, app: AppDep, user: Verifier) -> Response:
    return await run_in_threadpool(_verify_page, request, app, user)


@router.post("/family/{adder}/{person}/verify")
async def family_verify(
    request: Request,
    app: AppDep,
    user: Verifier,
    adder: int,
    person: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        await run_in_threadpool(auth.verify_family, app, user, adder, person, reason)
    except InputError as exc:
        return await run_in_threadpool(
            _verify_page, request, app, user, 422, error=error_of(exc, lang_of(request))
        )
    return RedirectResponse("/family/pending", status_code=303)


@router.get("/citizen/accesses")
async def citizen_accesses(request: Request, app: AppDep, user: Citizen) -> Response:
    def load() -> list[dict[str, Any]]:
        with app.engine.connect() as conn:
            ids = household_of(conn, user)
        return audit.accesses_to(app, ids)

    entries = await run_in_threadpool(load)
    return page(request, "accesses.html", user=user, entries=entries)


def _users_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {"error": None, "form": {}}
    roles = [r.value for r in Role]
    return page(
        request,
        "admin_users.html",
        status_code,
        user=user,
        users=auth.list_users(app),
        roles=roles,
        **{**defaults, **context},
    )


@router.get("/admin/users")
async def admin_users(request: Request, app: AppDep, user: Admin) -> Response:
    return await run_in_threadpool(_users_page, request, app, user)


@router.post("/admin/users")
async def admin_users_add(
    request: Request,
    app: AppDep,
    user: Admin,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
) -> Response:
    try:
        chosen = parse_role(role)
        await run_in_threadpool(
            lambda: auth.add_user(
                app, username.strip(), password, chosen, id_number=id_number.strip() or None, by=user.actor
            )
        )
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        form = {"username": username, "role": role}
        return await run_in_threadpool(_users_page, request, app, user, 422, error=error, form=form)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/{action}")
async def admin_users_toggle(
    request: Request, app: AppDep, user: Admin, username: str, action: str
) -> Response:
    try:
        if action not in ("disable", "enable", "unlock"):
            raise InputError("action", "disable, enable or unlock", "停用、启用或解锁")
        if action == "unlock":
            await run_in_threadpool(lambda: auth.unlock(app, username, by=user.actor))
        else:
            await run_in_threadpool(
                lambda: auth.set_disabled(app, username, action == "disable", by=user.actor)
            )
    except InputError as exc:
        return await run_in_threadpool(
            _users_page, request, app, user, 422, error=error_of(exc, lang_of(request))
        )
    return RedirectResponse("/admin/users", status_code=303)
