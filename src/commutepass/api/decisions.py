"""Status and checkpoint checks."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter
from fastapi.responses import Response

from commutepass.api.deps import AppDep, SwipesDep
from commutepass.api.roles import require_roles
from commutepass.api.schemas import CheckOut, CheckRequestIn, StatusOut, StatusRequest
from commutepass.domain.clock import BEIJING
from commutepass.domain.roles import Role
from commutepass.services import decide, people
from commutepass.services.auth import User
from commutepass.services.context import App

router = APIRouter(prefix="/v1", tags=["decisions"])


def _moment(app: App, value: datetime | None) -> datetime:
    if value is None:
        return app.now().astimezone(BEIJING)
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def _json(body: dict[str, Any]) -> Response:
    """The service's answer, already shaped as the declared model, serialised once (orjson)."""
    return Response(orjson.dumps(body), media_type="application/json")


@router.post("/status", response_model=StatusOut, summary="A person's health-code status")
async def status(
    body: StatusRequest,
    app: AppDep,
    user: Annotated[User, require_roles(Role.CITIZEN, Role.HOTLINE, Role.REVIEWER)],
) -> Any:
    """Colour, pop-up and commuter badge at a time, with reasons and the remedy. A citizen asks
    for themself or a family member they added; a hotline operator must give a ``reason``; every
    look-up of someone else's data is audited.

    The ID number travels in the body, never in the URL (URLs end up in logs)."""
    # a status is a few indexed reads and a pure decision (well under a millisecond): it runs on
    # the event loop, where threads would only contend for the GIL; worker processes give the
    # parallelism (serve --workers N)
    return _json(people.status_for(app, user, body.id_number, _moment(app, body.at), body.reason))


@router.post("/checks", response_model=CheckOut, summary="A checkpoint check (recorded as a swipe)")
async def check(
    body: CheckRequestIn,
    app: AppDep,
    swipes: SwipesDep,
    user: Annotated[User, require_roles(Role.OFFICER)],
) -> Any:
    """The officer sees the decision, the masked ID and what to check by hand — never the
    person's travel history (trip reasons are left out). The check is audited with the swipe."""
    request = decide.CheckRequest(
        id_number=body.id_number,
        at=_moment(app, body.at),
        site=body.site,
        mode=decide.parse_mode(body.mode),
        smartphone=body.smartphone,
        companions=tuple(body.companions),
    )
    answer, row, person = decide.decide_for_swipe(app, request, officer=True)
    # the answer goes out once the swipe is stored; meanwhile this worker decides other checks,
    # whose swipes the writer commits in the same transaction
    await asyncio.wrap_future(swipes.submit(row, person, user.actor))
    # already shaped as CheckOut by the service (a test holds it to the schema): no re-validation
    return _json(answer)
