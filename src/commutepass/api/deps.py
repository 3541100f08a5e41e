"""Typed dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from commutepass.services.context import App


def get_app(request: Request) -> App:
    application: App = request.app.state.commutepass
    return application


AppDep = Annotated[App, Depends(get_app)]
