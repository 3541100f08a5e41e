"""Status and checkpoint checks over HTTP (thin: the use cases are ``checks.service``)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from commutepass.checks import service
from commutepass.checks.schemas import CheckOut, CheckRequestIn, StatusOut, StatusRequest
from commutepass.checks.writer import WriterDep, check_online_once
from commutepass.domain.decisions import Pledge
from commutepass.domain.roles import Role
from commutepass.kit.gates import AppDep, Officer, require_roles
from commutepass.kit.sessions import User

router = APIRouter(prefix="/v1", tags=["decisions"])


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
    # a few indexed reads and a pure decision: on the event loop (see ``check_online``)
    known_at = app.moment(body.known_at) if body.known_at is not None else None
    return _json(service.status_for(app, user, body.id_number, app.moment(body.at), body.reason, known_at))


@router.post("/checks", response_model=CheckOut, summary="A checkpoint check (recorded as a swipe)")
async def check(
    body: CheckRequestIn,
    app: AppDep,
    writer: WriterDep,
    user: Officer,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="A unique key per swipe (e.g. a UUID): a retry with the same key is answered "
            "again but recorded once (the answer then carries ``Idempotent-Replayed: true``)",
        ),
    ] = None,
) -> Any:
    """The officer sees the decision, the masked ID and what to check by hand — never the
    person's travel history (trip reasons are left out). The check is audited with the swipe.
    While the store is unreachable the answer is 503 with ``Retry-After``: nothing was recorded,
    and a retry with the same ``Idempotency-Key`` is safe."""
    request = service.CheckRequest(
        id_number=body.id_number,
        at=app.moment(body.at),
        site=body.site,
        mode=service.parse_mode(body.mode),
        smartphone=body.smartphone,
        companions=tuple(body.companions),
        lane=body.lane,
        pledge=Pledge(body.pledge.site.strip(), app.moment(body.pledge.sampled_at)) if body.pledge else None,
        known_at=app.moment(body.known_at) if body.known_at is not None else None,
    )
    # already shaped as CheckOut by the service (a test holds it to the schema): no re-validation
    view, new = await check_online_once(app, writer, user, request, idempotency_key)
    answer = _json(view)
    if idempotency_key is not None and not new:
        answer.headers["Idempotent-Replayed"] = "true"
    return answer


@router.get(
    "/pledges/positive",
    summary="Entries on a pledge whose result came back positive: the reviewer's cases (audited)",
)
async def pledge_cases(app: AppDep, user: Annotated[User, require_roles(Role.REVIEWER)]) -> Any:
    return await run_in_threadpool(service.pledge_cases, app, user)
