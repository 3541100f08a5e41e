"""Job runs over HTTP, for admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from commutepass.jobs import runner
from commutepass.kit.gates import Admin, AppDep

router = APIRouter(prefix="/v1", tags=["operations"])


@router.get("/jobs", summary="Recent scheduled job runs")
def jobs(app: AppDep, user: Admin, limit: int = Query(200, ge=1, le=1000)) -> list[dict[str, Any]]:
    """Each run: job, slot, start, end, duration, outcome (ok, failed, busy, running) and host."""
    return runner.runs(app, limit)
