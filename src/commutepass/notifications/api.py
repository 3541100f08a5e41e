"""The citizen's inbox (thin: each route calls one service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, StrictBool

from commutepass.kit.gates import AppDep, Citizen
from commutepass.notifications import service

router = APIRouter(prefix="/v1/me/inbox", tags=["inbox"])


class RemindersIn(BaseModel):
    on: StrictBool


@router.get("", summary="My and my family's messages, newest first, and the reminder setting")
async def my_inbox(app: AppDep, user: Citizen) -> Any:
    return await run_in_threadpool(service.inbox, app, user)


@router.post("/reminders", summary="Turn my lapse reminders (48 h and 24 h ahead) on or off")
async def reminders(body: RemindersIn, app: AppDep, user: Citizen) -> Any:
    return await run_in_threadpool(service.set_reminders, app, user, body.on)


@router.post("/read", summary="Mark my messages read")
async def read(app: AppDep, user: Citizen) -> Any:
    return await run_in_threadpool(service.mark_read, app, user)
