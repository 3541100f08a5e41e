"""Authoring policy versions: validate an uploaded TOML text (every problem with its line and
field), compare a candidate with the version in force, and name a version's lifecycle state.

Pure: no I/O. The store keeps the versions and their states (``store/policy_store.py``); the
service in ``oversight/policy_versions.py`` runs the lifecycle.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from commutepass.domain.errors import InputError
from commutepass.domain.policy import Policy
from commutepass.domain.regions import RegionCatalog


class StoredState(StrEnum):
    """What the store keeps; "in force" and "superseded" follow from the effective times."""

    BUILTIN = "builtin"  # shipped with commutepass, seeded into the store, read-only
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    WITHDRAWN = "withdrawn"  # was scheduled, taken back before it took effect
    DISCARDED = "discarded"  # a draft never scheduled


class Lifecycle(StrEnum):
    """A version's state as people see it."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    IN_FORCE = "in_force"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"
    DISCARDED = "discarded"


ACTIVE = (StoredState.BUILTIN, StoredState.SCHEDULED)
"""Stored states whose versions are in the policy book."""


@dataclass(frozen=True, slots=True)
class PolicyProblem:
    line: int | None
    field: str
    en: str
    zh: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "field": self.field, "en": self.en, "zh": self.zh}


class PolicyUploadError(InputError):
    """An uploaded version does not validate; nothing was stored. Every problem is listed."""

    def __init__(self, problems: Sequence[PolicyProblem]) -> None:
        first = problems[0]
        where = f"line {first.line}, " if first.line else ""
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(first.field, f"{where}{first.en}{more}", f"{first.zh}")
        self.problems = tuple(problems)

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "problems": [p.as_dict() for p in self.problems]}


_TOML_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*\[+\s*([A-Za-z0-9_.\-\" ]+?)\s*\]+\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def key_lines(text: str) -> dict[str, int]:
    """Dotted key → the line (1-based) where the TOML text sets it (tables by their header)."""
    found: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = header.group(1).replace('"', "").strip()
            found.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            found.setdefault(f"{table}.{key.group(1)}" if table else key.group(1), number)
    return found


def _line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path`` or of its nearest enclosing table."""
    parts = path.split(".")
    while parts:
        dotted = ".".join(parts)
        if dotted in lines:
            return lines[dotted]
        parts.pop()
    return None


def parse_policy_text(text: str, catalog: RegionCatalog) -> Policy:
    """The version the TOML text describes, or ``PolicyUploadError`` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = _TOML_WHERE.search(str(exc))
        line = int(where.group(1)) if where else None
        if line is None and "end of document" in str(exc):
            line = max(1, len(text.splitlines()))
        message = _TOML_WHERE.sub("", str(exc)).replace("(at end of document)", "").strip()
        raise PolicyUploadError(
            [PolicyProblem(line, "toml", f"not valid TOML: {message}", f"不是有效的 TOML：{message}")]
        ) from None
    lines = key_lines(text)
    problems: list[PolicyProblem] = []
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
            if err["type"] == "extra_forbidden":
                en, zh = "is not a policy parameter", "不是政策参数"
            else:
                en, zh = err["msg"], f"取值无效：{err['msg']}"
            problems.append(PolicyProblem(_line_of(lines, path), path or "policy", en, zh))
        raise PolicyUploadError(problems) from None
    for field, codes, width in (
        ("ring_area.provinces", policy.ring_area.provinces, 2),
        ("ring_area.prefectures", policy.ring_area.prefectures, 4),
        ("risk.ignore_provinces", policy.risk.ignore_provinces, 2),
    ):
        known = {c.code[:width] for c in catalog.counties()}
        for code in codes:
            if code not in known:
                problems.append(
                    PolicyProblem(
                        _line_of(lines, field),
                        field,
                        f"'{code}' is no province or prefecture in the region data (GB/T 2260)",
                        f"“{code}”不是区划数据（GB/T 2260）中的省或地级市代码",
                    )
                )
    if problems:
        raise PolicyUploadError(problems)
    return policy


def check_schedulable(
    policy: Policy, effective_from: datetime, now: datetime, active: Iterable[Policy], text: str = ""
) -> None:
    """A version may be scheduled only in the future, and not at the instant another active
    version takes effect (two versions cannot start together)."""
    line = key_lines(text).get("effective_from") if text else None
    if effective_from <= now:
        raise PolicyUploadError(
            [
                PolicyProblem(
                    line,
                    "effective_from",
                    f"{effective_from.isoformat()} is not in the future (now {now.isoformat()})",
                    f"生效时间 {effective_from.isoformat()} 不晚于现在（{now.isoformat()}）",
                )
            ]
        )
    for other in active:
        if other.version == policy.version:
            raise PolicyUploadError(
                [PolicyProblem(key_lines(text).get("version"), "version", "is taken", "版本号已被使用")]
            )
        if other.effective_from == effective_from:
            raise PolicyUploadError(
                [
                    PolicyProblem(
                        line,
                        "effective_from",
                        f"version {other.version} takes effect at the same instant",
                        f"版本 {other.version} 在同一时刻生效",
                    )
                ]
            )


def lifecycle(
    stored: StoredState, effective_from: datetime, in_force_version: str | None, version: str, now: datetime
) -> Lifecycle:
    if stored is StoredState.DRAFT:
        return Lifecycle.DRAFT
    if stored is StoredState.WITHDRAWN:
        return Lifecycle.WITHDRAWN
    if stored is StoredState.DISCARDED:
        return Lifecycle.DISCARDED
    if effective_from > now:
        return Lifecycle.SCHEDULED
    return Lifecycle.IN_FORCE if version == in_force_version else Lifecycle.SUPERSEDED


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flat(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


_NOT_PARAMETERS = {"version", "title_zh", "title_en", "sources", "effective_from"}


def policy_diff(in_force: Policy, candidate: Policy, catalog: RegionCatalog) -> dict[str, Any]:
    """Parameters that differ (name, in force, candidate), and the ring area's prefectures and
    provinces added and removed, with names from the region data."""
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    _flat("", in_force.model_dump(mode="json", exclude=_NOT_PARAMETERS), a)
    _flat("", candidate.model_dump(mode="json", exclude=_NOT_PARAMETERS), b)
    changed = [
        {"parameter": name, "in_force": a.get(name), "candidate": b.get(name)}
        for name in sorted(set(a) | set(b))
        if a.get(name) != b.get(name)
    ]
    names: dict[str, str] = {}
    for county in catalog.counties():
        names.setdefault(county.province_code, county.province_name)
        names.setdefault(county.prefecture_code[:4], county.prefecture_name)
    before = {*in_force.ring_area.provinces, *in_force.ring_area.prefectures}
    after = {*candidate.ring_area.provinces, *candidate.ring_area.prefectures}
    return {
        "in_force": in_force.version,
        "candidate": candidate.version,
        "parameters": changed,
        "ring_area": {
            "added": [{"code": c, "name": names.get(c, c)} for c in sorted(after - before)],
            "removed": [{"code": c, "name": names.get(c, c)} for c in sorted(before - after)],
        },
    }
