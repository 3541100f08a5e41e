"""Status and checkpoint checks: gather one person's facts, let the domain decide, record swipes."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from commutepass.domain.clock import BEIJING, parse_time, to_utc
from commutepass.domain.decisions import (
    CheckOutcome,
    Companion,
    Mode,
    Status,
    assess_status,
    decide_check,
)
from commutepass.domain.errors import InputError, NoPolicyInForce
from commutepass.domain.facts import PersonFacts
from commutepass.domain.identity import ResidentId, parse_resident_id
from commutepass.domain.policy import Decision, Policy
from commutepass.domain.reasons import explain_check, explain_status, popup_json, reason_json
from commutepass.services.context import App
from commutepass.store import repositories as repo

ENTERING = {Decision.ALLOW, Decision.ALLOW_REPORT, Decision.ALLOW_QUARANTINE, Decision.DOCUMENTS}
"""Decisions after which the person is taken to have entered Beijing."""


@dataclass(frozen=True)
class CheckRequest:
    id_number: str
    at: datetime
    site: str
    mode: Mode
    smartphone: bool = True
    companions: tuple[str, ...] = field(default_factory=tuple)


def _policy(app: App, at: datetime) -> Policy:
    try:
        return app.policies.in_force(at)
    except NoPolicyInForce as exc:
        raise InputError("at", str(exc), f"{at.isoformat()} 时没有生效的政策") from exc


def _facts(app: App, conn: Connection, resident: ResidentId, at: datetime, policy: Policy) -> PersonFacts:
    person = repo.find_person(conn, app.vault.key(resident))
    if person is None:
        return PersonFacts(birth_date=resident.birth_date)
    return repo.person_facts(conn, person, to_utc(at), policy)


def status_json(resident: ResidentId, at: datetime, status: Status, policy: Policy) -> dict[str, Any]:
    return {
        "id": resident.masked,
        "at": at.astimezone(BEIJING).isoformat(),
        "policy_version": policy.version,
        "color": status.color.value,
        "popup": popup_json(status.popup),
        "commuter_badge": status.commuter_badge,
        "commuter_class": status.commuter_class.value if status.commuter_class else None,
        "nat_valid_until": status.nat_valid_until.astimezone(BEIJING).isoformat()
        if status.nat_valid_until
        else None,
        "reasons": [reason_json(r) for r in status.reasons],
        "explanation": explain_status(status, policy),
    }


def check_json(
    resident: ResidentId, request: CheckRequest, outcome: CheckOutcome, policy: Policy
) -> dict[str, Any]:
    body = status_json(resident, request.at, outcome.status, policy)
    body["status_reasons"] = body.pop("reasons")
    body.pop("explanation")
    return {
        "decision": outcome.decision.value,
        **body,
        "site": request.site,
        "mode": request.mode.value,
        "reasons": [reason_json(r) for r in outcome.reasons],
        "to_check_by_hand": [reason_json(r) for r in outcome.manual_checks],
        "explanation": explain_check(outcome, policy),
    }


def status_of(app: App, id_number: str, at: datetime) -> dict[str, Any]:
    resident = parse_resident_id(id_number)
    policy = _policy(app, at)
    with app.engine.connect() as conn:
        facts = _facts(app, conn, resident, at, policy)
    status = assess_status(facts, policy, to_utc(at), app.risk_map(), app.catalog)
    return status_json(resident, at, status, policy)


def _decide(app: App, conn: Connection, request: CheckRequest) -> tuple[ResidentId, CheckOutcome, Policy]:
    resident = parse_resident_id(request.id_number)
    companions_ids = [parse_resident_id(c, "companions") for c in request.companions]
    if not request.site.strip():
        raise InputError("site", "is empty: name the checkpoint or station", "检查站或车站名称为空")
    policy = _policy(app, request.at)
    at_utc = to_utc(request.at)
    facts = _facts(app, conn, resident, request.at, policy)
    companions = [Companion(c.masked, _facts(app, conn, c, request.at, policy)) for c in companions_ids]
    outcome = decide_check(
        facts,
        policy,
        at_utc,
        app.risk_map(),
        app.catalog,
        mode=request.mode,
        smartphone=request.smartphone,
        companions=companions,
    )
    return resident, outcome, policy


def _record(
    app: App,
    conn: Connection,
    resident: ResidentId,
    request: CheckRequest,
    outcome: CheckOutcome,
    policy: Policy,
) -> None:
    key = app.vault.key(resident)
    ids = repo.ensure_people(conn, [(key, resident.birth_date, resident.masked, app.vault.encrypt(resident))])
    repo.record_checks(
        conn,
        [
            {
                "person_id": ids[key],
                "at": to_utc(request.at),
                "site": request.site.strip()[:64],
                "mode": request.mode.value,
                "smartphone": request.smartphone,
                "decision": outcome.decision.value,
                "entered": outcome.decision in ENTERING,
                "policy_version": policy.version,
                "reasons": [r.code for r in (*outcome.reasons, *outcome.status.reasons)],
            }
        ],
    )


def check(app: App, request: CheckRequest, *, record: bool = True) -> dict[str, Any]:
    """Decide one check and record it as a swipe (a real check is always recorded)."""
    with app.transaction() as conn:
        resident, outcome, policy = _decide(app, conn, request)
        if record:
            _record(app, conn, resident, request, outcome, policy)
    return check_json(resident, request, outcome, policy)


# --- batches ------------------------------------------------------------------------------------

STATUS_BATCH_COLUMNS = ("id_number", "at")
CHECK_BATCH_COLUMNS = ("id_number", "at", "site", "mode", "smartphone", "companions")


def _batch_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in columns if c not in header]
        required_missing = [c for c in missing if c not in ("smartphone", "companions")]
        if required_missing:
            raise InputError(
                "header",
                f"{path}: needs the columns {','.join(columns)}; missing {', '.join(required_missing)}",
                f"{path}：须有列 {','.join(columns)}；缺少 {'、'.join(required_missing)}",
            )
        reader.fieldnames = header
        for number, row in enumerate(reader, start=2):
            yield number, {k: (v or "") for k, v in row.items() if k is not None}


def _flag(value: str, field_name: str) -> bool:
    cleaned = value.strip().lower()
    if cleaned in ("", "1", "true", "yes", "y"):
        return True
    if cleaned in ("0", "false", "no", "n"):
        return False
    raise InputError(field_name, f"'{value}' is not true/false", f"“{value}”不是 true/false")


def parse_mode(value: str) -> Mode:
    try:
        return Mode(value.strip().lower())
    except ValueError:
        raise InputError("mode", f"'{value}' is not road or rail", f"“{value}”不是 road 或 rail") from None


def _error_line(number: int, exc: InputError) -> dict[str, Any]:
    return {"row": number, "error": exc.as_dict()}


def status_batch(app: App, path: Path) -> Iterator[dict[str, Any]]:
    for number, row in _batch_rows(path, STATUS_BATCH_COLUMNS):
        try:
            yield {
                "row": number,
                **status_of(app, row.get("id_number", ""), parse_time(row.get("at", ""), "at")),
            }
        except InputError as exc:
            yield _error_line(number, exc)


def check_requests(
    rows: Iterable[tuple[int, dict[str, str]]],
) -> Iterator[tuple[int, CheckRequest | InputError]]:
    for number, row in rows:
        try:
            companions = tuple(c.strip() for c in row.get("companions", "").split(";") if c.strip())
            yield (
                number,
                CheckRequest(
                    id_number=row.get("id_number", ""),
                    at=parse_time(row.get("at", ""), "at"),
                    site=row.get("site", ""),
                    mode=parse_mode(row.get("mode", "")),
                    smartphone=_flag(row.get("smartphone", ""), "smartphone"),
                    companions=companions,
                ),
            )
        except InputError as exc:
            yield number, exc


def check_batch(app: App, path: Path, *, commit_every: int = 500) -> Iterator[dict[str, Any]]:
    """Checks in file order; each is recorded before the next is decided, as real swipes are."""
    conn = app.engine.connect()
    transaction = conn.begin()
    try:
        pending = 0
        for number, request in check_requests(_batch_rows(path, CHECK_BATCH_COLUMNS)):
            if isinstance(request, InputError):
                yield _error_line(number, request)
                continue
            try:
                resident, outcome, policy = _decide(app, conn, request)
            except InputError as exc:
                yield _error_line(number, exc)
                continue
            _record(app, conn, resident, request, outcome, policy)
            pending += 1
            if pending >= commit_every:
                transaction.commit()
                transaction = conn.begin()
                pending = 0
            yield {"row": number, **check_json(resident, request, outcome, policy)}
    finally:
        # every swipe recorded so far is whole in itself: keep them even if the reader stops early
        if transaction.is_active:
            transaction.commit()
        conn.close()
