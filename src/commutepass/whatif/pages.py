"""The admin's what-if pages: replay a draft version on a window, then read the report (charts,
transitions, the people it hits, side-by-side cases) and download the full diff."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from commutepass.domain.clock import parse_date
from commutepass.domain.errors import InputError
from commutepass.kit.context import App
from commutepass.kit.gates import Admin, AppDep
from commutepass.kit.i18n import lang_of, translator
from commutepass.kit.render import error_of, page
from commutepass.kit.sessions import User
from commutepass.store import policy_store
from commutepass.whatif import charts, service

router = APIRouter(include_in_schema=False)


def _form_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    with app.engine.connect() as conn:
        versions = [v.version for v in policy_store.all_versions(conn)]
    defaults: dict[str, Any] = {"error": None, "form": {}}
    return page(
        request,
        "whatif.html",
        status_code,
        user=user,
        versions=versions,
        runs=service.recent_runs(app),
        **{**defaults, **context},
    )


@router.get("/admin/whatif")
async def whatif_form(
    request: Request, app: AppDep, user: Admin, version: Annotated[str, Query()] = ""
) -> Response:
    form = {"version": version, "from": "", "to": "", "against": "", "engine": "local"}
    return await run_in_threadpool(_form_page, request, app, user, form=form)


@router.post("/admin/whatif")
async def whatif_run(
    request: Request,
    app: AppDep,
    user: Admin,
    version: Annotated[str, Form()] = "",
    first: Annotated[str, Form(alias="from")] = "",
    last: Annotated[str, Form(alias="to")] = "",
    against: Annotated[str, Form()] = "",
    engine: Annotated[str, Form()] = "local",
) -> Response:
    form = {"version": version, "from": first, "to": last, "against": against, "engine": engine}
    try:
        start, end = parse_date(first, "from"), parse_date(last, "to")
        run_id = await run_in_threadpool(
            service.run_draft, app, user, version.strip(), start, end, against.strip() or None, engine
        )
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(_form_page, request, app, user, 422, error=error, form=form)
    return RedirectResponse(f"/admin/whatif/runs/{run_id}", status_code=303)


def _report_page(request: Request, app: App, user: User, run_id: str) -> Response:
    try:
        report = service.run_report(app, run_id)
    except InputError as exc:
        return _form_page(request, app, user, 404, error=error_of(exc, lang_of(request)))
    t = translator(lang_of(request))
    figures = {
        "day": charts.by_day(report, t),
        "transitions": charts.transitions(report, t),
        "prefecture": charts.by_dimension(report, "home_prefecture", t("whatif.chart_prefecture"), t),
        "checkpoint": charts.by_dimension(report, "checkpoint", t("whatif.chart_checkpoint"), t),
    }
    return page(request, "whatif_report.html", user=user, run_id=run_id, report=report, charts=figures)


@router.get("/admin/whatif/runs/{run_id}")
async def whatif_report(request: Request, app: AppDep, user: Admin, run_id: str) -> Response:
    return await run_in_threadpool(_report_page, request, app, user, run_id)


@router.get("/admin/whatif/runs/{run_id}/{name}")
async def whatif_download(request: Request, app: AppDep, user: Admin, run_id: str, name: str) -> Response:
    try:
        path, media = service.run_file(app, run_id, name)
    except InputError as exc:
        return await run_in_threadpool(
            _form_page, request, app, user, 404, error=error_of(exc, lang_of(request))
        )
    return FileResponse(path, media_type=media, filename=f"whatif-{run_id}-{name}")
