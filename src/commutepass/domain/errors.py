"""Errors the domain raises for bad input, each saying what and where in both languages."""

from __future__ import annotations


class InputError(ValueError):
    """A value a person or a file supplied is not acceptable.

    ``field`` names the offending field; ``zh``/``en`` say what is wrong and what to do.
    """

    def __init__(self, field: str, en: str, zh: str) -> None:
        super().__init__(f"{field}: {en}")
        self.field = field
        self.en = en
        self.zh = zh

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "en": self.en, "zh": self.zh}


class NoPolicyInForce(LookupError):
    """No policy version covers the requested time."""
