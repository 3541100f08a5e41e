"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from commutepass import web
from commutepass.api import accounts, commuters, credentials, decisions, loads, oversight, problems, workflows
from commutepass.api.deps import AppDep
from commutepass.api.roles import PUBLIC, SessionCache
from commutepass.services.context import App
from commutepass.services.swipes import SwipeWriter
from commutepass.settings import Settings


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
    api.include_router(decisions.router)
    api.include_router(commuters.router)
    api.include_router(loads.router)
    api.include_router(credentials.router)
    api.include_router(accounts.router)
    api.include_router(workflows.router)
    api.include_router(oversight.router)
    web.install(api)

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
