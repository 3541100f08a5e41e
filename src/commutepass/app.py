"""The FastAPI application: each business area's API and pages mounted on one app, and how it is
served (uvicorn, one process or several workers)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from commutepass.accounts import api as accounts_api
from commutepass.accounts import pages as accounts_pages
from commutepass.appeals import api as appeals_api
from commutepass.appeals import pages as appeals_pages
from commutepass.applications import api as applications_api
from commutepass.applications import pages as applications_pages
from commutepass.checkpoints import api as checkpoints_api
from commutepass.checkpoints import pages as checkpoints_pages
from commutepass.checks import api as checks_api
from commutepass.checks.writer import SwipeWriter
from commutepass.commuters import api as commuters_api
from commutepass.credentials import api as credentials_api
from commutepass.credentials import pages as credentials_pages
from commutepass.feedback import api as feedback_api
from commutepass.feedback import pages as feedback_pages
from commutepass.kit import problems
from commutepass.kit.context import App
from commutepass.kit.gates import PUBLIC, AppDep, SessionCache
from commutepass.kit.settings import Settings
from commutepass.loads import api as loads_api
from commutepass.oversight import api as oversight_api
from commutepass.oversight import pages as oversight_pages
from commutepass.whatif import pages as whatif_pages

WEB = Path(__file__).parent / "web"
API_ROUTERS = (
    checks_api,
    commuters_api,
    loads_api,
    credentials_api,
    checkpoints_api,
    accounts_api,
    applications_api,
    appeals_api,
    feedback_api,
    oversight_api,
)
PAGE_ROUTERS = (
    accounts_pages,
    credentials_pages,
    checkpoints_pages,
    oversight_pages,
    applications_pages,
    appeals_pages,
    feedback_pages,
    whatif_pages,
)


def create_app(settings: Settings | None = None, application: App | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        opened = application or App.open(settings)
        api.state.commutepass = opened
        api.state.swipes = SwipeWriter(opened)
        api.state.sessions = SessionCache()
        yield
        api.state.swipes.close()
        if application is None:
            opened.close()

    api = FastAPI(
        title="commutepass",
        version="0.1.0",
        description=(
            "Health-code status and checkpoint decisions for people entering Beijing, with the "
            "commuter database (通勤人员数据库). Every answer carries reason codes and an "
            "explanation in Chinese and English. Errors are RFC 9457 problem details. Sign in with "
            "POST /v1/auth/token; every endpoint names the roles that may call it."
        ),
        lifespan=lifespan,
    )
    problems.install(api)
    for area in API_ROUTERS:
        api.include_router(area.router)
    api.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    for area in PAGE_ROUTERS:
        api.include_router(area.router)
    accounts_pages.install_handlers(api)

    @api.get("/health", tags=["meta"], dependencies=[PUBLIC])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/v1/policies", tags=["meta"], summary="Policy versions", dependencies=[PUBLIC])
    async def policies(app: AppDep) -> list[dict[str, Any]]:
        book = app.policies
        return [
            {
                "version": p.version,
                "effective_from": p.effective_from.isoformat(),
                "effective_to": (end.isoformat() if (end := book.effective_to(p)) else None),
                "title_zh": p.title_zh,
                "title_en": p.title_en,
            }
            for p in book.policies
        ]

    return api


def factory() -> FastAPI:
    """Used by uvicorn workers: settings come from the environment the parent set."""
    return create_app(Settings())


def run(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    os.environ["COMMUTEPASS_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        os.environ["COMMUTEPASS_DATABASE_URL"] = settings.database_url
    if settings.policy_dir:
        os.environ["COMMUTEPASS_POLICY_DIR"] = str(settings.policy_dir)
    if settings.now:
        os.environ["COMMUTEPASS_NOW"] = settings.now.isoformat()
    App.open(settings).close()  # migrate and create the secret once, before workers start
    uvicorn.run(
        "commutepass.app:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
