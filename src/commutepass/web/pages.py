"""Server-rendered pages for each role. They call the same services as the CLI and the API;
nothing here decides anything."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from commutepass.api.deps import AppDep
from commutepass.credentials.codes import PREFIX as CODE_PREFIX
from commutepass.credentials.qr import qr_svg_inline
from commutepass.domain.clock import BEIJING, parse_date
from commutepass.domain.errors import InputError
from commutepass.domain.policy import Decision
from commutepass.domain.reasons import headline
from commutepass.services import credentials, dashboard, decide, risk_areas
from commutepass.services.context import App
from commutepass.web import charts
from commutepass.web.i18n import LANG_COOKIE, LANGS, lang_of, translator
from commutepass.web.policy_table import policy_rows

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

SITE_COOKIE = "commutepass_site"
DEFAULT_SITE = "京哈高速白鹿收费站"
DASHBOARD_MAX_DAYS = 62


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"lang": lang, "t": translator(lang), "path": request.url.path, **context},
        status_code=status_code,
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


def error_of(exc: InputError, lang: str) -> dict[str, str]:
    return {"field": exc.field, "message": exc.zh if lang == "zh" else exc.en}


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return page(request, "home.html")


# --- citizen -----------------------------------------------------------------------------------


@router.get("/citizen", response_class=HTMLResponse)
async def citizen(request: Request) -> Response:
    return page(request, "citizen.html", result=None, error=None, id_number="")


@router.post("/citizen", response_class=HTMLResponse)
async def citizen_status(request: Request, app: AppDep, id_number: Annotated[str, Form()] = "") -> Response:
    now = app.now()
    try:
        result = await run_in_threadpool(decide.status_of, app, id_number, now.astimezone(BEIJING))
    except InputError as exc:
        return page(
            request,
            "citizen.html",
            422,
            result=None,
            error=error_of(exc, lang_of(request)),
            id_number=id_number,
        )
    code = await run_in_threadpool(credentials.issue, app, id_number, now, "BJ")
    t = translator(lang_of(request))
    return page(
        request,
        "citizen.html",
        result=result,
        error=None,
        id_number="",
        nat_seconds_left=_seconds_until(result.get("nat_valid_until"), now),
        code=code,
        qr=Markup(qr_svg_inline(code["code"], t("status.qr_title"))),
    )


def _seconds_until(iso: str | None, now: datetime) -> int | None:
    if not iso:
        return None
    return max(0, int((datetime.fromisoformat(iso) - now).total_seconds()))


# --- checkpoint console ------------------------------------------------------------------------


def _console(request: Request, status_code: int = 200, **context: Any) -> Response:
    site = context.pop("site", None) or unquote(request.cookies.get(SITE_COOKIE, "")) or DEFAULT_SITE
    defaults: dict[str, Any] = {"result": None, "error": None, "mode": "road", "no_smartphone": False}
    response = page(request, "checkpoint.html", status_code, site=site, **{**defaults, **context})
    # cookies carry Latin-1 only: the site's name (Chinese) travels percent-encoded
    response.set_cookie(SITE_COOKIE, quote(site), max_age=365 * 86400, samesite="lax")
    return response


@router.get("/checkpoint", response_class=HTMLResponse)
async def checkpoint(request: Request) -> Response:
    return _console(request)


@router.post("/checkpoint", response_class=HTMLResponse)
async def checkpoint_check(
    request: Request,
    app: AppDep,
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
            return _console(request, result=verified, headline=_headline(verified), **kept)
        request_ = decide.CheckRequest(
            id_number=q.strip(),
            at=app.now().astimezone(BEIJING),
            site=site.strip()[:64],
            mode=decide.parse_mode(mode),
            smartphone=not no_smartphone,
            companions=tuple(companions.replace(",", " ").replace("，", " ").split()),
        )
        result = await run_in_threadpool(decide.check, app, request_)
    except InputError as exc:
        return _console(request, 422, error=error_of(exc, lang), q=q, companions=companions, **kept)
    # the site and the mode stay for the next swipe; the person's own options do not
    kept["no_smartphone"] = False
    return _console(request, result=result, headline=_headline(result), **kept)


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


def _risk_page(request: Request, app: App, status_code: int = 200, **context: Any) -> Response:
    today = app.now().astimezone(BEIJING).date()
    areas = risk_areas.list_risk_areas(app)
    defaults: dict[str, Any] = {"error": None, "form": {}}
    return page(request, "admin_risk.html", status_code, areas=areas, today=today, **{**defaults, **context})


@router.get("/admin/risk", response_class=HTMLResponse)
async def admin_risk(request: Request, app: AppDep) -> Response:
    return await run_in_threadpool(_risk_page, request, app)


@router.post("/admin/risk", response_class=HTMLResponse)
async def admin_risk_add(
    request: Request,
    app: AppDep,
    county: Annotated[str, Form()] = "",
    level: Annotated[str, Form()] = "case",
    start: Annotated[str, Form()] = "",
    end: Annotated[str, Form()] = "",
) -> Response:
    form = {"county": county, "level": level, "start": start, "end": end}
    try:
        first = parse_date(start, "start")
        last = parse_date(end, "end") if end.strip() else None
        await run_in_threadpool(risk_areas.add_risk_area, app, county, level, first, last, "web")
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(_risk_page, request, app, 422, error=error, form=form)
    return RedirectResponse(request.url_for("admin_risk").path, status_code=303)


@router.post("/admin/risk/{period_id}/end", response_class=HTMLResponse)
async def admin_risk_end(
    request: Request, app: AppDep, period_id: int, end: Annotated[str, Form()] = ""
) -> Response:
    try:
        last = parse_date(end, "end")
        await run_in_threadpool(risk_areas.end_risk_area, app, period_id, last, "web")
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(_risk_page, request, app, 422, error=error)
    return RedirectResponse(request.url_for("admin_risk").path, status_code=303)


@router.get("/admin/policies", response_class=HTMLResponse)
async def admin_policies(request: Request, app: AppDep) -> Response:
    book = app.policies
    versions = [(p, book.effective_to(p)) for p in book.policies]
    return page(request, "admin_policies.html", versions=versions, rows=policy_rows(book.policies))


# --- analyst -----------------------------------------------------------------------------------


@router.get("/analyst", response_class=HTMLResponse)
async def analyst(
    request: Request,
    app: AppDep,
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
        return page(request, "analyst.html", 422, error=error_of(exc, lang), day="", days=days)
    first = chosen - timedelta(days=days - 1)
    data = await run_in_threadpool(_dashboard_data, app, chosen, first, lang)
    return page(request, "analyst.html", error=None, day=chosen.isoformat(), days=days, **data)


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
