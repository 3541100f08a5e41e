"""The message board: citizens post; the hotline, reviewers and admins reply."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from commutepass.domain.errors import InputError
from commutepass.feedback import service as feedback
from commutepass.kit.context import App
from commutepass.kit.gates import (
    AppDep,
    BoardReader,
    Citizen,
    Staff,
)
from commutepass.kit.i18n import lang_of
from commutepass.kit.render import error_of, page
from commutepass.kit.sessions import User

router = APIRouter(include_in_schema=False)


def _board(request: Request, app: App, user: User, status_code: int = 200, error: Any = None) -> Response:
    posts = feedback.board(app, user)
    return page(request, "feedback.html", status_code, user=user, posts=posts, error=error)


@router.get("/feedback")
async def feedback_board(request: Request, app: AppDep, user: BoardReader) -> Response:
    return await run_in_threadpool(_board, request, app, user)


@router.post("/feedback")
async def feedback_post(
    request: Request, app: AppDep, user: Citizen, body: Annotated[str, Form()] = ""
) -> Response:
    try:
        await run_in_threadpool(feedback.post, app, user, body)
    except InputError as exc:
        return await run_in_threadpool(_board, request, app, user, 422, error_of(exc, lang_of(request)))
    return RedirectResponse("/feedback", status_code=303)


@router.post("/feedback/{post_id}/reply")
async def feedback_reply(
    request: Request, app: AppDep, user: Staff, post_id: int, body: Annotated[str, Form()] = ""
) -> Response:
    try:
        await run_in_threadpool(feedback.post, app, user, body, parent_id=post_id)
    except InputError as exc:
        return await run_in_threadpool(_board, request, app, user, 422, error_of(exc, lang_of(request)))
    return RedirectResponse("/feedback", status_code=303)
