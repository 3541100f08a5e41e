"""Applications, appeals and the feedback board (thin: each route calls one service)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from commutepass.api.deps import AppDep
from commutepass.api.roles import require_roles
from commutepass.api.schemas import Day, Moment
from commutepass.domain.clock import BEIJING
from commutepass.domain.policy import CommuterClass
from commutepass.domain.roles import Role
from commutepass.domain.workflows import AppealKind, AppealState, AppState, Channel
from commutepass.services import appeals, applications, documents, feedback
from commutepass.services.auth import User

router = APIRouter(prefix="/v1", tags=["workflows"])

CIT, OFF, HOT, REV = Role.CITIZEN, Role.OFFICER, Role.HOTLINE, Role.REVIEWER
Reviewer = Annotated[User, require_roles(REV)]


class ApplicationIn(BaseModel):
    id_number: str
    statement: str = Field(
        min_length=1, max_length=1000, description="What is applied for and on what grounds"
    )
    commuter_class: Literal["daily", "weekly"] = "daily"
    home_county: str | None = Field(None, pattern=r"^\d{6}$")
    channel: Literal["checkpoint", "hotline", "online"] | None = Field(
        None,
        description="Set by the role (officer: checkpoint, hotline: hotline, citizen: online); a reviewer may name it",
    )


class DecisionIn(BaseModel):
    status: Literal["approved", "rejected", "needs_more"]
    reason: str = Field(min_length=1, max_length=1000)


class ResubmitIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="What was added")


class AppealIn(BaseModel):
    id_number: str
    kind: Literal["color", "popup", "badge"]
    statement: str = Field(min_length=1, max_length=1000)
    at: Moment | None = Field(None, description="The moment disputed; default now")


class AppealDecisionIn(BaseModel):
    outcome: Literal["overridden", "rejected"]
    reason: str = Field(min_length=1, max_length=1000)
    until: Day | None = Field(None, description="Last day the override holds (required to override)")


class PostIn(BaseModel):
    body: str = Field(min_length=1, max_length=feedback.MAX_BODY)


# --- applications -------------------------------------------------------------------------------


@router.post("/applications", status_code=201, summary="Register an application to the commuter database")
async def submit_application(
    body: ApplicationIn, app: AppDep, user: Annotated[User, require_roles(CIT, OFF, HOT, REV)]
) -> Any:
    return await run_in_threadpool(
        lambda: applications.submit(
            app,
            user,
            body.id_number,
            statement=body.statement,
            commuter_class=CommuterClass(body.commuter_class),
            home_county=body.home_county,
            channel=Channel(body.channel) if body.channel else None,
        )
    )


@router.get("/applications", summary="Applications I made or registered")
async def my_applications(app: AppDep, user: Annotated[User, require_roles(CIT, OFF, HOT)]) -> Any:
    return await run_in_threadpool(applications.mine, app, user)


@router.get("/applications/queue", summary="The reviewer's queue: waiting time and same-day risk")
async def application_queue(app: AppDep, _user: Reviewer) -> Any:
    return await run_in_threadpool(applications.queue, app)


@router.get("/applications/{application_id}", summary="Status, reason, history and documents")
async def get_application(
    application_id: int, app: AppDep, user: Annotated[User, require_roles(CIT, OFF, HOT, REV)]
) -> Any:
    return await run_in_threadpool(applications.get, app, user, application_id)


@router.post("/applications/{application_id}/documents", status_code=201, summary="Upload a PDF, JPEG or PNG")
async def upload_document(
    application_id: int,
    app: AppDep,
    user: Annotated[User, require_roles(CIT, OFF, HOT, REV)],
    kind: Annotated[str, Form(description=", ".join(documents.DOCUMENT_KINDS))],
    file: Annotated[UploadFile, File(description=f"at most {documents.MAX_DOCUMENT_BYTES} bytes")],
) -> Any:
    content = await file.read(documents.MAX_DOCUMENT_BYTES + 1)
    return await run_in_threadpool(applications.add_document, app, user, application_id, kind, content)


@router.get("/applications/{application_id}/documents/{sha256}", summary="A document's content (audited)")
async def get_document(application_id: int, sha256: str, app: AppDep, user: Reviewer) -> Response:
    content, media_type = await run_in_threadpool(applications.document, app, user, application_id, sha256)
    return Response(content, media_type=media_type)


@router.post(
    "/applications/{application_id}/decision", summary="Approve, reject or ask for more, with a reason"
)
async def decide_application(application_id: int, body: DecisionIn, app: AppDep, user: Reviewer) -> Any:
    return await run_in_threadpool(
        applications.decide, app, user, application_id, AppState(body.status), body.reason
    )


@router.post("/applications/{application_id}/resubmit", summary="Send back what was asked for")
async def resubmit_application(
    application_id: int, body: ResubmitIn, app: AppDep, user: Annotated[User, require_roles(CIT, OFF, HOT)]
) -> Any:
    return await run_in_threadpool(applications.resubmit, app, user, application_id, body.reason)


# --- appeals ------------------------------------------------------------------------------------


@router.post("/appeals", status_code=201, summary="Dispute a colour, a pop-up or a missing badge (纠错)")
async def file_appeal(body: AppealIn, app: AppDep, user: Annotated[User, require_roles(CIT, HOT)]) -> Any:
    at = body.at if body.at is None or body.at.tzinfo else body.at.replace(tzinfo=BEIJING)
    return await run_in_threadpool(
        lambda: appeals.file(app, user, body.id_number, AppealKind(body.kind), body.statement, at=at)
    )


@router.get("/appeals", summary="Appeals I filed or that concern me")
async def my_appeals(app: AppDep, user: Annotated[User, require_roles(CIT, HOT)]) -> Any:
    return await run_in_threadpool(appeals.mine, app, user)


@router.get("/appeals/queue", summary="Open appeals with their response-time targets")
async def appeal_queue(app: AppDep, _user: Reviewer) -> Any:
    return await run_in_threadpool(appeals.queue, app)


@router.get("/appeals/response-times", summary="Measured response times against the targets, per appeal type")
async def appeal_response_times(
    app: AppDep, _user: Annotated[User, require_roles(REV, Role.ANALYST, Role.ADMIN)]
) -> Any:
    return await run_in_threadpool(appeals.response_times, app)


@router.get("/appeals/{appeal_id}", summary="An appeal; a reviewer also gets the decision's evidence")
async def get_appeal(appeal_id: int, app: AppDep, user: Annotated[User, require_roles(CIT, HOT, REV)]) -> Any:
    return await run_in_threadpool(appeals.get, app, user, appeal_id)


@router.post("/appeals/{appeal_id}/decision", summary="Override (reason + end date) or reject (reason)")
async def decide_appeal(appeal_id: int, body: AppealDecisionIn, app: AppDep, user: Reviewer) -> Any:
    until: date | None = body.until
    return await run_in_threadpool(
        lambda: appeals.decide_appeal(
            app, user, appeal_id, AppealState(body.outcome), body.reason, until=until
        )
    )


# --- the feedback board -------------------------------------------------------------------------


@router.get("/feedback", summary="The message board (no citizen sees another's identity)")
async def board(app: AppDep, user: Annotated[User, require_roles(CIT, HOT, REV, Role.ADMIN)]) -> Any:
    return await run_in_threadpool(feedback.board, app, user)


@router.post("/feedback", status_code=201, summary="Post a message")
async def post_feedback(body: PostIn, app: AppDep, user: Annotated[User, require_roles(CIT)]) -> Any:
    return await run_in_threadpool(feedback.post, app, user, body.body)


@router.post("/feedback/{post_id}/replies", status_code=201, summary="Reply as staff")
async def reply_feedback(
    post_id: int, body: PostIn, app: AppDep, user: Annotated[User, require_roles(HOT, REV, Role.ADMIN)]
) -> Any:
    return await run_in_threadpool(lambda: feedback.post(app, user, body.body, parent_id=post_id))
