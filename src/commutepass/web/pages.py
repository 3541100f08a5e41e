"""Pages for citizens, checkpoint officers, admins and analysts. They call the same services as
the CLI and the API (with the same role gates); nothing here decides anything."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from commutepass.api.deps import AppDep, SwipesDep
from commutepass.api.roles import PUBLIC, require_roles
from commutepass.credentials.codes import PREFIX as CODE_PREFIX
from commutepass.credentials.qr import qr_svg_inline
from commutepass.domain.clock import BEIJING, parse_date
from commutepass.domain.errors import InputError
from commutepass.domain.policy import Decision
from commutepass.domain.reasons import headline
from commutepass.domain.roles import Role
from commutepass.services import audit, credentials, dashboard, decide, people, risk_areas
from commutepass.services.auth import User, add_family
from commutepass.services.context import App
from commutepass.web import charts
from commutepass.web.i18n import lang_of, translator
from commutepass.web.policy_table import policy_rows
from commutepass.web.render import error_of, page

router = APIRouter(include_in_schema=False)
Citizen = Annotated[User, require_roles(Role.CITIZEN)]
Officer = Annotated[User, require_roles(Role.OFFICER)]
Admin = Annotated[User, require_roles(Role.ADMIN)]
Analyst = Annotated[User, require_roles(Role.ANALYST, Role.ADMIN)]

SITE_COOKIE = "commutepass_site"
DEFAULT_SITE = "京哈高速白鹿收费站"
DASHBOARD_MAX_DAYS = 62


@router.get("/", dependencies=[PUBLIC])
async def home(request: Request) -> Response:
    return page(request, "home.html")


# --- citizen -----------------------------------------------------------------------------------


def _citizen_view(app: App, user: User, who: int, lang: str) -> dict[str, Any]:
    household = people.household(app, user)
    if not household:
        return {"household": [], "result": None}
    chosen = household[who if 0 <= who < len(household) else 0][0]
    with app.engine.connect() as conn:
        id_number = people.id_number_of(conn, app, chosen)
    now = app.now()
    result = people.status_for(app, user, id_number, now.astimezone(BEIJING), None)
    code = credentials.issue(app, id_number, now, "BJ")
    return {
        "household": household,
        "who": chosen,
        "result": result,
        "nat_seconds_left": _seconds_until(result.get("nat_valid_until"), now),
        "code": code,
        "qr": Markup(qr_svg_inline(code["code"], translator(lang)("status.qr_title"))),
    }


@router.get("/citizen")
async def citizen(request: Request, app: AppDep, user: Citizen, who: int = 0) -> Response:
    view = await run_in_threadpool(_citizen_view, app, user, who, lang_of(request))
    return page(request, "citizen.html", user=user, error=None, **view)


@router.post("/citizen/family")
async def citizen_family(
    request: Request, app: AppDep, user: Citizen, id_number: Annotated[str, Form()] = ""
) -> Response:
    try:
        await run_in_threadpool(add_family, app, user, id_number)
    except InputError as exc:
        view = await run_in_threadpool(_citizen_view, app, user, 0, lang_of(request))
        return page(request, "citizen.html", 422, user=user, error=error_of(exc, lang_of(request)), **view)
    household = await run_in_threadpool(people.household, app, user)
    return RedirectResponse(f"/citizen?who={len(household) - 1}", status_code=303)


def _seconds_until(iso: str | None, now: datetime) -> int | None:
    if not iso:
        return None
    return max(0, int((datetime.fromisoformat(iso) - now).total_seconds()))


# --- checkpoint console ------------------------------------------------------------------------


def _snapshot_state(app: App, user: User) -> dict[str, Any] | None:
    """The offline snapshot this officer's checkpoint took last: when, how old, and whether it is
    past the policy's limit (an offline checkpoint refuses a stale one)."""
    taken = audit.last_by(app, user.username, "checkpoint.snapshot")
    if taken is None:
        return None
    as_of = datetime.fromisoformat(str(taken["detail"]["as_of"]))
    now = app.now()
    limit = app.policies.in_force(now).offline.snapshot_max_age_hours
    age = max(0.0, (now - as_of).total_seconds() / 3600)
    return {"as_of": as_of.astimezone(BEIJING), "age_hours": age, "limit": limit, "stale": age > limit}


