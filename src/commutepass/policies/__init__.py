"""The versioned policy files, one per version, validated when loaded."""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

from commutepass.domain.policy import Policy, PolicyBook


class PolicyFileError(ValueError):
    """A policy file does not validate: says which file and which field."""


def load_policy_file(path: Path) -> Policy:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PolicyFileError(f"{path.name}: not valid TOML: {exc}") from exc
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise PolicyFileError(f"{path.name}: {problems}") from exc
    if path.stem != policy.version:
        raise PolicyFileError(f"{path.name}: file name must be the version '{policy.version}'")
    return policy


def load_policy_dir(directory: Path) -> PolicyBook:
    files = sorted(directory.glob("*.toml"))
    return PolicyBook([load_policy_file(f) for f in files])


def builtin_folder() -> Path:
    return Path(str(resources.files(__package__)))


def policy_texts(directory: Path | None = None) -> list[tuple[Policy, str]]:
    """Each version of a folder (the built-in one by default) with its TOML text, validated."""
    folder = directory or builtin_folder()
    return [(load_policy_file(f), f.read_text(encoding="utf-8")) for f in sorted(folder.glob("*.toml"))]


def policy_from_text(text: str, effective_from: datetime | None = None) -> Policy:
    """A stored version (validated when it was stored), in force from ``effective_from``."""
    policy = Policy.model_validate(tomllib.loads(text))
    if effective_from is not None and effective_from != policy.effective_from:
        policy = policy.model_copy(update={"effective_from": effective_from})
    return policy


@lru_cache(maxsize=1)
def builtin_policies() -> PolicyBook:
    """The versions shipped with commutepass (this folder)."""
    folder = Path(str(resources.files(__package__)))
    return load_policy_dir(folder)
