"""The web pages (Jinja2, server-rendered, no CDN): routes per role, templates, static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from commutepass.web import auth_pages, pages, workflow_pages


def install(api: FastAPI) -> None:
    api.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    api.include_router(auth_pages.router)
    api.include_router(pages.router)
    api.include_router(workflow_pages.router)
    auth_pages.install_handlers(api)
