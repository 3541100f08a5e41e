"""Appeals on the pages: a citizen disputes a colour, a pop-up or a missing badge; a reviewer
answers with the evidence at hand."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from commutepass.accounts import access as people
from commutepass.appeals import service as appeals
from commutepass.domain.clock import parse_date
from commutepass.domain.errors import InputError
from commutepass.domain.workflows import AppealKind, AppealState
from commutepass.kit.context import App
from commutepass.kit.gates import AppDep, Citizen, Reviewer
from commutepass.kit.i18n import lang_of
from commutepass.kit.render import error_of, page
from commutepass.kit.sessions import User

router = APIRouter(include_in_schema=False)


def _appeal_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {"error": None, "form": {}, "filed": None}
    return page(
        request,
        "appeal.html",
        status_code,
        user=user,
        mine=appeals.mine(app, user),
        household=people.household_labels(app, user),
        kinds=[k.value for k in AppealKind],
        **{**defaults, **context},
    )


@router.get("/citizen/appeal")
async def citizen_appeal(request: Request, app: AppDep, user: Citizen) -> Response:
    return await run_in_threadpool(_appeal_page, request, app, user)


@router.post("/citizen/appeal")
async def citizen_appeal_post(
    request: Request,
    app: AppDep,
    user: Citizen,
    who: Annotated[str, Form()] = "0",
    kind: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
) -> Response:
    form = {"who": who, "kind": kind, "statement": statement}
    try:
        if kind not in {k.value for k in AppealKind}:
            raise InputError("kind", "choose what you dispute", "请选择纠错类型")
        id_number = await run_in_threadpool(people.chosen_id_number, app, user, who, "")
        filed = await run_in_threadpool(appeals.file, app, user, id_number, AppealKind(kind), statement)
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(_appeal_page, request, app, user, 422, error=error, form=form)
    return await run_in_threadpool(_appeal_page, request, app, user, filed=filed)


@router.get("/reviewer/appeals/{appeal_id}")
async def reviewer_appeal(request: Request, app: AppDep, user: Reviewer, appeal_id: int) -> Response:
    try:
        item = await run_in_threadpool(appeals.get, app, user, appeal_id)
    except InputError as exc:
        return page(
            request, "forbidden.html", 404, user=user, message=error_of(exc, lang_of(request))["message"]
        )
    return page(request, "review_appeal.html", user=user, item=item, error=None, form={})


@router.post("/reviewer/appeals/{appeal_id}")
async def reviewer_appeal_decide(
    request: Request,
    app: AppDep,
    user: Reviewer,
    appeal_id: int,
    outcome: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    until: Annotated[str, Form()] = "",
) -> Response:
    try:
        if outcome not in (AppealState.OVERRIDDEN.value, AppealState.REJECTED.value):
            raise InputError("outcome", "choose override or reject", "请选择更正或驳回")
        end: date | None = parse_date(until, "until") if until.strip() else None
        await run_in_threadpool(
            appeals.decide_appeal, app, user, appeal_id, AppealState(outcome), reason, until=end
        )
    except InputError as exc:
        item = await run_in_threadpool(appeals.get, app, user, appeal_id)
        error = error_of(exc, lang_of(request))
        form = {"outcome": outcome, "reason": reason, "until": until}
        return page(request, "review_appeal.html", 422, user=user, item=item, error=error, form=form)
    return RedirectResponse(f"/reviewer/appeals/{appeal_id}", status_code=303)
