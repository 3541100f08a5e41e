"""Typed dependencies shared by the routers.

They are ``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, two
thread hand-offs per request for a dictionary lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from commutepass.services.context import App
from commutepass.services.swipes import SwipeWriter


async def get_app(request: Request) -> App:
    application: App = request.app.state.commutepass
    return application


async def get_swipes(request: Request) -> SwipeWriter:
    writer: SwipeWriter = request.app.state.swipes
    return writer


AppDep = Annotated[App, Depends(get_app)]
SwipesDep = Annotated[SwipeWriter, Depends(get_swipes)]
