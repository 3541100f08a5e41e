"""Errors as RFC 9457 problem details: bad input is a 4xx that says what and where."""

from __future__ import annotations

import functools
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from commutepass.domain.errors import AuthError, Forbidden, InputError, LoadError, TooManyAttempts

PROBLEM = "application/problem+json"
STORE_RETRY_AFTER = 5
"""Seconds a client waits before retrying while the store is unreachable."""


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def not_signed_in(exc: AuthError) -> JSONResponse:
    response = problem(401, "Not signed in", exc.en, detail_zh=exc.zh)
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def forbidden(exc: Forbidden) -> JSONResponse:
    return problem(403, "Forbidden", exc.en, detail_zh=exc.zh)


def install(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def _input(_request: Request, exc: InputError) -> JSONResponse:
        return problem(422, "Invalid input", f"{exc.field}: {exc.en}", field=exc.field, detail_zh=exc.zh)

    @app.exception_handler(AuthError)
    async def _auth(_request: Request, exc: AuthError) -> JSONResponse:
        return not_signed_in(exc)

    @app.exception_handler(Forbidden)
    async def _forbidden(_request: Request, exc: Forbidden) -> JSONResponse:
        return forbidden(exc)

    @app.exception_handler(TooManyAttempts)
    async def _too_many(_request: Request, exc: TooManyAttempts) -> JSONResponse:
        response = problem(429, "Too many attempts", exc.en, detail_zh=exc.zh, retry_after=exc.retry_after)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeout)
    async def _store_down(_request: Request, exc: Exception) -> JSONResponse:
        # the database is unreachable (stopped, restarting, network) or every pooled connection
        # stayed busy past the pool's timeout: nothing was half-written (the transaction rolled
        # back); the client retries, with its Idempotency-Key where it has one
        response = problem(
            503,
            "Store unavailable",
            "the database cannot be reached just now; nothing was recorded: retry shortly",
            detail_zh="暂时无法连接数据库，本次请求未被记录：请稍后重试",
            retry_after=STORE_RETRY_AFTER,
        )
        response.headers["Retry-After"] = str(STORE_RETRY_AFTER)
        return response

    @app.exception_handler(LoadError)
    async def _load(_request: Request, exc: LoadError) -> JSONResponse:
        return problem(422, "File cannot be loaded", exc.en, detail_zh=exc.zh)

    @app.exception_handler(OverflowError)
    async def _overflow(_request: Request, exc: OverflowError) -> JSONResponse:
        # a time near the ends of Python's range (year 1 or 9999) that cannot be turned into UTC
        return problem(422, "Invalid input", f"a time or date is out of the supported range ({exc})")

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = problem(exc.status_code, HTTPStatus(exc.status_code).phrase, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # every method of the address, not only those of the first route that matched it
            allowed = allowed_methods(request)
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        return response


def allowed_methods(request: Request) -> list[str]:
    """The methods of every route at this address (Starlette names only the first route's)."""
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        declared = getattr(context, "methods", None)
        path = getattr(context, "path", None)
        if declared and path and _template(str(path)).fullmatch(request.url.path):
            methods |= set(declared)
    return sorted(methods)


@functools.cache
def _template(path: str) -> re.Pattern[str]:
    """Starlette's own pattern for a route path, convertors included (``{alert_id:int}`` is digits
    only, so ``/alerts/evaluate`` is not an alert)."""
    return compile_path(path)[0]
