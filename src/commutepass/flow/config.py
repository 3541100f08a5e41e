"""The site data (lanes, capacity, hours) and the warning rules, as validated files.

Both are TOML, validated like the policies: a file that does not validate is refused whole, with
the file, the entry and the field named (``FlowFileError``), never half-loaded.
"""

from __future__ import annotations

import tomllib
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from commutepass.domain.clock import BEIJING

HERE = Path(__file__).parent
SITES_FILE = HERE / "sites.toml"
RULES_FILE = HERE / "warnings.toml"


class FlowFileError(ValueError):
    """A site or warning file does not validate: says which file, entry and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _clock(value: str, field: str) -> time:
    if value == "24:00":
        return time.max
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field} '{value}' is not HH:MM") from None


class SiteDefaults(_Strict):
    lanes: int = Field(2, ge=1, le=64)
    per_lane_per_minute: float = Field(2.0, gt=0, le=120)
    opens: str = "00:00"
    closes: str = "24:00"


class Site(_Strict):
    name: str = Field(min_length=1, max_length=64)
    name_en: str = ""
    mode: Literal["road", "rail"] = "road"
    lanes: tuple[str, ...] = Field(min_length=1, max_length=64)
    per_lane_per_minute: float = Field(gt=0, le=120)
    """People one lane clears per minute (the service rate μ)."""
    opens: str = "00:00"
    closes: str = "24:00"

    @field_validator("lanes")
    @classmethod
    def _lanes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for lane in value:
            if not lane or len(lane) > 16:
                raise ValueError(f"lane '{lane}' must be 1–16 characters")
        if len(set(value)) != len(value):
            raise ValueError("lane names repeat")
        return value

    @model_validator(mode="after")
    def _hours(self) -> Site:
        if _clock(self.opens, "opens") >= _clock(self.closes, "closes"):
            raise ValueError(f"opens {self.opens} is not before closes {self.closes}")
        return self

    @property
    def capacity(self) -> float:
        """People per minute all lanes clear (cμ)."""
        return len(self.lanes) * self.per_lane_per_minute

    def open_at(self, at: datetime) -> bool:
        local = at.astimezone(BEIJING).time()
        return _clock(self.opens, "opens") <= local < _clock(self.closes, "closes")


class SiteBook(_Strict):
    defaults: SiteDefaults = SiteDefaults()
    site: tuple[Site, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> SiteBook:
        names = [s.name for s in self.site]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"sites listed twice: {', '.join(repeated)}")
        return self

    def get(self, name: str) -> Site:
        """The site's data; a site not listed gets the defaults (lanes L1…Ln)."""
        for site in self.site:
            if site.name == name:
                return site
        d = self.defaults
        return Site(
            name=name,
            name_en=name,
            lanes=tuple(f"L{i + 1}" for i in range(d.lanes)),
            per_lane_per_minute=d.per_lane_per_minute,
            opens=d.opens,
            closes=d.closes,
        )


class _Rule(_Strict):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")


class FlowShareRule(_Rule):
    kind: Literal["flow_share"]
    share: float = Field(gt=0, le=10)


class WaitRule(_Rule):
    kind: Literal["wait"]
    minutes: float = Field(gt=0, le=24 * 60)


class RefusalRule(_Rule):
    kind: Literal["refusals"]
    factor: float = Field(gt=1, le=100)
    min_checks: int = Field(30, ge=1)


class SilentRule(_Rule):
    kind: Literal["silent"]
    minutes: int = Field(ge=1, le=24 * 60)


class ExpiryRule(_Rule):
    kind: Literal["expiry"]
    hours: float = Field(gt=0, le=24 * 30)


Rule = Annotated[
    FlowShareRule | WaitRule | RefusalRule | SilentRule | ExpiryRule, Field(discriminator="kind")
]


class RuleBook(_Strict):
    rule: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> RuleBook:
        ids = [r.id for r in self.rule]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"rule ids repeat: {', '.join(repeated)}")
        return self


def _read(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise FlowFileError(f"{path}: cannot read the file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise FlowFileError(f"{path.name}: not valid TOML ({exc})") from None


def _where(path: Path, exc: ValidationError) -> FlowFileError:
    problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
    return FlowFileError(f"{path.name}: {problems}")


def load_sites(path: Path) -> SiteBook:
    try:
        return SiteBook.model_validate(_read(path))
    except ValidationError as exc:
        raise _where(path, exc) from None


def load_rules(path: Path) -> RuleBook:
    try:
        return RuleBook.model_validate(_read(path))
    except ValidationError as exc:
        raise _where(path, exc) from None


@lru_cache(maxsize=8)
def sites(path: Path = SITES_FILE) -> SiteBook:
    return load_sites(path)


@lru_cache(maxsize=8)
def rules(path: Path = RULES_FILE) -> RuleBook:
    return load_rules(path)
