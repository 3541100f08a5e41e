"""Pages for the people around the commuter database: applications (online, at a checkpoint, by
the 12345 hotline), appeals, the reviewer's queues and evidence, the feedback board, who looked
at my data, and the admin's users. Each page calls the workflow services with the same role
gates as the API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from commutepass.api.deps import AppDep
from commutepass.api.roles import require_roles
from commutepass.domain.clock import BEIJING, parse_date
from commutepass.domain.errors import InputError
from commutepass.domain.policy import CommuterClass
from commutepass.domain.roles import Role, parse_role
from commutepass.domain.workflows import AppealKind, AppealState, AppState
from commutepass.services import appeals, applications, audit, auth, documents, feedback, people
from commutepass.services.auth import User, household_of
from commutepass.services.context import App
from commutepass.web.i18n import lang_of
from commutepass.web.render import error_of, page

router = APIRouter(include_in_schema=False)
CIT, OFF, HOT, REV, ADM = Role.CITIZEN, Role.OFFICER, Role.HOTLINE, Role.REVIEWER, Role.ADMIN
Citizen = Annotated[User, require_roles(CIT)]
Registrar = Annotated[User, require_roles(OFF)]
Hotline = Annotated[User, require_roles(HOT)]
Reviewer = Annotated[User, require_roles(REV)]
Admin = Annotated[User, require_roles(ADM)]
BoardReader = Annotated[User, require_roles(CIT, HOT, REV, ADM)]
Staff = Annotated[User, require_roles(HOT, REV, ADM)]
DOCUMENT_FIELDS = ("work_proof", "residence_proof", "nat_proof")


def _household_labels(app: App, user: User) -> list[str]:
    """Masked IDs of a citizen and their family: whom they may apply or appeal for."""
    return [masked for _person_id, masked in people.household(app, user)]


def _chosen_id(app: App, user: User, who: str, typed: str) -> str:
    """A citizen picks a household member (by position); staff type the applicant's ID number."""
    if user.role is not Role.CITIZEN:
        return typed.strip()
    with app.engine.connect() as conn:
        ids = household_of(conn, user)
        try:
            chosen = ids[int(who)]
        except (ValueError, IndexError):
            raise InputError("who", "choose yourself or a family member", "请选择本人或家人") from None
        return people.id_number_of(conn, app, chosen)


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
    if county is not None:
        app.catalog.county(county, "home_county")
    created = applications.submit(
        app,
        user,
        id_number,
        statement=form["statement"],
        commuter_class=CommuterClass(form["commuter_class"])
        if form["commuter_class"] in ("daily", "weekly")
        else CommuterClass.DAILY,
        home_county=county,
    )
    for kind, content in docs:
        applications.add_document(app, user, int(created["id"]), kind, content)
    return created


def _apply_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    mine = applications.mine(app, user)
    household = _household_labels(app, user) if user.role is Role.CITIZEN else []
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


async def _apply_post(
    request: Request, app: App, user: User, files: dict[str, UploadFile | None], form: dict[str, str]
) -> Response:
    try:
        docs = await _read_documents(files)
        id_number = await run_in_threadpool(
            _chosen_id, app, user, form.get("who", ""), form.get("id_number", "")
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
async def citizen_apply_post(
    request: Request,
    app: AppDep,
    user: Citizen,
    who: Annotated[str, Form()] = "0",
    statement: Annotated[str, Form()] = "",
    commuter_class: Annotated[str, Form()] = "daily",
    home_county: Annotated[str, Form()] = "",
    work_proof: Annotated[UploadFile | None, File()] = None,
    residence_proof: Annotated[UploadFile | None, File()] = None,
    nat_proof: Annotated[UploadFile | None, File()] = None,
) -> Response:
    form = {"who": who, "statement": statement, "commuter_class": commuter_class, "home_county": home_county}
    files = {"work_proof": work_proof, "residence_proof": residence_proof, "nat_proof": nat_proof}
    return await _apply_post(request, app, user, files, form)


@router.get("/checkpoint/apply")
async def checkpoint_apply(request: Request, app: AppDep, user: Registrar) -> Response:
    return await run_in_threadpool(_apply_page, request, app, user)


@router.post("/checkpoint/apply")
async def checkpoint_apply_post(
    request: Request,
    app: AppDep,
    user: Registrar,
    id_number: Annotated[str, Form()] = "",
    statement: Annotated[str, Form()] = "",
    commuter_class: Annotated[str, Form()] = "daily",
    home_county: Annotated[str, Form()] = "",
    work_proof: Annotated[UploadFile | None, File()] = None,
    residence_proof: Annotated[UploadFile | None, File()] = None,
    nat_proof: Annotated[UploadFile | None, File()] = None,
) -> Response:
    form = {
        "id_number": id_number,
        "statement": statement,
        "commuter_class": commuter_class,
        "home_county": home_county,
    }
    files = {"work_proof": work_proof, "residence_proof": residence_proof, "nat_proof": nat_proof}
    return await _apply_post(request, app, user, files, form)


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
) -> Response:
    form = {"statement": statement, "commuter_class": commuter_class, "home_county": home_county}
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
) -> Response:
    now = app.now().astimezone(BEIJING)
    try:
        result = await run_in_threadpool(people.status_for, app, user, id_number, now, reason)
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(
            _hotline_page, request, app, user, 422, lookup_error=error, lookup_form={"reason": reason}
        )
    return await run_in_threadpool(_hotline_page, request, app, user, lookup=result)


