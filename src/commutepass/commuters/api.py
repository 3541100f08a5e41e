"""The commuter database: list as of a time, enrol."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from commutepass.commuters import service
from commutepass.commuters.schemas import CommuterIn, CommuterOut
from commutepass.domain.facts import Source
from commutepass.domain.policy import CommuterClass
from commutepass.kit.gates import AppDep, Reviewer
from commutepass.kit.schemas import Moment

router = APIRouter(prefix="/v1/commuters", tags=["commuters"])


@router.get("", response_model=list[CommuterOut], summary="Everyone in the database at a time")
async def list_commuters(
    app: AppDep,
    user: Reviewer,
    as_of: Annotated[Moment, Query(description="ISO 8601 time; no offset means Beijing time")],
    limit: int = Query(1000, ge=1, le=100_000),
    offset: int = Query(0, ge=0),
) -> Any:
    moment = app.moment(as_of)
    entries = await run_in_threadpool(service.list_commuters, app, moment, user.actor)
    return entries[offset : offset + limit]


@router.post("", response_model=CommuterOut, status_code=201, summary="Enrol a person")
async def add_commuter(body: CommuterIn, app: AppDep, user: Reviewer) -> Any:
    return await run_in_threadpool(
        lambda: service.add_commuter(
            app,
            body.id_number,
            since=body.since,
            source=Source(body.source),
            commuter_class=CommuterClass(body.commuter_class),
            home_county=body.home_county,
            reason=body.reason,
            by=user.actor,
        )
    )
