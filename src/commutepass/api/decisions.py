"""Status and checkpoint checks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from commutepass.api.deps import AppDep, SwipesDep
from commutepass.api.schemas import CheckOut, CheckRequestIn, StatusOut, StatusRequest
from commutepass.domain.clock import BEIJING
from commutepass.services import decide

router = APIRouter(prefix="/v1", tags=["decisions"])


def _moment(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(BEIJING)
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


@router.post("/status", response_model=StatusOut, summary="A person's health-code status")
async def status(body: StatusRequest, app: AppDep) -> Any:
    """Colour, pop-up and commuter badge at a time, with reasons and the remedy.

    The ID number travels in the body, never in the URL (URLs end up in logs)."""
    return JSONResponse(await run_in_threadpool(decide.status_of, app, body.id_number, _moment(body.at)))


@router.post("/checks", response_model=CheckOut, summary="A checkpoint check (recorded as a swipe)")
async def check(body: CheckRequestIn, app: AppDep, swipes: SwipesDep) -> Any:
    request = decide.CheckRequest(
        id_number=body.id_number,
        at=_moment(body.at),
        site=body.site,
        mode=decide.parse_mode(body.mode),
        smartphone=body.smartphone,
        companions=tuple(body.companions),
    )
    result = await run_in_threadpool(lambda: decide.check(app, request, writer=swipes))
    # already shaped as CheckOut by the service (tests hold it to the schema); skip re-validation
    return JSONResponse(result)
