"""Running the API with uvicorn (one process or several workers)."""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI

from commutepass.settings import Settings


def factory() -> FastAPI:
    """Used by uvicorn workers: settings come from the environment the parent set."""
    from commutepass.api.app import create_app

    return create_app(Settings())


def run(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    os.environ["COMMUTEPASS_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        os.environ["COMMUTEPASS_DATABASE_URL"] = settings.database_url
    if settings.policy_dir:
        os.environ["COMMUTEPASS_POLICY_DIR"] = str(settings.policy_dir)
    if settings.now:
        os.environ["COMMUTEPASS_NOW"] = settings.now.isoformat()
    from commutepass.services.context import App

    App.open(settings).close()  # migrate and create the secret once, before workers start
    uvicorn.run(
        "commutepass.api.server:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
