"""Typed building blocks of the API models that several areas share."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

FIRST_YEAR, LAST_YEAR = 1900, 9998
"""Times and dates outside these years are refused as input: near the ends of Python's range a
conversion to UTC or a few days of arithmetic would overflow (and answer 500, not 422)."""


_D = TypeVar("_D", date, datetime)


def _supported(value: _D) -> _D:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _not_a_number(value: object) -> object:
    """A time or a date is ISO 8601 text: a number (seconds since 1970?) is refused, not guessed."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("give an ISO 8601 time or date as text (2021-11-29T07:30), not a number")
    return value


Moment = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_supported)]
Day = Annotated[date, BeforeValidator(_not_a_number), AfterValidator(_supported)]


class Bilingual(BaseModel):
    zh: str
    en: str


class ReasonOut(BaseModel):
    code: str = Field(description="Stable reason code; see docs/reasons.md")
    params: dict[str, str]
    zh: str
    en: str
    remedy: Bilingual | None = None


class PopupOut(BaseModel):
    code: str
    zh: str
    en: str
