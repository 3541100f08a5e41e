"""The versioned policy files, one per version, validated when loaded."""

from __future__ import annotations

import tomllib
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


@lru_cache(maxsize=1)
def builtin_policies() -> PolicyBook:
    """The versions shipped with commutepass (this folder)."""
    folder = Path(str(resources.files(__package__)))
    return load_policy_dir(folder)
