"""The admin's view of scheduled work."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from commutepass.jobs import runner
from commutepass.kit.gates import Admin, AppDep
from commutepass.kit.render import page

router = APIRouter(include_in_schema=False)


@router.get("/admin/jobs")
async def admin_jobs(request: Request, app: AppDep, user: Admin) -> Response:
    runs = await run_in_threadpool(runner.runs, app, 200)
    return page(request, "admin_jobs.html", user=user, runs=runs)
