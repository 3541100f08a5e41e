"""The FastAPI application: each business area's API and pages mounted on one app, and how it is
served (uvicorn, one process or several workers)."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from commutepass.accounts import api as accounts_api
from commutepass.accounts import pages as accounts_pages
from commutepass.appeals import api as appeals_api
from commutepass.appeals import pages as appeals_pages
from commutepass.applications import api as applications_api
from commutepass.applications import pages as applications_pages
from commutepass.checkpoints import api as checkpoints_api
from commutepass.checkpoints import pages as checkpoints_pages
from commutepass.checks import api as checks_api
from commutepass.checks.service import policy_in_force
from commutepass.checks.writer import SwipeWriter
from commutepass.commuters import api as commuters_api
from commutepass.credentials import api as credentials_api
from commutepass.credentials import pages as credentials_pages
from commutepass.domain.errors import InputError
from commutepass.feedback import api as feedback_api
from commutepass.feedback import pages as feedback_pages
from commutepass.flow import api as flow_api
from commutepass.flow import pages as flow_pages
from commutepass.flow import repository as flow_repository
from commutepass.jobs import api as jobs_api
from commutepass.jobs import pages as jobs_pages
from commutepass.jobs import service as jobs
from commutepass.kit import observe, openapi, problems
from commutepass.kit.context import App
from commutepass.kit.gates import PUBLIC, AppDep, SessionCache
from commutepass.kit.observe import Observe
from commutepass.kit.protection import Protection
from commutepass.kit.settings import Settings
from commutepass.loads import api as loads_api
from commutepass.notifications import api as notifications_api
from commutepass.oversight import api as oversight_api
from commutepass.oversight import pages as oversight_pages
from commutepass.store.db import alembic_config
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
    flow_api,
    jobs_api,
    notifications_api,
)
PAGE_ROUTERS = (
    accounts_pages,
    credentials_pages,
    checkpoints_pages,
    oversight_pages,
    applications_pages,
    appeals_pages,
    feedback_pages,
    flow_pages,
    jobs_pages,
    whatif_pages,
)


def readiness(app: App) -> list[str]:
    """What keeps this server from taking traffic (empty: ready)."""
    found: list[str] = []
    try:
        with app.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_heads()
        head = ScriptDirectory.from_config(alembic_config(app.engine)).get_heads()
        if set(current) != set(head):
            found.append(f"migrations: the store is at {sorted(current)}, the code needs {sorted(head)}")
    except Exception as exc:
        found.append(f"store: not reachable ({type(exc).__name__})")
    try:
        policy_in_force(app.policies, app.now())
    except InputError:
        found.append(f"policy: none in force at {app.now().isoformat()}")
    return found


def create_app(settings: Settings | None = None, application: App | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(api: FastAPI) -> AsyncIterator[None]:
        opened = application or App.open(settings)
        api.state.commutepass = opened
        api.state.swipes = SwipeWriter(opened)
        api.state.sessions = SessionCache()
        scheduled = jobs.runner(opened) if opened.settings.scheduler else None
        if scheduled is not None:
            scheduled.start()
        yield
        if scheduled is not None:
            scheduled.stop()
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
    api.add_middleware(Protection)
    api.add_middleware(Observe)
    for area in API_ROUTERS:
        api.include_router(area.router)
    api.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    for area in PAGE_ROUTERS:
        api.include_router(area.router)
    accounts_pages.install_handlers(api)
    openapi.install(api)

    @api.get("/health", tags=["meta"], dependencies=[PUBLIC])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/ready", tags=["meta"], dependencies=[PUBLIC])
    def ready(app: AppDep) -> Response:
        """Ready for traffic: the store answers, its schema is at the newest migration, a policy
        is in force now. 503 with what is wrong otherwise (the load balancer takes it out)."""
        problems_found = readiness(app)
        body = {"status": "ready" if not problems_found else "not ready", "problems": problems_found}
        return Response(
            orjson.dumps(body), status_code=503 if problems_found else 200, media_type="application/json"
        )

    @api.get("/metrics", tags=["meta"], dependencies=[PUBLIC], include_in_schema=False)
    def metrics(app: AppDep) -> Response:
        """Prometheus text format (see kit/observe.py for the series)."""
        try:
            with app.engine.connect() as conn:
                observe.ALERTS_OPEN.set(len(flow_repository.live_alerts(conn)))
        except Exception:  # the store is down: the other series still tell it
            observe.ALERTS_OPEN.set(float("nan"))
        return Response(generate_latest(observe.REGISTRY), media_type=CONTENT_TYPE_LATEST)

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


def work(settings: Settings) -> None:
    """Only the scheduled jobs, no HTTP (``commutepass worker``), until interrupted."""
    import signal
    import threading

    _logging(settings)
    application = App.open(settings)
    scheduled = jobs.runner(application)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scheduled.start()
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        scheduled.stop()
        application.close()


def _logging(settings: Settings) -> None:
    observe.configure_logging(settings.log_level.upper())
    logging.getLogger("commutepass.access").setLevel("INFO" if settings.access_log else "WARNING")


def factory() -> FastAPI:
    """Used by uvicorn workers: settings come from the environment the parent set."""
    settings = Settings()
    _logging(settings)
    return create_app(settings)


def run(settings: Settings, *, host: str, port: int, workers: int = 1, scheduler: bool | None = None) -> None:
    os.environ["COMMUTEPASS_DATA_DIR"] = str(settings.data_dir)
    if scheduler is None:  # serve runs the jobs unless told not to
        scheduler = os.environ.get("COMMUTEPASS_SCHEDULER", "1").strip().lower() not in ("0", "false", "no")
    os.environ["COMMUTEPASS_SCHEDULER"] = "1" if scheduler else "0"
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
        timeout_keep_alive=settings.keep_alive_seconds,
    )
