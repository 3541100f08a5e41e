"""The answer of a load."""

from __future__ import annotations

from pydantic import BaseModel


class LoadOut(BaseModel):
    kind: str
    file: str
    rows: int
    added: int
    duplicate: int
    rejected: int
    rejects: list[dict[str, str | int]]
