"""What every command group of the command line shares: one JSON object per line out, bad
input as an ``error`` line with exit status 2, and the application opened from the settings
the root command put in the context."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, NoReturn

import orjson
import typer

from commutepass.domain.clock import parse_time
from commutepass.domain.errors import InputError, LoadError
from commutepass.kit.context import App
from commutepass.kit.settings import Settings


def emit(obj: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))
    sys.stdout.buffer.flush()


def fail(exc: InputError | LoadError, code: int = 2) -> NoReturn:
    if isinstance(exc, InputError):
        emit({"error": exc.as_dict()})
    else:
        emit({"error": {"file": str(exc.path), "en": exc.en, "zh": exc.zh}})
    raise typer.Exit(code)


def app_of(ctx: typer.Context) -> App:
    settings: Settings = ctx.obj
    return App.open(settings)


def at_or_now(value: str | None) -> datetime:
    return parse_time(value, "at") if value else datetime.now().astimezone()
