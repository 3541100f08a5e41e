"""Signing in and out of the pages, and what a page shows instead of a JSON problem when the
visitor is not signed in (the sign-in form, 401) or may not see it (403)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from commutepass.api import problems
from commutepass.api.accounts import end_session, set_session_cookie
from commutepass.api.deps import AppDep
from commutepass.api.roles import PUBLIC, bearer, require_roles, token_of
from commutepass.domain.roles import ALL_ROLES
from commutepass.services import auth
from commutepass.services.auth import AuthError, Forbidden, User
from commutepass.web.i18n import lang_of
from commutepass.web.render import home_of, local_path, page

router = APIRouter(include_in_schema=False)
Anyone = Annotated[User, require_roles(*ALL_ROLES)]
API_PREFIXES = ("/v1/", "/health", "/docs", "/openapi", "/redoc", "/static/")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def _login_page(request: Request, status_code: int, message: str | None, next_path: str) -> Response:
    return page(request, "login.html", status_code, message=message, next_path=next_path)


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
        signed = await run_in_threadpool(auth.sign_in, app, username.strip(), password)
    except AuthError as exc:
        message = exc.zh if lang_of(request) == "zh" else exc.en
        return _login_page(request, 401, message, local_path(next, ""))
    target = local_path(next, home_of(signed.user.role))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, signed)
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
