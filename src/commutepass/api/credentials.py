"""Signed codes, the trust list and offline checkpoints over HTTP.

Who may call what: a citizen gets a code for themself or a family member they added, a reviewer
for anyone (audited); an officer verifies codes; a reviewer or an admin revokes; a checkpoint
device signs in as an officer to fetch its snapshot and send its swipes (both audited). The trust
list, the revocation list and the anchor are public: other regions verify with them, and they
hold only public keys and hashes."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from commutepass.api.deps import AppDep
from commutepass.api.roles import PUBLIC, require_roles
from commutepass.api.schemas import Bilingual, CheckOut, Moment, ReasonOut
from commutepass.domain.clock import BEIJING
from commutepass.domain.decisions import Mode
from commutepass.domain.roles import Role
from commutepass.services import checkpoints
from commutepass.services import credentials as service
from commutepass.services.auth import User
from commutepass.services.context import App

router = APIRouter(prefix="/v1", tags=["credentials"])
Officer = Annotated[User, require_roles(Role.OFFICER)]


def _moment(app: App, value: datetime | None) -> datetime:
    if value is None:
        return app.now().astimezone(BEIJING)
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


class IssueIn(BaseModel):
    id_number: str
    at: Moment | None = None
    region: Literal["BJ", "TJ", "HE"] = "BJ"
    hours: float = Field(6.0, gt=0, le=24)
    name: str | None = Field(None, max_length=40)
    reason: str | None = Field(
        None, max_length=1000, description="Why staff issue a code for this person (audited)"
    )


class IssueOut(BaseModel):
    id: str
    region: str
    kid: str
    issued_at: datetime
    expires_at: datetime
    hash: str
    code: str


class VerifyIn(BaseModel):
    code: str = Field(max_length=8000)
    at: Moment | None = None
    site: str = Field(service.CODE_SITE, min_length=1, max_length=64)
    mode: Literal["road", "rail"] = "road"


class HolderOut(BaseModel):
    masked_id: str
    birth_year: int
    masked_name: str | None


class CredentialOut(BaseModel):
    region: str
    kid: str
    issued_at: datetime
    expires_at: datetime
    policy_version: str
    subject: str
    holder: HolderOut
    hash: str


class ValidCodeOut(CheckOut):
    valid: Literal[True]
    credential: CredentialOut


class InvalidCodeOut(BaseModel):
    valid: Literal[False]
    decision: Literal["refuse"]
    at: datetime
    reason: ReasonOut
    reasons: list[ReasonOut]
    explanation: Bilingual


class RevokeIn(BaseModel):
    code: str = Field(description="The code string or its hash (64 hex)", max_length=8000)
    reason: str = Field("", max_length=500)


class SwipeIn(BaseModel):
    swipe_id: uuid.UUID
    id_number: str
    at: Moment
    site: str = Field(min_length=1, max_length=64)
    mode: Literal["road", "rail"]
    smartphone: bool = True
    decision: Literal["allow", "allow_report", "allow_quarantine", "documents", "refuse"] | None = Field(
        None, description="Set when the checkpoint decided offline; empty: decide now"
    )
    policy_version: str | None = Field(None, max_length=32)
    reasons: list[str] = Field(default_factory=list, max_length=64)


class SwipesIn(BaseModel):
    checkpoint: str = Field(min_length=1, max_length=64)
    swipes: list[SwipeIn] = Field(max_length=500)


@router.post("/codes", response_model=IssueOut, summary="Issue a signed code for a person's status")
async def issue(
    body: IssueIn, app: AppDep, user: Annotated[User, require_roles(Role.CITIZEN, Role.REVIEWER)]
) -> Any:
    """A citizen for themself or a family member they added (others: 403); a reviewer for
    anyone. A code of someone else's status is audited like a status look-up."""
    return await run_in_threadpool(
        lambda: service.issue_for(
            app,
            user,
            body.id_number,
            _moment(app, body.at),
            body.region,
            lifetime=timedelta(hours=body.hours),
            name=body.name,
            reason=body.reason,
        )
    )


@router.post(
    "/codes/verify",
    response_model=ValidCodeOut | InvalidCodeOut,
    summary="Verify a code and decide as at a checkpoint",
)
async def verify(body: VerifyIn, app: AppDep, _user: Officer) -> Any:
    checker = service.local_verifier(app)
    return service.verify(
        checker, app.policies, body.code, _moment(app, body.at), site=body.site, mode=Mode(body.mode)
    )


@router.post("/codes/revocations", summary="Revoke a code (audited)")
async def revoke(
    body: RevokeIn, app: AppDep, user: Annotated[User, require_roles(Role.REVIEWER, Role.ADMIN)]
) -> dict[str, Any]:
    return await run_in_threadpool(lambda: service.revoke(app, body.code, body.reason, actor=user.actor))


@router.get("/trust", summary="The signed trust list", dependencies=[PUBLIC])
async def trust(app: AppDep) -> dict[str, Any]:
    return service.trust_document(app)


@router.get("/trust/revocations", summary="The signed revocation list", dependencies=[PUBLIC])
async def revocations(app: AppDep) -> dict[str, Any]:
    return service.revocation_document(app)


@router.get(
    "/trust/anchor",
    response_class=PlainTextResponse,
    summary="The trust-list key (PEM) to pin",
    dependencies=[PUBLIC],
)
async def anchor(app: AppDep) -> str:
    return service.anchor_pem(app)


@router.get("/checkpoint/snapshot", summary="The signed offline snapshot and its key (audited)")
async def snapshot(app: AppDep, user: Officer, at: Moment | None = None) -> dict[str, Any]:
    return await run_in_threadpool(service.hand_out_snapshot, app, user.actor, _moment(app, at))


@router.post("/checkpoint/swipes", summary="Swipes from a checkpoint, each recorded once by its id")
async def swipes(body: SwipesIn, app: AppDep, user: Officer) -> dict[str, Any]:
    received = [
        checkpoints.make_swipe(item.model_dump(mode="python"), _moment(app, item.at)) for item in body.swipes
    ]
    results = await run_in_threadpool(checkpoints.receive_all, app, body.checkpoint, received, user.actor)
    return {"results": results}
