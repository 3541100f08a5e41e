"""The citizen's page: own and family members' codes, with the signed QR, the colour, the badge,
the pop-up with reason and remedy, and the NAT countdown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from commutepass.accounts import access as people
from commutepass.accounts.service import add_family, confirm_family, family_requests, withdraw_family
from commutepass.checks import service as decide
from commutepass.credentials import service as credentials
from commutepass.credentials.qr import qr_svg_inline
from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import InputError
from commutepass.flow import service as flow
from commutepass.kit.context import App
from commutepass.kit.gates import AppDep, Citizen
from commutepass.kit.i18n import lang_of, translator
from commutepass.kit.render import error_of, page
from commutepass.kit.sessions import User
from commutepass.notifications import service as notifications

router = APIRouter(include_in_schema=False)


def _citizen_view(app: App, user: User, who: int, lang: str) -> dict[str, Any]:
    household = people.household_by_consent(app, user)
    requests = family_requests(app, user)
    if not household:
        return {"household": [], "result": None, "requests": requests, "inbox": None}
    chosen, chosen_masked, confirmed = household[who if 0 <= who < len(household) else 0]
    with app.engine.connect() as conn:
        id_number = people.id_number_of(conn, app, chosen)
    now = app.now()
    result = decide.status_for(app, user, id_number, now.astimezone(BEIJING), None)
    # a family member who has not confirmed the link: colour, badge and NAT deadline only, no code
    code = credentials.issue(app, user, id_number, now, "BJ") if confirmed else None
    # the results of the citizen and of the members who confirmed the link (none for the others)
    results: list[dict[str, Any]] = next(
        (r["results"] for r in credentials.test_results(app, user, now) if r["person"] == chosen_masked), []
    )
    return {
        "inbox": notifications.inbox(app, user),
        "results": results,
        "household": household,
        "who": chosen,
        "result": result,
        "requests": requests,
        "nat_seconds_left": _seconds_until(result.get("nat_valid_until"), now),
        "code": code,
        "qr": Markup(qr_svg_inline(code["code"], translator(lang)("status.qr_title"))) if code else None,
        # the checkpoints a person used tell where they travel: only for a confirmed link
        "waits": flow.waits_for_person(app, chosen, now) if confirmed else [],
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
    household = await run_in_threadpool(people.household_by_consent, app, user)
    return RedirectResponse(f"/citizen?who={len(household) - 1}", status_code=303)


@router.post("/citizen/family/requests/{adder}/{action}")
async def citizen_family_request(
    request: Request, app: AppDep, user: Citizen, adder: int, action: str
) -> Response:
    """The member confirms or removes a link that names them (the same use cases as the API)."""
    try:
        if action == "confirm":
            await run_in_threadpool(confirm_family, app, user, adder)
        elif action == "remove":
            await run_in_threadpool(withdraw_family, app, user, adder)
        else:
            raise InputError("action", "confirm or remove", "确认或解除")
    except InputError as exc:
        view = await run_in_threadpool(_citizen_view, app, user, 0, lang_of(request))
        return page(request, "citizen.html", 422, user=user, error=error_of(exc, lang_of(request)), **view)
    return RedirectResponse("/citizen", status_code=303)


@router.post("/citizen/reminders")
async def citizen_reminders(app: AppDep, user: Citizen, on: Annotated[str, Form()] = "true") -> Response:
    await run_in_threadpool(notifications.set_reminders, app, user, on.strip().lower() in ("true", "1", "on"))
    return RedirectResponse("/citizen#inbox", status_code=303)


def _seconds_until(iso: str | None, now: datetime) -> int | None:
    if not iso:
        return None
    return max(0, int((datetime.fromisoformat(iso) - now).total_seconds()))
