"""The commuter database: list as of a time, enrol."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from commutepass.api.deps import AppDep
from commutepass.api.roles import require_roles
from commutepass.api.schemas import CommuterIn, CommuterOut, Moment
from commutepass.domain.clock import BEIJING
from commutepass.domain.facts import Source
from commutepass.domain.policy import CommuterClass
from commutepass.domain.roles import Role
from commutepass.services import people
from commutepass.services.auth import User

router = APIRouter(prefix="/v1/commuters", tags=["commuters"])
Reviewer = Annotated[User, require_roles(Role.REVIEWER)]


@router.get("", response_model=list[CommuterOut], summary="Everyone in the database at a time")
async def list_commuters(
    app: AppDep,
    user: Reviewer,
    as_of: Annotated[Moment, Query(description="ISO 8601 time; no offset means Beijing time")],
    limit: int = Query(1000, ge=1, le=100_000),
    offset: int = Query(0, ge=0),
) -> Any:
    moment = as_of if as_of.tzinfo else as_of.replace(tzinfo=BEIJING)
    entries = await run_in_threadpool(people.list_commuters, app, user, moment)
    return entries[offset : offset + limit]


@router.post("", response_model=CommuterOut, status_code=201, summary="Enrol a person")
async def add_commuter(body: CommuterIn, app: AppDep, user: Reviewer) -> Any:
    return await run_in_threadpool(
        lambda: people.enrol(
            app,
            user.actor,
            body.id_number,
            since=body.since,
            source=Source(body.source),
            commuter_class=CommuterClass(body.commuter_class),
            home_county=body.home_county,
            reason=body.reason,
        )
    )
