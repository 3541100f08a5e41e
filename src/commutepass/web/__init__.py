"""The web pages (Jinja2, server-rendered, no CDN): one module of routes, templates, static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from commutepass.web.pages import router


def install(api: FastAPI) -> None:
    api.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    api.include_router(router)
