"""Typed request and response models of the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, Field

FIRST_YEAR, LAST_YEAR = 1900, 9998
"""Times and dates outside these years are refused as input: near the ends of Python's range a
conversion to UTC or a few days of arithmetic would overflow (and answer 500, not 422)."""


_D = TypeVar("_D", date, datetime)


def _supported(value: _D) -> _D:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must lie between the years {FIRST_YEAR} and {LAST_YEAR}")
    return value


Moment = Annotated[datetime, AfterValidator(_supported)]
Day = Annotated[date, AfterValidator(_supported)]


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


class StatusRequest(BaseModel):
    id_number: str = Field(description="Resident ID number (18 characters)")
    at: Moment | None = Field(None, description="ISO 8601; no offset means Beijing time; default now")
    reason: str | None = Field(
        None, max_length=1000, description="Why staff look this person up (required for the hotline; audited)"
    )


class _CodeFields(BaseModel):
    """What a status and a check both say about the health code."""

    id: str = Field(description="Masked ID number")
    at: datetime
    policy_version: str
    color: Literal["green", "yellow", "red"]
    popup: PopupOut | None
    commuter_badge: bool
    commuter_class: Literal["daily", "weekly"] | None
    nat_valid_until: datetime | None


class StatusOut(_CodeFields):
    reasons: list[ReasonOut]
    explanation: Bilingual


class CheckRequestIn(BaseModel):
    id_number: str
    at: Moment | None = None
    site: str = Field(min_length=1, max_length=64)
    mode: Literal["road", "rail"]
    smartphone: bool = True
    companions: list[str] = Field(default_factory=list, max_length=10)


class CheckOut(_CodeFields):
    decision: Literal["allow", "allow_report", "allow_quarantine", "documents", "refuse"]
    site: str
    mode: Literal["road", "rail"]
    reasons: list[ReasonOut] = Field(description="Why this decision")
    status_reasons: list[ReasonOut] = Field(description="Why this code, pop-up and badge")
    to_check_by_hand: list[ReasonOut]
    explanation: Bilingual


class CommuterIn(BaseModel):
    id_number: str
    since: Day
    source: Literal["application", "hotline", "manual"]
    commuter_class: Literal["daily", "weekly"] = "daily"
    home_county: str | None = Field(None, pattern=r"^\d{6}$")
    reason: str = Field("", max_length=500)


class CommuterOut(BaseModel):
    id: str
    person_key: str
    commuter_class: Literal["daily", "weekly"]
    source: Literal["auto", "application", "hotline", "manual"]
    home_county: str | None
    valid_from: datetime
    valid_to: datetime | None
    reason: str
    evidence: str | None


class LoadOut(BaseModel):
    kind: str
    file: str
    rows: int
    added: int
    duplicate: int
    rejected: int
    rejects: list[dict[str, str | int]]
