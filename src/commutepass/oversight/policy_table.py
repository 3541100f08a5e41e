"""Policy versions side by side: every parameter, one column per version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from commutepass.domain.policy import Policy

SKIP = {"version", "effective_from", "title_zh", "title_en"}


@dataclass(frozen=True)
class PolicyRow:
    name: str
    values: tuple[str, ...]

    @property
    def changed(self) -> tuple[bool, ...]:
        """For each version: does it differ from the version before it?"""
        return (False, *(a != b for a, b in zip(self.values, self.values[1:], strict=False)))


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, list | tuple):
        out[prefix] = ", ".join(str(v) for v in value) if value else "—"
    elif value is None:
        out[prefix] = "—"
    else:
        out[prefix] = str(value).lower() if isinstance(value, bool) else str(value)


def policy_rows(policies: Sequence[Policy]) -> list[PolicyRow]:
    flat: list[dict[str, str]] = []
    for policy in policies:
        values: dict[str, str] = {}
        _flatten("", policy.model_dump(mode="json", exclude=SKIP), values)
        flat.append(values)
    names: list[str] = []
    for values in flat:
        names.extend(name for name in values if name not in names)
    return [PolicyRow(name, tuple(values.get(name, "—") for values in flat)) for name in names]
