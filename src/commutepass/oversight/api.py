"""Audit, retention and aggregates: admin and analyst endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from commutepass.domain.policy_authoring import PolicyUploadError
from commutepass.domain.roles import Role
from commutepass.kit import audit
from commutepass.kit.gates import AppDep, require_roles
from commutepass.kit.problems import problem
from commutepass.kit.schemas import Moment
from commutepass.kit.sessions import User
from commutepass.oversight import policy_versions, retention, stats

router = APIRouter(prefix="/v1", tags=["oversight"])
Admin = Annotated[User, require_roles(Role.ADMIN)]


@router.get("/audit", summary="The newest audit entries")
async def audit_entries(app: AppDep, _user: Admin, limit: int = Query(200, ge=1, le=5000)) -> Any:
    return await run_in_threadpool(lambda: audit.recent(app, limit=limit))


@router.get("/audit/verify", summary="Check the hash chain: edited, inserted or deleted entries")
async def audit_verify(app: AppDep, _user: Admin) -> Any:
    return (await run_in_threadpool(audit.verify, app)).as_dict()


@router.post("/retention/run", summary="Delete travel, itinerary and swipe rows past the retention period")
async def retention_run(app: AppDep, user: Admin) -> Any:
    return await run_in_threadpool(lambda: retention.run(app, actor=user.actor))


@router.get("/stats", summary="Aggregates only: commuters, applications, checks, appeal response times")
async def overview(app: AppDep, _user: Annotated[User, require_roles(Role.ANALYST, Role.ADMIN)]) -> Any:
    return await run_in_threadpool(stats.overview, app)


# --- the policy lifecycle ----------------------------------------------------------------------


class PolicyUploadIn(BaseModel):
    toml: str = Field(
        min_length=1, max_length=policy_versions.MAX_BYTES, description="The version's TOML text"
    )


class PolicyScheduleIn(BaseModel):
    effective_from: Moment | None = Field(None, description="Default: the time the version's file names")


class PolicyWithdrawIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def _upload_problem(exc: PolicyUploadError) -> JSONResponse:
    return problem(
        422,
        "Invalid policy",
        f"{exc.field}: {exc.en}",
        field=exc.field,
        detail_zh=exc.zh,
        problems=[p.as_dict() for p in exc.problems],
    )


@router.get(
    "/policies/versions",
    summary="Every policy version with its state (draft, scheduled, in force, superseded, withdrawn)",
)
async def policy_list(app: AppDep, _user: Admin) -> Any:
    return await run_in_threadpool(policy_versions.versions, app)


@router.post(
    "/policies", status_code=201, summary="Upload a version (a draft): every error with its line and field"
)
async def policy_upload(body: PolicyUploadIn, app: AppDep, user: Admin) -> Any:
    try:
        return await run_in_threadpool(policy_versions.upload, app, user.actor, body.toml)
    except PolicyUploadError as exc:
        return _upload_problem(exc)


@router.get("/policies/{version}/diff", summary="What a version changes against the version in force")
async def policy_diff(version: str, app: AppDep, _user: Admin) -> Any:
    return await run_in_threadpool(policy_versions.diff, app, version)


@router.post("/policies/{version}/schedule", summary="Schedule a draft to take effect")
async def policy_schedule(version: str, body: PolicyScheduleIn, app: AppDep, user: Admin) -> Any:
    at = app.moment(body.effective_from) if body.effective_from is not None else None
    try:
        return await run_in_threadpool(policy_versions.schedule, app, user.actor, version, at)
    except PolicyUploadError as exc:
        return _upload_problem(exc)


@router.post("/policies/{version}/withdraw", summary="Withdraw a scheduled version before it takes effect")
async def policy_withdraw(version: str, body: PolicyWithdrawIn, app: AppDep, user: Admin) -> Any:
    return await run_in_threadpool(policy_versions.withdraw, app, user.actor, version, body.reason)


@router.post("/policies/{version}/discard", summary="Discard a draft")
async def policy_discard(version: str, app: AppDep, user: Admin) -> Any:
    return await run_in_threadpool(policy_versions.discard, app, user.actor, version)
