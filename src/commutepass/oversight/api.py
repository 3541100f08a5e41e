"""Audit, retention and aggregates: admin and analyst endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from commutepass.domain.roles import Role
from commutepass.kit import audit
from commutepass.kit.gates import PUBLIC, AppDep, require_roles
from commutepass.kit.sessions import User
from commutepass.oversight import anchor, retention, stats

router = APIRouter(prefix="/v1", tags=["oversight"])
Admin = Annotated[User, require_roles(Role.ADMIN)]


@router.get("/audit", summary="The newest audit entries")
async def audit_entries(app: AppDep, _user: Admin, limit: int = Query(200, ge=1, le=5000)) -> Any:
    return await run_in_threadpool(lambda: audit.recent(app, limit=limit))


@router.get("/audit/verify", summary="Check the hash chain: edited, inserted or deleted entries")
async def audit_verify(app: AppDep, _user: Admin) -> Any:
    return (await run_in_threadpool(audit.verify, app)).as_dict()


@router.get(
    "/audit/anchor",
    summary="The audit head, signed with the trust-list key: keep copies outside (audit verify --anchor)",
    dependencies=[PUBLIC],
)
async def audit_anchor(app: AppDep) -> Any:
    return await run_in_threadpool(anchor.anchor, app)


@router.post("/retention/run", summary="Delete travel, itinerary and swipe rows past the retention period")
async def retention_run(app: AppDep, user: Admin) -> Any:
    return await run_in_threadpool(lambda: retention.run(app, actor=user.actor))


@router.get("/stats", summary="Aggregates only: commuters, applications, checks, appeal response times")
async def overview(app: AppDep, _user: Annotated[User, require_roles(Role.ANALYST, Role.ADMIN)]) -> Any:
    return await run_in_threadpool(stats.overview, app)
