"""Typed dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from commutepass.services.context import App
from commutepass.services.swipes import SwipeWriter


def get_app(request: Request) -> App:
    application: App = request.app.state.commutepass
    return application


def get_swipes(request: Request) -> SwipeWriter:
    writer: SwipeWriter = request.app.state.swipes
    return writer


AppDep = Annotated[App, Depends(get_app)]
SwipesDep = Annotated[SwipeWriter, Depends(get_swipes)]
