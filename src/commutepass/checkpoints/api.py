"""Offline checkpoints over HTTP: a checkpoint device signs in as an officer to fetch its signed
snapshot and to send its swipes (both audited; each swipe recorded once by its id)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, StrictBool

from commutepass.checkpoints import service
from commutepass.kit.gates import AppDep, Officer
from commutepass.kit.schemas import Moment

router = APIRouter(prefix="/v1", tags=["credentials"])


class SwipeIn(BaseModel):
    swipe_id: uuid.UUID
    id_number: str
    at: Moment
    site: str = Field(min_length=1, max_length=64)
    mode: Literal["road", "rail", "air"]
    smartphone: StrictBool = True
    decision: (
        Literal["allow", "allow_report", "allow_quarantine", "documents", "allow_pledge", "refuse"] | None
    ) = Field(None, description="Set when the checkpoint decided offline; empty: decide now")
    policy_version: str | None = Field(None, max_length=32)
    reasons: list[str] = Field(default_factory=list, max_length=64)


class SwipesIn(BaseModel):
    checkpoint: str = Field(min_length=1, max_length=64)
    swipes: list[SwipeIn] = Field(max_length=500)


@router.get("/checkpoint/snapshot", summary="The signed offline snapshot and its key (audited)")
async def snapshot(app: AppDep, user: Officer, at: Moment | None = None) -> dict[str, Any]:
    return await run_in_threadpool(service.hand_out_snapshot, app, user, app.moment(at))


@router.post("/checkpoint/swipes", summary="Swipes from a checkpoint, each recorded once by its id")
async def swipes(
    body: SwipesIn,
    app: AppDep,
    user: Officer,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            description="The checkpoint client sends one per batch; each swipe is recorded once by its "
            "``swipe_id`` whatever the key, so a batch sent again is answered again and stored once",
        ),
    ] = None,
) -> dict[str, Any]:
    """Each swipe is recorded once by its ``swipe_id``: an upload retried after a 503 or a lost
    answer stores nothing twice (``Idempotency-Key`` is accepted for uniformity with ``/v1/checks``)."""
    del idempotency_key  # the swipe ids carry the guarantee
    received = [
        service.make_swipe(item.model_dump(mode="python"), app.moment(item.at)) for item in body.swipes
    ]
    results = await run_in_threadpool(service.receive_all, app, body.checkpoint, received, user)
    return {"results": results}