# --- appeals (citizen) -------------------------------------------------------------------------


def _appeal_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {"error": None, "form": {}, "filed": None}
    return page(
        request,
        "appeal.html",
        status_code,
        user=user,
        mine=appeals.mine(app, user),
        household=_household_labels(app, user),
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
        id_number = await run_in_threadpool(_chosen_id, app, user, who, "")
        filed = await run_in_threadpool(appeals.file, app, user, id_number, AppealKind(kind), statement)
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        return await run_in_threadpool(_appeal_page, request, app, user, 422, error=error, form=form)
    return await run_in_threadpool(_appeal_page, request, app, user, filed=filed)


@router.get("/citizen/accesses")
async def citizen_accesses(request: Request, app: AppDep, user: Citizen) -> Response:
    def load() -> list[dict[str, Any]]:
        with app.engine.connect() as conn:
            ids = household_of(conn, user)
        return audit.accesses_to(app, ids)

    entries = await run_in_threadpool(load)
    return page(request, "accesses.html", user=user, entries=entries)


# --- reviewer ----------------------------------------------------------------------------------


@router.get("/reviewer")
async def reviewer(request: Request, app: AppDep, user: Reviewer) -> Response:
    def load() -> dict[str, Any]:
        return {
            "applications": applications.queue(app),
            "appeals": appeals.queue(app),
            "times": appeals.response_times(app),
        }

    return page(request, "reviewer.html", user=user, **await run_in_threadpool(load))


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


# --- feedback board ----------------------------------------------------------------------------


def _board(request: Request, app: App, user: User, status_code: int = 200, error: Any = None) -> Response:
    posts = feedback.board(app, user)
    return page(request, "feedback.html", status_code, user=user, posts=posts, error=error)


@router.get("/feedback")
async def feedback_board(request: Request, app: AppDep, user: BoardReader) -> Response:
    return await run_in_threadpool(_board, request, app, user)


@router.post("/feedback")
async def feedback_post(
    request: Request, app: AppDep, user: Citizen, body: Annotated[str, Form()] = ""
) -> Response:
    try:
        await run_in_threadpool(feedback.post, app, user, body)
    except InputError as exc:
        return await run_in_threadpool(_board, request, app, user, 422, error_of(exc, lang_of(request)))
    return RedirectResponse("/feedback", status_code=303)


@router.post("/feedback/{post_id}/reply")
async def feedback_reply(
    request: Request, app: AppDep, user: Staff, post_id: int, body: Annotated[str, Form()] = ""
) -> Response:
    try:
        await run_in_threadpool(feedback.post, app, user, body, parent_id=post_id)
    except InputError as exc:
        return await run_in_threadpool(_board, request, app, user, 422, error_of(exc, lang_of(request)))
    return RedirectResponse("/feedback", status_code=303)


# --- admin: users ------------------------------------------------------------------------------


def _users_page(request: Request, app: App, user: User, status_code: int = 200, **context: Any) -> Response:
    defaults: dict[str, Any] = {"error": None, "form": {}}
    roles = [r.value for r in Role]
    return page(
        request,
        "admin_users.html",
        status_code,
        user=user,
        users=auth.list_users(app),
        roles=roles,
        **{**defaults, **context},
    )


@router.get("/admin/users")
async def admin_users(request: Request, app: AppDep, user: Admin) -> Response:
    return await run_in_threadpool(_users_page, request, app, user)


@router.post("/admin/users")
async def admin_users_add(
    request: Request,
    app: AppDep,
    user: Admin,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
) -> Response:
    try:
        chosen = parse_role(role)
        await run_in_threadpool(
            lambda: auth.add_user(
                app, username.strip(), password, chosen, id_number=id_number.strip() or None, by=user.actor
            )
        )
    except InputError as exc:
        error = error_of(exc, lang_of(request))
        form = {"username": username, "role": role}
        return await run_in_threadpool(_users_page, request, app, user, 422, error=error, form=form)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/{action}")
async def admin_users_toggle(
    request: Request, app: AppDep, user: Admin, username: str, action: str
) -> Response:
    try:
        if action not in ("disable", "enable"):
            raise InputError("action", "disable or enable", "停用或启用")
        await run_in_threadpool(lambda: auth.set_disabled(app, username, action == "disable", by=user.actor))
    except InputError as exc:
        return await run_in_threadpool(
            _users_page, request, app, user, 422, error=error_of(exc, lang_of(request))
        )
    return RedirectResponse("/admin/users", status_code=303)
