"""Pages for admins (risk areas, policy versions) and analysts (aggregates only)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from commutepass.appeals import service as appeals
from commutepass.applications import service as applications
from commutepass.domain.clock import BEIJING, parse_date, parse_time
from commutepass.domain.errors import InputError
from commutepass.domain.policy_authoring import PolicyUploadError
from commutepass.kit.context import App
from commutepass.kit.gates import Admin, Analyst, AppDep, Reviewer
from commutepass.kit.i18n import lang_of, translator
from commutepass.kit.render import error_of, page
from commutepass.kit.sessions import User
from commutepass.oversight import charts, dashboard, policy_versions, risk_areas
from commutepass.oversight.policy_table import policy_rows

router = APIRouter(include_in_schema=False)
DASHBOARD_MAX_DAYS = 62


def _risk_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    today = app.now().astimezone(BEIJING).date()
    areas = risk_areas.list_risk_areas(app)
    defaults: dict[str, Any] = {"error": None, "form": {}}
    return page(
        request,
        "admin_risk.html",
        status_code,
        user=user,
        areas=areas,
        today=today,
        **{**defaults, **context},
    )


@router.get("/admin/risk")
async def admin_risk(request: Request, app: AppDep, user: Admin) -> Response:
    return await run_in_threadpool(_risk_page, request, app, user)


@router.post("/admin/risk")
async def admin_risk_add(
    request: Request,
    app: AppDep,
    user: Admin,
    county: Annotated[str, Form()] = "",
    level: Annotated[str, Form()] = "case",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
) -> Response:
    form = {"county": county, "level": level, "start": start, "end": end}
    try:
        first = parse_date(start, "start")
        last = parse_date(end, "end") if end.strip() else None
        await run_in_threadpool(risk_areas.add_risk_area, app, county, level, first, last, user.username)
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(_risk_page, request, app, user, 422, error=error, form=form)
    return RedirectResponse("/admin/risk", status_code=303)


@router.post("/admin/risk/{period_id}/end")
async def admin_risk_end(
    request: Request, app: AppDep, user: Admin, period_id: int, end: Annotated[str, Form()] = ""
) -> Response:
    try:
        last = parse_date(end, "end")
        await run_in_threadpool(risk_areas.end_risk_area, app, period_id, last, user.username)
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(_risk_page, request, app, user, 422, error=error)
    return RedirectResponse("/admin/risk", status_code=303)


def _policies_page(
    request: Request, app: App, user: User, status_code: int = 200, **context: Any
) -> Response:
    book = app.policies
    versions = [(p, book.effective_to(p)) for p in book.policies]
    lifecycle = policy_versions.versions(app)
    defaults: dict[str, Any] = {"error": None, "problems": [], "form": {}, "diff": None}
    return page(
        request,
        "admin_policies.html",
        status_code,
        user=user,
        versions=versions,
        rows=policy_rows(book.policies),
        lifecycle=lifecycle,
        **{**defaults, **context},
    )


@router.get("/admin/policies")
async def admin_policies(
    request: Request, app: AppDep, user: Admin, diff: Annotated[str | None, Query()] = None
) -> Response:
    shown = None
    if diff:
        try:
            shown = await run_in_threadpool(policy_versions.diff, app, diff)
        except InputError as exc:
            error = error_of(exc, lang_of(request))
            return await run_in_threadpool(_policies_page, request, app, user, 404, error=error)
    return await run_in_threadpool(_policies_page, request, app, user, diff=shown)


@router.post("/admin/policies")
async def admin_policies_upload(
    request: Request, app: AppDep, user: Admin, toml: Annotated[str, Form()] = ""
) -> Response:
    lang = lang_of(request)
    try:
        drafted = await run_in_threadpool(policy_versions.upload, app, user.actor, toml)
    except PolicyUploadError as exc:
        problems = [p.as_dict() for p in exc.problems]
        return await run_in_threadpool(
            _policies_page,
            request,
            app,
            user,
            422,
            error=error_of(exc, lang),
            problems=problems,
            form={"toml": toml},
        )
    except InputError as exc:
        error = error_of(exc, lang)
        return await run_in_threadpool(
            _policies_page, request, app, user, 422, error=error, form={"toml": toml}
        )
    return RedirectResponse(f"/admin/policies?diff={drafted['version']}", status_code=303)


@router.post("/admin/policies/{version}/{action}")
async def admin_policies_step(
    request: Request,
    app: AppDep,
    user: Admin,
    version: str,
    action: str,
    reason: Annotated[str, Form()] = "",
    effective_from: Annotated[str, Form()] = "",
) -> Response:
    try:
        if action == "schedule":
            at = parse_time(effective_from, "effective_from") if effective_from.strip() else None
            await run_in_threadpool(policy_versions.schedule, app, user.actor, version, at)
        elif action == "withdraw":
            await run_in_threadpool(policy_versions.withdraw, app, user.actor, version, reason)
        elif action == "discard":
            await run_in_threadpool(policy_versions.discard, app, user.actor, version)
        else:
            raise InputError("action", "choose schedule, withdraw or discard", "请选择排期、撤回或放弃")
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        problems = [p.as_dict() for p in exc.problems] if isinstance(exc, PolicyUploadError) else []
        return await run_in_threadpool(
            _policies_page, request, app, user, 422, error=error, problems=problems
        )
    return RedirectResponse("/admin/policies", status_code=303)


# --- analyst -----------------------------------------------------------------------------------


@router.get("/analyst")
async def analyst(
    request: Request,
    app: AppDep,
    user: Analyst,
    day: Annotated[str | None, Query()] = None,
    days: Annotated[int, Query(ge=1, le=DASHBOARD_MAX_DAYS)] = 28,
) -> Response:
    lang = lang_of(request)
    try:
        if day:
            chosen = parse_date(day, "day")
        else:
            now = app.now()
            latest = await run_in_threadpool(dashboard.latest_day, app, now)
            chosen = latest or now.astimezone(BEIJING).date()
    except InputError as exc:
        return page(request, "analyst.html", 422, user=user, error=error_of(exc, lang), day="", days=days)
    first = chosen - timedelta(days=days - 1)
    data = await run_in_threadpool(_dashboard_data, app, chosen, first, lang)
    return page(request, "analyst.html", user=user, error=None, day=chosen.isoformat(), days=days, **data)


def _dashboard_data(app: App, day: date, first: date, lang: str) -> dict[str, Any]:
    t = translator(lang)
    sites = dashboard.entries_per_site(app, day)
    holders = dashboard.badge_holders(app, first, day)
    refusals = dashboard.refusals_by_reason(app, first, day)
    return {
        "first": first.isoformat(),
        "totals": dashboard.totals(app, first, day),
        "sites": sites,
        "holders": holders,
        "refusals": refusals,
        "refusal_labels": {r.code: charts.reason_label(r.code, lang) for r in refusals},
        "entries_chart": charts.entries_chart(sites, t("analyst.entries")),
        "holders_chart": charts.holders_chart(holders, t("analyst.daily"), t("analyst.weekly")),
        "refusals_chart": charts.refusals_chart(refusals, lang),
    }


@router.get("/reviewer")
async def reviewer(request: Request, app: AppDep, user: Reviewer) -> Response:
    def load() -> dict[str, Any]:
        return {
            "applications": applications.queue(app),
            "appeals": appeals.queue(app),
            "times": appeals.response_times(app),
        }

    return page(request, "reviewer.html", user=user, **await run_in_threadpool(load))
