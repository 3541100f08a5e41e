"""The public waiting-times page (no sign-in, phone first, zh/en)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from commutepass.flow import service
from commutepass.kit.gates import PUBLIC, AppDep
from commutepass.kit.render import page

router = APIRouter(include_in_schema=False)


@router.get("/waits", dependencies=[PUBLIC])
async def waits(request: Request, app: AppDep) -> Response:
    data = await run_in_threadpool(service.waits, app, app.now())
    return page(request, "waits.html", waits=data)
