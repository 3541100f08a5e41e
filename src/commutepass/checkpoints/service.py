"""Swipes sent by checkpoints: each swipe id is recorded once, however often it is sent.

A checkpoint sends every swipe with a unique id (a UUID it made when the card was swiped).
A swipe without a decision is decided here, now (the checkpoint is online); a swipe decided
offline from the snapshot is recorded with the checkpoint's decision, since that is what
happened at the barrier. A swipe id seen before is answered with what was recorded then and
not counted again: a checkpoint that lost an answer (the service stopped mid-request) simply
sends the swipe again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from commutepass.checkpoints import repository
from commutepass.checkpoints.snapshot import encode_person, encode_snapshot, pseudonym
from commutepass.checks.service import (
    CheckRequest,
    CheckSession,
    Decided,
    Swipe,
    policy_at,
    record,
    swipe_row,
)
from commutepass.credentials.service import keyring
from commutepass.domain.clock import BEIJING, to_utc
from commutepass.domain.decisions import Mode
from commutepass.domain.errors import InputError
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.policy import Decision
from commutepass.domain.policy_authoring import ACTIVE, StoredState
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.sessions import User
from commutepass.store import policy_store
from commutepass.store.facts import NAT_LOOKBACK, FactReader


@dataclass(frozen=True)
class CheckpointSwipe:
    swipe_id: str
    request: CheckRequest
    decision: Decision | None = None
    """Decided offline at the checkpoint; None: decide here."""
    policy_version: str = ""
    reasons: tuple[str, ...] = ()


def _swipe(
    app: App, conn: Connection, checkpoint: str, swipe: CheckpointSwipe
) -> tuple[Swipe, Decided | None]:
    """The swipe to record: decided here now (the checkpoint was online), or as the checkpoint
    decided it offline from its snapshot (what happened at the barrier)."""
    detail = {"checkpoint": checkpoint, "offline": swipe.decision is not None}
    if swipe.decision is None:
        decided = CheckSession(app, conn).decide(swipe.request)
        return replace(decided.swipe(**detail), swipe_id=swipe.swipe_id), decided
    resident = parse_resident_id(swipe.request.id_number)
    # the checkpoint's own reasons start with OFFLINE_DECISION; older clients sent them without it
    reasons = (
        swipe.reasons if swipe.reasons[:1] == ("OFFLINE_DECISION",) else ("OFFLINE_DECISION", *swipe.reasons)
    )
    row = swipe_row(None, swipe.request, swipe.decision, swipe.policy_version, reasons)
    return Swipe(row, app.person_row(resident), detail, swipe.swipe_id), None


def receive(app: App, checkpoint: str, swipe: CheckpointSwipe, user: User) -> dict[str, Any]:
    """Record one swipe (its own transaction) through the checks pipeline, audited as the
    ``user``'s check like a check at ``/v1/checks``; the answer, as the officer may see it, says
    whether it was new."""
    with app.engine.connect() as conn:
        known = repository.swipe_decision(conn, swipe.swipe_id)
    if known is not None:
        return {"swipe_id": swipe.swipe_id, "duplicate": True, "decision": known, "answer": None}
    with app.transaction() as conn:
        stored, decided = _swipe(app, conn, checkpoint, swipe)
        [new] = record(conn, app, user.actor, [stored])
    if not new:  # another upload of the same swipe committed first
        with app.engine.connect() as conn:
            recorded = repository.swipe_decision(conn, swipe.swipe_id)
        return {"swipe_id": swipe.swipe_id, "duplicate": True, "decision": recorded, "answer": None}
    answer = decided.view(user.role) if decided is not None else None
    return {
        "swipe_id": swipe.swipe_id,
        "duplicate": False,
        "decision": stored.row["decision"],
        "answer": answer,
    }


def receive_all(app: App, checkpoint: str, swipes: list[CheckpointSwipe], user: User) -> list[dict[str, Any]]:
    """Each swipe in order; one that cannot be processed gets an ``error`` and the rest go on."""
    results: list[dict[str, Any]] = []
    for swipe in swipes:
        try:
            results.append(receive(app, checkpoint, swipe, user))
        except InputError as exc:
            results.append({"swipe_id": swipe.swipe_id, "error": exc.as_dict()})
    return results


def make_swipe(item: dict[str, Any], at: datetime) -> CheckpointSwipe:
    """A swipe from the API body (already validated by its schema)."""
    decision = item.get("decision")
    return CheckpointSwipe(
        swipe_id=str(item["swipe_id"]),
        request=CheckRequest(
            id_number=item["id_number"],
            at=at,
            site=item["site"],
            mode=Mode(item["mode"]),
            smartphone=bool(item.get("smartphone", True)),
        ),
        decision=Decision(decision) if decision else None,
        policy_version=item.get("policy_version") or "",
        reasons=tuple(item.get("reasons") or ()),
    )


# --- the offline snapshot ------------------------------------------------------------------------


def snapshot_key(app: App, as_of: datetime) -> bytes:
    """The pseudonym key of the snapshots of one day (checkpoints get it with the snapshot)."""
    day: date = as_of.astimezone(BEIJING).date()
    return app.vault.derive(b"commutepass snapshot key v1 " + day.isoformat().encode())


def build_snapshot(app: App, as_of: datetime) -> dict[str, Any]:
    """The signed snapshot at ``as_of`` and its key (both base64), for a checkpoint."""
    moment = to_utc(as_of).replace(second=0, microsecond=0)
    policy = policy_at(app, moment)
    key = snapshot_key(app, moment)
    risk = app.risk_map()
    risky = set(risk.unit_of)
    people: list[tuple[bytes, list[Any]]] = []
    with app.engine.connect() as conn:
        reader = FactReader(conn)
        for person_id, birth, cipher in list(repository.snapshot_people(conn, moment, NAT_LOOKBACK)):
            number = app.vault.decrypt(cipher)
            facts = reader.facts(person_id, birth, moment, policy)
            people.append((pseudonym(key, number), encode_person(facts, moment, policy, risky)))
    periods = [p for plist in risk.by_county.values() for p in plist]
    with app.engine.connect() as conn:
        stored = policy_store.all_versions(conn)
    carried = [(v.version, v.effective_from, v.body) for v in stored if v.state in ACTIVE]
    withdrawn = [v.version for v in stored if v.state is StoredState.WITHDRAWN]
    signed = encode_snapshot(
        people, moment, policy.version, periods, keyring(app).trust_signer(), carried, withdrawn
    )
    return {
        "as_of": moment.astimezone(BEIJING).isoformat(),
        "people": len(people),
        "snapshot": base64.b64encode(signed).decode("ascii"),
        "key": base64.b64encode(key).decode("ascii"),
    }


def hand_out_snapshot(app: App, user: User, as_of: datetime) -> dict[str, Any]:
    """``build_snapshot`` for a checkpoint, with who took it (and its key) in the audit log."""
    built = build_snapshot(app, as_of)
    with app.transaction() as conn:
        audit.record(
            conn,
            app,
            user.actor,
            "checkpoint.snapshot",
            None,
            "offline snapshot",
            as_of=built["as_of"],
            people=built["people"],
        )
    return built
