"""Pages for the people around the commuter database: applications (online, at a checkpoint, by
the 12345 hotline), appeals, the reviewer's queues and evidence, the feedback board, who looked
at my data, and the admin's users. Each page calls the workflow services with the same role
gates as the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from commutepass.accounts import access as people
from commutepass.applications import documents
from commutepass.applications import service as applications
from commutepass.checks import service as decide
from commutepass.domain.clock import BEIJING, parse_time
from commutepass.domain.errors import InputError
from commutepass.domain.policy import CommuterClass
from commutepass.domain.roles import Role
from commutepass.domain.workflows import AppState
from commutepass.kit.context import App
from commutepass.kit.gates import AppDep, Citizen, Community, Hotline, Officer, Reviewer
from commutepass.kit.i18n import lang_of
from commutepass.kit.render import error_of, page
from commutepass.kit.sessions import User

router = APIRouter(include_in_schema=False)
CIT, OFF, HOT, REV, ADM = Role.CITIZEN, Role.OFFICER, Role.HOTLINE, Role.REVIEWER, Role.ADMIN
DOCUMENT_FIELDS = ("id_card", "work_proof", "residence_proof", "nat_proof")


async def _read_documents(files: dict[str, UploadFile | None]) -> list[tuple[str, bytes]]:
    """Every uploaded document, checked by content and size before anything is stored."""
    found = []
    for kind, upload in files.items():
        if upload is None or not upload.filename:
            continue
        content = await upload.read(documents.MAX_DOCUMENT_BYTES + 1)
        if len(content) > documents.MAX_DOCUMENT_BYTES:
            limit = documents.MAX_DOCUMENT_BYTES // (1024 * 1024)
            raise InputError(kind, f"is larger than {limit} MB", f"文件超过 {limit} MB")
        try:
            documents.sniff(content)
        except InputError as exc:
            raise InputError(kind, f"{upload.filename}: {exc.en}", f"{upload.filename}：{exc.zh}") from None
        found.append((kind, content))
    return found


def _submit(app: App, user: User, id_number: str, form: dict[str, str], docs: list[tuple[str, bytes]]) -> Any:
    county = form["home_county"].strip() or None
    work = form.get("work_county", "").strip() or None
    created = applications.submit(
        app,
        user,
        id_number,
        statement=form["statement"],
        commuter_class=CommuterClass(form["commuter_class"])
        if form["commuter_class"] in ("daily", "weekly")
        else CommuterClass.DAILY,
        home_county=county,
        work_county=work,
    )
    for kind, content in docs:
        applications.add_document(app, user, int(created["id"]), kind, content)
    return created


def _apply_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    mine = applications.mine(app, user)
    household = people.household_labels(app, user) if user.role is Role.CITIZEN else []
    defaults: dict[str, Any] = {"error": None, "form": {}, "created": None}
    return page(
        request,
        "apply.html",
        status_code,
        user=user,
        mine=mine,
        household=household,
        action=request.url.path,
        document_fields=DOCUMENT_FIELDS,
        **{**defaults, **context},
    )


@dataclass(frozen=True, slots=True)
class ApplyForm:
    """What the application form posts (the same fields for the citizen, the officer at a
    checkpoint and the community worker; a citizen picks ``who``, staff type ``id_number``)."""

    form: dict[str, str]
    files: dict[str, UploadFile | None]


def apply_form(
    who: Annotated[str, Form()] = "0",
    id_number: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
    commuter_class: Annotated[str, Form()] = "daily",
    home_county: Annotated[str, Form()] = "",
    work_county: Annotated[str, Form()] = "",
    id_card: Annotated[UploadFile | None, File()] = None,
    work_proof: Annotated[UploadFile | None, File()] = None,
    residence_proof: Annotated[UploadFile | None, File()] = None,
    nat_proof: Annotated[UploadFile | None, File()] = None,
) -> ApplyForm:
    return ApplyForm(
        form={
            "who": who,
            "id_number": id_number,
            "statement": statement,
            "commuter_class": commuter_class,
            "home_county": home_county,
            "work_county": work_county,
        },
        files={
            "id_card": id_card,
            "work_proof": work_proof,
            "residence_proof": residence_proof,
            "nat_proof": nat_proof,
        },
    )


Applied = Annotated[ApplyForm, Depends(apply_form)]


async def _apply_post(request: Request, app: App, user: User, posted: ApplyForm) -> Response:
    files, form = posted.files, posted.form
    try:
        docs = await _read_documents(files)
        id_number = await run_in_threadpool(
            people.chosen_id_number, app, user, form.get("who", ""), form.get("id_number", "")
        )
        created = await run_in_threadpool(_submit, app, user, id_number, form, docs)
    except InputError as exc:
        kept = {k: v for k, v in form.items() if k != "id_number"}
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(_apply_page, request, app, user, 422, error=error, form=kept)
    return await run_in_threadpool(_apply_page, request, app, user, created=created)


@router.get("/citizen/apply")
async def citizen_apply(request: Request, app: AppDep, user: Citizen) -> Response:
    return await run_in_threadpool(_apply_page, request, app, user)


@router.post("/citizen/apply")
async def citizen_apply_post(request: Request, app: AppDep, user: Citizen, posted: Applied) -> Response:
    return await _apply_post(request, app, user, posted)


@router.get("/checkpoint/apply")
async def checkpoint_apply(request: Request, app: AppDep, user: Officer) -> Response:
    return await run_in_threadpool(_apply_page, request, app, user)


@router.post("/checkpoint/apply")
async def checkpoint_apply_post(request: Request, app: AppDep, user: Officer, posted: Applied) -> Response:
    return await _apply_post(request, app, user, posted)


# --- the community (社区代为申请) -----------------------------------------------------------------


@router.get("/community")
async def community_apply(request: Request, app: AppDep, user: Community) -> Response:
    return await run_in_threadpool(_apply_page, request, app, user)


@router.post("/community")
async def community_apply_post(request: Request, app: AppDep, user: Community, posted: Applied) -> Response:
    return await _apply_post(request, app, user, posted)


# --- hotline -----------------------------------------------------------------------------------


def _hotline_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {
        "error": None,
        "form": {},
        "created": None,
        "lookup": None,
        "lookup_form": {},
        "lookup_error": None,
    }
    return page(
        request,
        "hotline.html",
        status_code,
        user=user,
        mine=applications.mine(app, user),
        action="/hotline/register",
        document_fields=(),
        household=[],
        **{**defaults, **context},
    )


@router.get("/hotline")
async def hotline(request: Request, app: AppDep, user: Hotline) -> Response:
    return await run_in_threadpool(_hotline_page, request, app, user)


@router.post("/hotline/register")
async def hotline_register(
    request: Request,
    app: AppDep,
    user: Hotline,
    id_number: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
    commuter_class: Annotated[str, Form()] = "daily",
    home_county: Annotated[str, Form()] = "",
    work_county: Annotated[str, Form()] = "",
) -> Response:
    form = {
        "statement": statement,
        "commuter_class": commuter_class,
        "home_county": home_county,
        "work_county": work_county,
    }
    try:
        created = await run_in_threadpool(_submit, app, user, id_number, form, [])
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(_hotline_page, request, app, user, 422, error=error, form=form)
    return await run_in_threadpool(_hotline_page, request, app, user, created=created)


@router.post("/hotline/lookup")
async def hotline_lookup(
    request: Request,
    app: AppDep,
    user: Hotline,
    id_number: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
    known_at: Annotated[str, Form()] = "",
) -> Response:
    form = {"reason": reason, "at": at, "known_at": known_at}
    try:
        moment = parse_time(at, "at") if at.strip() else app.now().astimezone(BEIJING)
        known = parse_time(known_at, "known_at") if known_at.strip() else None
        result = await run_in_threadpool(decide.status_for, app, user, id_number, moment, reason, known)
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(
            _hotline_page, request, app, user, 422, lookup_error=error, lookup_form=form
        )
    return await run_in_threadpool(_hotline_page, request, app, user, lookup=result)


@router.get("/reviewer/applications/{application_id}")
async def reviewer_application(
    request: Request, app: AppDep, user: Reviewer, application_id: int
) -> Response:
    try:
        item = await run_in_threadpool(applications.get, app, user, application_id)
    except InputError as exc:
        return page(
            request, "forbidden.html", 404, user=user, message=error_of(exc, lang_of(request))["message"]
        )
    return page(request, "review_application.html", user=user, item=item, error=None, form={})


@router.post("/reviewer/applications/{application_id}")
async def reviewer_application_decide(
    request: Request,
    app: AppDep,
    user: Reviewer,
    application_id: int,
    status: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    try:
        if status not in {s.value for s in AppState} - {AppState.SUBMITTED.value}:
            raise InputError("status", "choose approve, reject or ask for more", "请选择批准、驳回或补充材料")
        await run_in_threadpool(applications.decide, app, user, application_id, AppState(status), reason)
    except InputError as exc:
        item = await run_in_threadpool(applications.get, app, user, application_id)
        error = error_of(exc, lang_of(request))
        form = {"status": status, "reason": reason}
        return page(request, "review_application.html", 422, user=user, item=item, error=error, form=form)
    return RedirectResponse(f"/reviewer/applications/{application_id}", status_code=303)


@router.get("/reviewer/applications/{application_id}/documents/{sha256}")
async def reviewer_document(app: AppDep, user: Reviewer, application_id: int, sha256: str) -> Response:
    content, media_type = await run_in_threadpool(applications.document, app, user, application_id, sha256)
    return Response(content, media_type=media_type, headers={"Content-Disposition": "inline"})
