"""The message board over HTTP (no citizen sees another's identity)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from commutepass.domain.roles import Role
from commutepass.feedback import service as feedback
from commutepass.kit.gates import AppDep, require_roles
from commutepass.kit.sessions import User

router = APIRouter(prefix="/v1", tags=["workflows"])
CIT, OFF, HOT, REV = Role.CITIZEN, Role.OFFICER, Role.HOTLINE, Role.REVIEWER


class PostIn(BaseModel):
    body: str = Field(min_length=1, max_length=feedback.MAX_BODY)


@router.get("/feedback", summary="The message board (no citizen sees another's identity)")
async def board(app: AppDep, user: Annotated[User, require_roles(CIT, HOT, REV, Role.ADMIN)]) -> Any:
    return await run_in_threadpool(feedback.board, app, user)


@router.post("/feedback", status_code=201, summary="Post a message")
async def post_feedback(body: PostIn, app: AppDep, user: Annotated[User, require_roles(CIT)]) -> Any:
    return await run_in_threadpool(feedback.post, app, user, body.body)


@router.post("/feedback/{post_id}/replies", status_code=201, summary="Reply as staff")
async def reply_feedback(
    post_id: int, body: PostIn, app: AppDep, user: Annotated[User, require_roles(HOT, REV, Role.ADMIN)]
) -> Any:
    return await run_in_threadpool(lambda: feedback.post(app, user, body.body, parent_id=post_id))
