"""Swipes sent by checkpoints: each swipe id is recorded once, however often it is sent.

A checkpoint sends every swipe with a unique id (a UUID it made when the card was swiped).
A swipe without a decision is decided here, now (the checkpoint is online); a swipe decided
offline from the snapshot is recorded with the checkpoint's decision, since that is what
happened at the barrier. A swipe id seen before is answered with what was recorded then and
not counted again: a checkpoint that lost an answer (the service stopped mid-request) simply
sends the swipe again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commutepass.domain.decisions import Mode
from commutepass.domain.errors import InputError
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.policy import Decision
from commutepass.services import audit
from commutepass.services.context import App
from commutepass.services.decide import ENTERING, CheckRequest, CheckSession, check_json, swipe_row
from commutepass.store import credentials as store
from commutepass.store import repositories as repo


@dataclass(frozen=True)
class CheckpointSwipe:
    swipe_id: str
    request: CheckRequest
    decision: Decision | None = None
    """Decided offline at the checkpoint; None: decide here."""
    policy_version: str = ""
    reasons: tuple[str, ...] = ()


def _offline_row(app: App, swipe: CheckpointSwipe, conn: Any) -> dict[str, Any]:
    resident = parse_resident_id(swipe.request.id_number)
    key = app.vault.key(resident)
    person_id = repo.ensure_people(
        conn, [(key, resident.birth_date, resident.masked, app.vault.encrypt(resident))]
    )[key]
    assert swipe.decision is not None
    return {
        "person_id": person_id,
        "at": swipe.request.at,
        "site": swipe.request.site.strip()[:64],
        "mode": swipe.request.mode.value,
        "smartphone": swipe.request.smartphone,
        "decision": swipe.decision.value,
        "entered": swipe.decision in ENTERING,
        "policy_version": swipe.policy_version[:32],
        "reasons": ["OFFLINE_DECISION", *swipe.reasons],
    }


def receive(app: App, checkpoint: str, swipe: CheckpointSwipe, actor: audit.Actor) -> dict[str, Any]:
    """Record one swipe (its own transaction), audited as the ``actor``'s check like a check at
    ``/v1/checks``; the answer says whether it was new."""
    with app.engine.connect() as conn:
        known = store.swipe_decision(conn, swipe.swipe_id)
    if known is not None:
        return {"swipe_id": swipe.swipe_id, "duplicate": True, "decision": known, "answer": None}
    with app.transaction() as conn:
        answer: dict[str, Any] | None = None
        if swipe.decision is None:
            session = CheckSession(app, conn)
            resident, key, person_id, outcome, policy = session.decide(swipe.request)
            if person_id is None:
                cipher = app.vault.encrypt(resident)
                person_id = repo.ensure_people(conn, [(key, resident.birth_date, resident.masked, cipher)])[
                    key
                ]
            row = swipe_row(person_id, swipe.request, outcome, policy)
            answer = check_json(resident, swipe.request, outcome, policy)
        else:
            row = _offline_row(app, swipe, conn)
        new = store.record_checkpoint_swipe(
            conn, swipe.swipe_id, checkpoint, row, offline=swipe.decision is not None
        )
        if new:
            audit.record(
                conn,
                app,
                actor,
                "check",
                row["person_id"],
                f"check at {row['site']}",
                decision=row["decision"],
                checkpoint=checkpoint,
                offline=swipe.decision is not None,
            )
    if not new:  # another upload of the same swipe committed first
        with app.engine.connect() as conn:
            recorded = store.swipe_decision(conn, swipe.swipe_id)
        return {"swipe_id": swipe.swipe_id, "duplicate": True, "decision": recorded, "answer": None}
    return {"swipe_id": swipe.swipe_id, "duplicate": False, "decision": row["decision"], "answer": answer}


def receive_all(
    app: App, checkpoint: str, swipes: list[CheckpointSwipe], actor: audit.Actor
) -> list[dict[str, Any]]:
    """Each swipe in order; one that cannot be processed gets an ``error`` and the rest go on."""
    results: list[dict[str, Any]] = []
    for swipe in swipes:
        try:
            results.append(receive(app, checkpoint, swipe, actor))
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
