"""Errors raised for bad input or a refused request, each saying what and where in both languages."""

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


class NoPolicyError(InputError):
    """No policy is in force at the time asked about: the one error every entry point gives."""

    def __init__(self, at: str, field: str = "at") -> None:
        super().__init__(field, f"no policy is in force at {at}", f"{at} 时没有生效的政策")


class LoadError(Exception):
    """A file as a whole cannot be loaded (missing, unreadable, wrong header). Nothing stored."""

    def __init__(self, path: object, en: str, zh: str) -> None:
        super().__init__(f"{path}: {en}")
        self.path = path
        self.en = en
        self.zh = zh


class Refusal(Exception):
    """A request refused for who is asking, said in both languages."""

    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh


class AuthError(Refusal):
    """Not signed in, or the credentials or token do not hold (HTTP 401)."""


class Forbidden(Refusal):
    """Signed in, but this role or this person is not yours to see or change (HTTP 403)."""


class TooManyAttempts(Refusal):
    """Too many failed sign-ins for this account or from this address: wait (HTTP 429 with
    ``Retry-After``), or ask an admin to lift a lockout."""

    def __init__(self, en: str, zh: str, retry_after: int) -> None:
        super().__init__(en, zh)
        self.retry_after = max(1, retry_after)
