"""Applications to the commuter database, with documents (thin: each route calls one service)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from commutepass.applications import documents
from commutepass.applications import service as applications
from commutepass.domain.policy import CommuterClass
from commutepass.domain.roles import Role
from commutepass.domain.workflows import AppState, Channel
from commutepass.kit.gates import AppDep, Reviewer, require_roles
from commutepass.kit.sessions import User

router = APIRouter(prefix="/v1", tags=["workflows"])

CIT, OFF, HOT, REV, COM = Role.CITIZEN, Role.OFFICER, Role.HOTLINE, Role.REVIEWER, Role.COMMUNITY


class ApplicationIn(BaseModel):
    id_number: str
    statement: str = Field(
        min_length=1, max_length=1000, description="What is applied for and on what grounds"
    )
    commuter_class: Literal["daily", "weekly"] = "daily"
    home_county: str | None = Field(None, pattern=r"^\d{6}$")
    work_county: str | None = Field(
        None,
        pattern=r"^\d{6}$",
        description="Where the applicant works; approval needs the ring area at one end and Beijing at the other",
    )
    channel: Literal["checkpoint", "hotline", "online", "community"] | None = Field(
        None,
        description="Set by the role (officer: checkpoint, hotline: hotline, citizen: online, "
        "community: community); a reviewer may name it",
    )


class DecisionIn(BaseModel):
    status: Literal["approved", "rejected", "needs_more"]
    reason: str = Field(min_length=1, max_length=1000)


class ResubmitIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, description="What was added")


# --- applications -------------------------------------------------------------------------------


@router.post("/applications", status_code=201, summary="Register an application to the commuter database")
async def submit_application(
    body: ApplicationIn, app: AppDep, user: Annotated[User, require_roles(CIT, OFF, HOT, REV, COM)]
) -> Any:
    return await run_in_threadpool(
        lambda: applications.submit(
            app,
            user,
            body.id_number,
            statement=body.statement,
            commuter_class=CommuterClass(body.commuter_class),
            home_county=body.home_county,
            work_county=body.work_county,
            channel=Channel(body.channel) if body.channel else None,
        )
    )


@router.get("/applications", summary="Applications I made or registered")
async def my_applications(app: AppDep, user: Annotated[User, require_roles(CIT, OFF, HOT, COM)]) -> Any:
    return await run_in_threadpool(applications.mine, app, user)


@router.get("/applications/queue", summary="The reviewer's queue: waiting time and same-day risk")
async def application_queue(app: AppDep, _user: Reviewer) -> Any:
    return await run_in_threadpool(applications.queue, app)


@router.get("/applications/{application_id}", summary="Status, reason, history and documents")
async def get_application(
    application_id: int, app: AppDep, user: Annotated[User, require_roles(CIT, OFF, HOT, REV, COM)]
) -> Any:
    return await run_in_threadpool(applications.get, app, user, application_id)


@router.post("/applications/{application_id}/documents", status_code=201, summary="Upload a PDF, JPEG or PNG")
async def upload_document(
    application_id: int,
    app: AppDep,
    user: Annotated[User, require_roles(CIT, OFF, HOT, REV, COM)],
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
    application_id: int,
    body: ResubmitIn,
    app: AppDep,
    user: Annotated[User, require_roles(CIT, OFF, HOT, COM)],
) -> Any:
    return await run_in_threadpool(applications.resubmit, app, user, application_id, body.reason)
