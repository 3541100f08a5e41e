"""Signed codes and the trust list over HTTP.

Who may call what: a citizen gets a code for themself or a family member they added, a reviewer
for anyone (audited); an officer verifies codes; a reviewer or an admin revokes; a checkpoint
device signs in as an officer to fetch its snapshot and send its swipes (both audited). The trust
list, the revocation list and the anchor are public: other regions verify with them, and they
hold only public keys and hashes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from commutepass.checks.schemas import CheckOut
from commutepass.checks.writer import WriterDep
from commutepass.credentials import service
from commutepass.domain.decisions import Mode
from commutepass.domain.roles import Role
from commutepass.kit.gates import PUBLIC, AppDep, Citizen, Officer, require_roles
from commutepass.kit.schemas import Bilingual, Moment, ReasonOut
from commutepass.kit.sessions import User

router = APIRouter(prefix="/v1", tags=["credentials"])


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
    mode: Literal["road", "rail", "air"] = "road"


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
    warnings: list[ReasonOut] = Field([], description="The verifier's lists near or past their expiry")


class HcertTestOut(BaseModel):
    sampled_at: datetime
    result: str
    test_type: str
    naat: bool
    country: str
    issuer: str
    certificate_id: str


class HcertOut(BaseModel):
    issuer: str
    kinds: list[str]
    holder: dict[str, str]
    test: HcertTestOut | None
    counts_as_nat: bool = Field(description="Whether the policy lets this test count as the entry NAT")
    kid: str
    issued_at: datetime
    expires_at: datetime
    hash: str


class ValidHcertOut(BaseModel):
    """An EU Digital COVID Certificate (``HC1:``): its test shown, counted as a NAT only where the
    policy accepts its issuer; it carries no health code, so the officer checks one by hand."""

    valid: Literal[True]
    decision: Literal["allow", "allow_report", "allow_quarantine", "documents", "refuse"]
    at: datetime
    site: str
    mode: Literal["road", "rail"]
    policy_version: str
    reasons: list[ReasonOut]
    status_reasons: list[ReasonOut]
    to_check_by_hand: list[ReasonOut]
    explanation: Bilingual
    hcert: HcertOut
    warnings: list[ReasonOut] = []


class InvalidCodeOut(BaseModel):
    valid: Literal[False]
    decision: Literal["refuse", "documents"] = Field(
        description="refuse: the code is refused; documents: this verifier's lists are past their expiry"
    )
    at: datetime
    reason: ReasonOut
    reasons: list[ReasonOut]
    explanation: Bilingual


class RevokeIn(BaseModel):
    code: str = Field(description="The code string or its hash (64 hex)", max_length=8000)
    reason: str = Field("", max_length=500)


@router.post("/codes", response_model=IssueOut, summary="Issue a signed code for a person's status")
async def issue(
    body: IssueIn, app: AppDep, user: Annotated[User, require_roles(Role.CITIZEN, Role.REVIEWER)]
) -> Any:
    """A citizen for themself or a family member they added (others: 403); a reviewer for
    anyone. A code of someone else's status is audited like a status look-up."""
    return await run_in_threadpool(
        lambda: service.issue(
            app,
            user,
            body.id_number,
            app.moment(body.at),
            body.region,
            lifetime=timedelta(hours=body.hours),
            name=body.name,
            reason=body.reason,
        )
    )


@router.post(
    "/codes/verify",
    response_model=ValidCodeOut | ValidHcertOut | InvalidCodeOut,
    summary="Verify a code and decide as at a checkpoint",
)
async def verify(body: VerifyIn, app: AppDep, writer: WriterDep, user: Officer) -> Any:
    """A valid code is a check: recorded (without a person: the code names a pseudonym only)
    and audited like one at ``/v1/checks``, and answered as the officer may see it."""
    return await service.verify_online(
        app, writer, user, body.code, app.moment(body.at), body.site, Mode(body.mode)
    )


@router.post("/codes/revocations", summary="Revoke a code (audited)")
async def revoke(
    body: RevokeIn, app: AppDep, user: Annotated[User, require_roles(Role.REVIEWER, Role.ADMIN)]
) -> dict[str, Any]:
    return await run_in_threadpool(lambda: service.revoke(app, body.code, body.reason, actor=user.actor))


class ResultUseOut(BaseModel):
    rule: Literal["entry", "commuter", "red"]
    until: datetime
    in_force: bool
    zh: str
    en: str


class ResultOut(BaseModel):
    sampled_at: datetime
    reported_at: datetime
    lab: str
    result: Literal["negative", "positive"]
    uses: list[ResultUseOut]


class PersonResultsOut(BaseModel):
    person: str
    self: bool
    results: list[ResultOut]


@router.get(
    "/me/results",
    response_model=list[PersonResultsOut],
    summary="My test results: for me and my family, which rule each satisfies and until when",
)
async def my_results(app: AppDep, user: Citizen) -> Any:
    return await run_in_threadpool(service.test_results, app, user)


@router.get("/trust", summary="The signed trust list", dependencies=[PUBLIC])
async def trust(app: AppDep) -> dict[str, Any]:
    return service.trust_document(app)


@router.get("/trust/revocations", summary="The signed revocation list", dependencies=[PUBLIC])
async def revocations(app: AppDep) -> dict[str, Any]:
    return service.revocation_document(app)


@router.get(
    "/trust/revocations/filter",
    summary="The signed revocation filter, whole or since a version (binary COSE_Sign1)",
    dependencies=[PUBLIC],
    response_class=Response,
    responses={200: {"content": {"application/cose": {}}}},
)
async def revocation_filter(
    app: AppDep, since: Annotated[int, Query(ge=0, description="The version the caller holds (0: all)")] = 0
) -> Response:
    """64-bit prefixes of the revoked codes' hashes added after version ``since``; the headers
    say the version, the count and the false-positive rate (docs/credentials.md)."""
    signed, described = await run_in_threadpool(service.revocation_filter, app, since)
    headers = {
        "X-Revocations-Version": str(described["version"]),
        "X-Revocations-Since": str(described["since"]),
        "X-Revocations-Count": str(described["count"]),
        "X-Revocations-Added": str(described["added"]),
    }
    return Response(signed, media_type="application/cose", headers=headers)


@router.get(
    "/trust/anchor",
    response_class=PlainTextResponse,
    summary="The trust-list key (PEM) to pin",
    dependencies=[PUBLIC],
)
async def anchor(app: AppDep) -> str:
    return service.anchor_pem(app)
