"""The checkpoint console: an officer types or scans an ID number or a signed code and sees one
verdict, recorded and audited like every other check (``checks.service``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from commutepass.checks import service as decide
from commutepass.checks.writer import WriterDep, check_online
from commutepass.credentials import service as credentials
from commutepass.credentials.codes import HC1
from commutepass.credentials.codes import PREFIX as CODE_PREFIX
from commutepass.domain.clock import BEIJING
from commutepass.domain.decisions import Pledge
from commutepass.domain.errors import InputError, NoPolicyInForce
from commutepass.domain.policy import Decision
from commutepass.domain.reasons import headline
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.gates import AppDep, Officer
from commutepass.kit.i18n import lang_of
from commutepass.kit.render import error_of, page
from commutepass.kit.sessions import User

router = APIRouter(include_in_schema=False)

SITE_COOKIE = "commutepass_site"
DEFAULT_SITE = "京哈高速白鹿收费站"


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
    try:
        pledge_sites = list(app.policies.in_force(app.now()).pledge.sites)
    except NoPolicyInForce:
        pledge_sites = []
    response = page(
        request,
        "checkpoint.html",
        status_code,
        user=user,
        site=site,
        snapshot=snapshot,
        pledge_sites=pledge_sites,
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
    writer: WriterDep,
    user: Officer,
    q: Annotated[str, Form()] = "",
    site: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "road",
    no_smartphone: Annotated[str | None, Form()] = None,
    companions: Annotated[str, Form()] = "",
    pledge_site: Annotated[str, Form()] = "",
    pledge_sampled_at: Annotated[str, Form()] = "",
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
        if q.strip().startswith((CODE_PREFIX, HC1.prefix)):
            # a scanned health code: verified against the trust list, the policy applied to the
            # status it carries, recorded and audited as a check (without a person)
            verified = await credentials.verify_online(
                app, writer, user, q.strip(), app.now().astimezone(BEIJING), site, decide.parse_mode(mode)
            )
            # a refused code carries only its own reason: the verdict shows no status lists
            verified.setdefault("status_reasons", [])
            verified.setdefault("to_check_by_hand", [])
            verified["scanned"] = True
            kept["no_smartphone"] = False
            return _console(request, app, user, result=verified, headline=_headline(verified), **kept)
        check = decide.CheckRequest(
            id_number=q.strip(),
            at=app.now().astimezone(BEIJING),
            site=site.strip()[:64],
            mode=decide.parse_mode(mode),
            smartphone=not no_smartphone,
            companions=tuple(companions.replace(",", " ").replace("，", " ").split()),
            pledge=_pledge(pledge_site, pledge_sampled_at),
        )
        # recorded (and audited) exactly as a swipe through the API is, before the verdict shows
        result = await check_online(app, writer, user, check)
    except InputError as exc:
        return _console(
            request, app, user, 422, error=error_of(exc, lang), q=q, companions=companions, **kept
        )
    # the site and the mode stay for the next swipe; the person's own options do not
    kept["no_smartphone"] = False
    return _console(request, app, user, result=result, headline=_headline(result), **kept)


def _pledge(site: str, sampled_at: str) -> Pledge | None:
    """The pledge the officer records from the sampling slip (seed 003): both fields or neither."""
    if not site.strip() and not sampled_at.strip():
        return None
    if not site.strip():
        raise InputError(
            "pledge_site", "name the test point on the sampling slip", "请填写采样凭证上的检测点"
        )
    try:
        when = datetime.fromisoformat(sampled_at.strip())
    except ValueError:
        raise InputError(
            "pledge_sampled_at",
            f"'{sampled_at}' is not a time (YYYY-MM-DDTHH:MM)",
            f"“{sampled_at}”不是时间（YYYY-MM-DDTHH:MM）",
        ) from None
    return Pledge(site.strip()[:64], when if when.tzinfo else when.replace(tzinfo=BEIJING))


def _headline(result: dict[str, Any]) -> dict[str, str]:
    title = headline(Decision(result["decision"]))
    return {"zh": title.zh, "en": title.en}
