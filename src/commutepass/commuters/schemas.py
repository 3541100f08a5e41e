"""Typed request and response models of the commuter database."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from commutepass.kit.schemas import Day


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