def _console(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    site = context.pop("site", None) or unquote(request.cookies.get(SITE_COOKIE, "")) or DEFAULT_SITE
    defaults: dict[str, Any] = {"result": None, "error": None, "mode": "road", "no_smartphone": False}
    snapshot = _snapshot_state(app, user)
    response = page(
        request,
        "checkpoint.html",
        status_code,
        user=user,
        site=site,
        snapshot=snapshot,
        **{**defaults, **context},
    )
    # cookies carry Latin-1 only: the site's name (Chinese) travels percent-encoded
    response.set_cookie(SITE_COOKIE, quote(site), max_age=365 * 86400, samesite="lax")
    return response


@router.get("/checkpoint")
async def checkpoint(request: Request, app: AppDep, user: Officer) -> Response:
    return await run_in_threadpool(_console, request, app, user)


@router.post("/checkpoint")
async def checkpoint_check(
    request: Request,
    app: AppDep,
    swipes: SwipesDep,
    user: Officer,
    q: Annotated[str, Form()] = "",
    site: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "road",
    no_smartphone: Annotated[str | None, Form()] = None,
    companions: Annotated[str, Form()] = "",
) -> Response:
    lang = lang_of(request)
    kept: dict[str, Any] = {
        "site": site.strip()[:64] or None,
        "mode": mode,
        "no_smartphone": bool(no_smartphone),
    }
    try:
        if not site.strip():
            raise InputError("site", "enter the checkpoint's name", "请填写检查站名称")
        if q.strip().startswith(CODE_PREFIX):
            verified = await run_in_threadpool(_verify_code, app, q.strip(), site.strip()[:64], mode)
            kept["no_smartphone"] = False
            return _console(request, app, user, result=verified, headline=_headline(verified), **kept)
        check = decide.CheckRequest(
            id_number=q.strip(),
            at=app.now().astimezone(BEIJING),
            site=site.strip()[:64],
            mode=decide.parse_mode(mode),
            smartphone=not no_smartphone,
            companions=tuple(companions.replace(",", " ").replace("，", " ").split()),
        )
        result, row, person = await run_in_threadpool(decide.decide_for_swipe, app, check, officer=True)
    except InputError as exc:
        return _console(
            request, app, user, 422, error=error_of(exc, lang), q=q, companions=companions, **kept
        )
    # recorded (and audited) exactly as a swipe through the API is, before the verdict shows
    await asyncio.wrap_future(swipes.submit(row, person, user.actor))
    # the site and the mode stay for the next swipe; the person's own options do not
    kept["no_smartphone"] = False
    return _console(request, app, user, result=result, headline=_headline(result), **kept)


def _headline(result: dict[str, Any]) -> dict[str, str]:
    title = headline(Decision(result["decision"]))
    return {"zh": title.zh, "en": title.en}


def _verify_code(app: App, code: str, site: str, mode: str) -> dict[str, Any]:
    """A scanned health code: verified against the trust list, then the policy applied to the
    status it carries. Not recorded as a swipe: the code names no person, only a pseudonym."""
    now = app.now().astimezone(BEIJING)
    result = credentials.verify(
        credentials.local_verifier(app), app.policies, code, now, site=site, mode=decide.parse_mode(mode)
    )
    result.setdefault("status_reasons", [])
    result.setdefault("to_check_by_hand", [])
    result["scanned"] = True
    return result


# --- admin -------------------------------------------------------------------------------------


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


@router.get("/admin/policies")
async def admin_policies(request: Request, app: AppDep, user: Admin) -> Response:
    book = app.policies
    versions = [(p, book.effective_to(p)) for p in book.policies]
    return page(request, "admin_policies.html", user=user, versions=versions, rows=policy_rows(book.policies))


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
