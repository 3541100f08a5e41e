"""The policy lifecycle: admins upload a version (draft), see what it changes against the version
in force, schedule it with an effective time or discard it, and withdraw a scheduled version
before it takes effect. States: draft → scheduled → in force → superseded (from the effective
times); withdrawn; discarded. Every step is audited; the built-in versions are read-only.

The book is read from the store (``App.policies``): every server sees a scheduled or withdrawn
version within a second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import InputError
from commutepass.domain.policy import Policy
from commutepass.domain.policy_authoring import (
    ACTIVE,
    Lifecycle,
    StoredState,
    check_schedulable,
    key_lines,
    lifecycle,
    parse_policy_text,
    policy_diff,
)
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.policies import policy_from_text
from commutepass.store import policy_store

MAX_BYTES = 64_000


def _iso(value: datetime) -> str:
    return value.astimezone(BEIJING).isoformat()


def _active_others(app: App, version: str) -> list[Policy]:
    with app.engine.connect() as conn:
        stored = policy_store.all_versions(conn)
    return [
        policy_from_text(v.body, v.effective_from)
        for v in stored
        if v.state in ACTIVE and v.version != version
    ]


def _stored(app: App, version: str) -> policy_store.StoredVersion:
    with app.engine.connect() as conn:
        found = policy_store.get(conn, version)
    if found is None:
        raise InputError("version", f"no policy version '{version}'", f"没有政策版本“{version}”")
    return found


def versions(app: App) -> list[dict[str, Any]]:
    """Every stored version with its state as people see it, oldest effective time first."""
    now = app.now()
    book = app.policies
    try:
        in_force: str | None = book.in_force(now).version
    except LookupError:
        in_force = None
    with app.engine.connect() as conn:
        stored = policy_store.all_versions(conn)
    out = []
    for v in stored:
        state = lifecycle(v.state, v.effective_from, in_force, v.version, now)
        out.append(
            {
                "version": v.version,
                "state": state.value,
                "builtin": v.state is StoredState.BUILTIN,
                "effective_from": _iso(v.effective_from),
                "created_by": v.created_by,
                "created_at": _iso(v.created_at),
            }
        )
    return out


def upload(app: App, actor: audit.Actor, text: str) -> dict[str, Any]:
    """Validate the TOML text and store it as a draft; every problem with its line and field
    (``PolicyUploadError``) and nothing stored otherwise. The draft's diff against the version
    in force comes back with it."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise InputError("toml", f"larger than {MAX_BYTES} bytes", f"超过 {MAX_BYTES} 字节")
    policy = parse_policy_text(text, app.catalog)
    with app.engine.connect() as conn:
        taken = policy_store.get(conn, policy.version)
    if taken is not None:
        line = key_lines(text).get("version")
        where = f"line {line}: " if line else ""
        raise InputError(
            "version",
            f"{where}version '{policy.version}' exists already ({taken.state.value})",
            f"政策版本“{policy.version}”已存在",
        )
    check_schedulable(policy, policy.effective_from, app.now(), _active_others(app, policy.version), text)
    with app.transaction() as conn:
        policy_store.add_draft(conn, policy.version, text, policy.effective_from, actor.username)
        audit.record(
            conn,
            app,
            actor,
            "policy.draft",
            None,
            f"uploaded policy version {policy.version}",
            version=policy.version,
            effective_from=_iso(policy.effective_from),
        )
    return {"version": policy.version, "state": Lifecycle.DRAFT.value, "diff": diff(app, policy.version)}


def diff(app: App, version: str) -> dict[str, Any]:
    """What the version changes against the version in force now: parameters and ring area."""
    stored = _stored(app, version)
    candidate = policy_from_text(stored.body, stored.effective_from)
    in_force = app.policies.in_force(app.now())
    return policy_diff(in_force, candidate, app.catalog)


def schedule(
    app: App, actor: audit.Actor, version: str, effective_from: datetime | None = None
) -> dict[str, Any]:
    """A draft takes effect at ``effective_from`` (default: the time its file names)."""
    stored = _stored(app, version)
    if stored.state is not StoredState.DRAFT:
        raise InputError(
            "version",
            f"only a draft can be scheduled ('{version}' is {stored.state.value})",
            "只有草稿可以排期",
        )
    candidate = policy_from_text(stored.body, effective_from or stored.effective_from)
    check_schedulable(candidate, candidate.effective_from, app.now(), _active_others(app, version))
    with app.transaction() as conn:
        if not policy_store.change_state(
            conn, version, StoredState.DRAFT, StoredState.SCHEDULED, candidate.effective_from
        ):
            raise InputError(
                "version", f"'{version}' changed meanwhile; look again", "该版本刚被他人修改，请刷新"
            )
        audit.record(
            conn,
            app,
            actor,
            "policy.schedule",
            None,
            f"scheduled policy version {version}",
            version=version,
            effective_from=_iso(candidate.effective_from),
        )
    app.policies_changed()
    return {
        "version": version,
        "state": Lifecycle.SCHEDULED.value,
        "effective_from": _iso(candidate.effective_from),
    }


def withdraw(app: App, actor: audit.Actor, version: str, reason: str) -> dict[str, Any]:
    """Take back a scheduled version before it takes effect (it never applies)."""
    stored = _stored(app, version)
    if stored.state is StoredState.BUILTIN:
        raise InputError("version", "a built-in version is read-only", "内置政策版本不可更改")
    if stored.state is not StoredState.SCHEDULED:
        raise InputError(
            "version",
            f"only a scheduled version can be withdrawn ('{version}' is {stored.state.value})",
            "只有已排期的版本可以撤回",
        )
    if stored.effective_from <= app.now():
        raise InputError(
            "version",
            f"'{version}' took effect at {_iso(stored.effective_from)}: schedule a new version instead",
            f"“{version}”已于 {_iso(stored.effective_from)} 生效，不能撤回；请排期新版本",
        )
    why = reason.strip()
    if not why:
        raise InputError("reason", "say why the version is withdrawn", "请说明撤回原因")
    with app.transaction() as conn:
        if not policy_store.change_state(conn, version, StoredState.SCHEDULED, StoredState.WITHDRAWN):
            raise InputError(
                "version", f"'{version}' changed meanwhile; look again", "该版本刚被他人修改，请刷新"
            )
        audit.record(conn, app, actor, "policy.withdraw", None, why[:500], version=version)
    app.policies_changed()
    return {"version": version, "state": Lifecycle.WITHDRAWN.value}


def discard(app: App, actor: audit.Actor, version: str) -> dict[str, Any]:
    """Drop a draft that will not be scheduled (its text stays in the store, discarded)."""
    stored = _stored(app, version)
    if stored.state is not StoredState.DRAFT:
        raise InputError(
            "version",
            f"only a draft can be discarded ('{version}' is {stored.state.value})",
            "只有草稿可以放弃",
        )
    with app.transaction() as conn:
        policy_store.change_state(conn, version, StoredState.DRAFT, StoredState.DISCARDED)
        audit.record(conn, app, actor, "policy.discard", None, f"discarded draft {version}", version=version)
    return {"version": version, "state": Lifecycle.DISCARDED.value}
