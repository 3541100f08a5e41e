"""Typed request and response models of status and checks."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictBool

from commutepass.kit.schemas import Bilingual, Moment, PopupOut, ReasonOut


class StatusRequest(BaseModel):
    id_number: str = Field(description="Resident ID number (18 characters)")
    at: Moment | None = Field(None, description="ISO 8601; no offset means Beijing time; default now")
    reason: str | None = Field(
        None, max_length=1000, description="Why staff look this person up (required for the hotline; audited)"
    )
    known_at: Moment | None = Field(
        None,
        description="Recorded-time horizon: answer with the facts the system had recorded by then "
        "(ISO 8601; no offset means Beijing time); default everything recorded so far",
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
    known_at: datetime | None = Field(
        None, description="The recorded-time horizon the answer used; null: everything recorded"
    )
    reasons: list[ReasonOut]
    explanation: Bilingual
    limited: bool = Field(
        False,
        description="A family member who has not confirmed the link: only the colour, the badge and "
        "the NAT deadline are shown (no reasons, no pop-up)",
    )


class PledgeIn(BaseModel):
    """The sampling slip of a person who signs the pledge (seed 003)."""

    site: str = Field(min_length=1, max_length=64, description="The service-area test point")
    sampled_at: Moment


class CheckRequestIn(BaseModel):
    id_number: str
    at: Moment | None = None
    site: str = Field(min_length=1, max_length=64)
    mode: Literal["road", "rail", "air"]
    smartphone: StrictBool = True
    companions: list[str] = Field(default_factory=list, max_length=10)
    lane: str = Field("", max_length=16, description="The lane or gate at the site (for the flow counts)")
    pledge: PledgeIn | None = None
    known_at: Moment | None = Field(
        None, description="Decide with the facts recorded by then (stored with the check); default now"
    )


class CheckOut(_CodeFields):
    decision: Literal["allow", "allow_report", "allow_quarantine", "documents", "allow_pledge", "refuse"]
    site: str
    mode: Literal["road", "rail", "air"]
    reasons: list[ReasonOut] = Field(description="Why this decision")
    status_reasons: list[ReasonOut] = Field(description="Why this code, pop-up and badge")
    to_check_by_hand: list[ReasonOut]
    explanation: Bilingual
