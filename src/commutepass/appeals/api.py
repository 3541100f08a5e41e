"""Appeals (纠错) over HTTP: filed by a citizen or the hotline, decided by a reviewer."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from commutepass.appeals import service as appeals
from commutepass.domain.clock import BEIJING
from commutepass.domain.privacy import suppress_response_times
from commutepass.domain.roles import Role
from commutepass.domain.workflows import AppealKind, AppealState
from commutepass.kit.gates import AppDep, Reviewer, require_roles
from commutepass.kit.schemas import Day, Moment
from commutepass.kit.sessions import User

router = APIRouter(prefix="/v1", tags=["workflows"])
CIT, OFF, HOT, REV = Role.CITIZEN, Role.OFFICER, Role.HOTLINE, Role.REVIEWER


class AppealIn(BaseModel):
    id_number: str
    kind: Literal["color", "popup", "badge"]
    statement: str = Field(min_length=1, max_length=1000)
    at: Moment | None = Field(None, description="The moment disputed; default now")


class AppealDecisionIn(BaseModel):
    outcome: Literal["overridden", "rejected"]
    reason: str = Field(min_length=1, max_length=1000)
    until: Day | None = Field(None, description="Last day the override holds (required to override)")


@router.post("/appeals", status_code=201, summary="Dispute a colour, a pop-up or a missing badge (纠错)")
async def file_appeal(body: AppealIn, app: AppDep, user: Annotated[User, require_roles(CIT, HOT)]) -> Any:
    at = body.at if body.at is None or body.at.tzinfo else body.at.replace(tzinfo=BEIJING)
    return await run_in_threadpool(
        lambda: appeals.file(app, user, body.id_number, AppealKind(body.kind), body.statement, at=at)
    )


@router.get("/appeals", summary="Appeals I filed or that concern me")
async def my_appeals(app: AppDep, user: Annotated[User, require_roles(CIT, HOT)]) -> Any:
    return await run_in_threadpool(appeals.mine, app, user)


@router.get("/appeals/queue", summary="Open appeals with their response-time targets")
async def appeal_queue(app: AppDep, _user: Reviewer) -> Any:
    return await run_in_threadpool(appeals.queue, app)


@router.get("/appeals/response-times", summary="Measured response times against the targets, per appeal type")
async def appeal_response_times(
    app: AppDep, user: Annotated[User, require_roles(REV, Role.ANALYST, Role.ADMIN)]
) -> Any:
    """A reviewer (who works the cases) sees every figure; an analyst (or an admin) sees them
    as in ``GET /v1/stats``: times and counts of fewer than ``analyst_min_cell`` appeals withheld."""
    times = await run_in_threadpool(appeals.response_times, app)
    if user.role is REV:
        return times
    return [suppress_response_times(row, app.settings.analyst_min_cell) for row in times]


@router.get("/appeals/{appeal_id}", summary="An appeal; a reviewer also gets the decision's evidence")
async def get_appeal(appeal_id: int, app: AppDep, user: Annotated[User, require_roles(CIT, HOT, REV)]) -> Any:
    return await run_in_threadpool(appeals.get, app, user, appeal_id)


@router.post("/appeals/{appeal_id}/decision", summary="Override (reason + end date) or reject (reason)")
async def decide_appeal(appeal_id: int, body: AppealDecisionIn, app: AppDep, user: Reviewer) -> Any:
    until: date | None = body.until
    return await run_in_threadpool(
        lambda: appeals.decide_appeal(
            app, user, appeal_id, AppealState(body.outcome), body.reason, until=until
        )
    )
