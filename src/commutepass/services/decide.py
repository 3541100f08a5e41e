"""Status and checkpoint checks: gather one person's facts, let the domain decide, record swipes."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from commutepass.domain.clock import BEIJING, parse_time, to_utc
from commutepass.domain.decisions import (
    CheckOutcome,
    Companion,
    Mode,
    Reason,
    Status,
    assess_status,
    decide_check,
)
from commutepass.domain.errors import InputError, NoPolicyInForce
from commutepass.domain.facts import PersonFacts
from commutepass.domain.identity import ResidentId, parse_resident_id
from commutepass.domain.policy import Decision, Policy
from commutepass.domain.reasons import explain, explain_check, popup_json, reason_json, render
from commutepass.services.context import App
from commutepass.store import repositories as repo
from commutepass.store.facts import FactReader

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


def policy_at(app: App, at: datetime) -> Policy:
    try:
        return app.policies.in_force(at)
    except NoPolicyInForce as exc:
        raise InputError("at", str(exc), f"{at.isoformat()} 时没有生效的政策") from exc


def _status_fields(masked_id: str, at: datetime, status: Status, policy: Policy) -> dict[str, Any]:
    return {
        "id": masked_id,
        "at": at.astimezone(BEIJING).isoformat(),
        "policy_version": policy.version,
        "color": status.color.value,
        "popup": popup_json(status.popup),
        "commuter_badge": status.commuter_badge,
        "commuter_class": status.commuter_class.value if status.commuter_class else None,
        "nat_valid_until": status.nat_valid_until.astimezone(BEIJING).isoformat()
        if status.nat_valid_until
        else None,
    }


def status_json(resident: ResidentId, at: datetime, status: Status, policy: Policy) -> dict[str, Any]:
    rendered = [render(r) for r in status.reasons]
    return {
        **_status_fields(resident.masked, at, status, policy),
        "reasons": [reason_json(r) for r in rendered],
        "explanation": explain(rendered, policy),
    }


def _names_a_place(reason: Reason) -> bool:
    """A reason that tells where the person travelled (trip-card history)."""
    return any(name in ("place", "risk_place") for name, _value in reason.params)


def check_json(
    resident: ResidentId,
    request: CheckRequest,
    outcome: CheckOutcome,
    policy: Policy,
    *,
    officer: bool = False,
) -> dict[str, Any]:
    return decision_json(
        resident.masked, request.at, request.site, request.mode, outcome, policy, officer=officer
    )


def decision_json(
    masked_id: str,
    at: datetime,
    site: str,
    mode: Mode,
    outcome: CheckOutcome,
    policy: Policy,
    *,
    officer: bool = False,
) -> dict[str, Any]:
    """The answer of a check (``CheckOut``), for a swipe or for a verified code. ``officer``: what a
    checkpoint officer may see — the decision and why, without the reasons that name where the
    person travelled."""
    status_reasons = [render(r) for r in outcome.status.reasons if not (officer and _names_a_place(r))]
    reasons = [render(r) for r in outcome.reasons]
    return {
        "decision": outcome.decision.value,
        **_status_fields(masked_id, at, outcome.status, policy),
        "site": site,
        "mode": mode.value,
        "reasons": [reason_json(r) for r in reasons],
        "status_reasons": [reason_json(r) for r in status_reasons],
        "to_check_by_hand": [reason_json(r) for r in outcome.manual_checks],
        "explanation": explain_check(outcome, policy, reasons, status_reasons),
    }


def assess(app: App, resident: ResidentId, at: datetime) -> tuple[Status, Policy]:
    """The person's status at ``at`` and the policy it was assessed under."""
    policy = policy_at(app, at)
    with app.engine.connect() as conn:
        _key, _person_id, facts = CheckSession(app, conn).facts(resident, at, policy)
    return assess_status(facts, policy, to_utc(at), app.risk_map(), app.catalog), policy


def status_of(app: App, id_number: str, at: datetime) -> dict[str, Any]:
    resident = parse_resident_id(id_number)
    status, policy = assess(app, resident, at)
    return status_json(resident, at, status, policy)


def swipe_row(
    person_id: int | None, request: CheckRequest, outcome: CheckOutcome, policy: Policy
) -> dict[str, Any]:
    """The ``checks`` row recording one swipe."""
    return {
        "person_id": person_id,
        "at": to_utc(request.at),
        "site": request.site.strip()[:64],
        "mode": request.mode.value,
        "smartphone": request.smartphone,
        "decision": outcome.decision.value,
        "entered": outcome.decision in ENTERING,
        "policy_version": policy.version,
        "reasons": [r.code for r in (*outcome.reasons, *outcome.status.reasons)],
    }


class CheckSession:
    """Checks over one connection: facts are read, the domain decides, swipes are recorded.

    Swipes are written in batches; before the facts of a person with a swipe still waiting
    are read, the batch is written, so every check sees every earlier one (file order)."""

    def __init__(self, app: App, conn: Connection) -> None:
        self.app = app
        self.conn = conn
        self.reader = FactReader(conn)
        self._pending: list[dict[str, Any]] = []
        self._pending_people: set[int] = set()
        self._ids: dict[str, int] = {}

    def facts(
        self, resident: ResidentId, at: datetime, policy: Policy
    ) -> tuple[str, int | None, PersonFacts]:
        """The person's key, row id (None if never seen) and facts at ``at``."""
        key = self.app.vault.key(resident)
        person_id = self.reader.person_id(key)
        if person_id is None:
            return key, None, PersonFacts(birth_date=resident.birth_date)
        if person_id in self._pending_people:
            self.flush()
        return key, person_id, self.reader.facts(person_id, resident.birth_date, to_utc(at), policy)

    def decide(self, request: CheckRequest) -> tuple[ResidentId, str, int | None, CheckOutcome, Policy]:
        resident = parse_resident_id(request.id_number)
        companion_ids = [parse_resident_id(c, "companions") for c in request.companions]
        if not request.site.strip():
            raise InputError("site", "is empty: name the checkpoint or station", "检查站或车站名称为空")
        policy = policy_at(self.app, request.at)
        key, person_id, facts = self.facts(resident, request.at, policy)
        companions = [Companion(c.masked, self.facts(c, request.at, policy)[2]) for c in companion_ids]
        outcome = decide_check(
            facts,
            policy,
            to_utc(request.at),
            self.app.risk_map(),
            self.app.catalog,
            mode=request.mode,
            smartphone=request.smartphone,
            companions=companions,
        )
        return resident, key, person_id, outcome, policy

    def record(
        self,
        resident: ResidentId,
        key: str,
        person_id: int | None,
        request: CheckRequest,
        outcome: CheckOutcome,
        policy: Policy,
    ) -> None:
        """Queue the swipe; a person seen for the first time is created at once."""
        if person_id is None:
            person_id = self._ids.get(key)
        if person_id is None:
            vault = self.app.vault
            person_id = repo.ensure_people(
                self.conn, [(key, resident.birth_date, resident.masked, vault.encrypt(resident))]
            )[key]
            self._ids[key] = person_id
        self._pending.append(swipe_row(person_id, request, outcome, policy))
        self._pending_people.add(person_id)

    def flush(self) -> None:
        repo.record_checks(self.conn, self._pending)
        self._pending.clear()
        self._pending_people.clear()


def decide_for_swipe(
    app: App, request: CheckRequest, *, officer: bool = False
) -> tuple[dict[str, Any], dict[str, Any], tuple[str, date, str, str]]:
    """Decide without writing: the answer, the swipe row to record, and the person (for the
    swipe writer, which creates a person seen for the first time)."""
    with app.engine.connect() as conn:
        resident, key, person_id, outcome, policy = CheckSession(app, conn).decide(request)
    cipher = app.vault.encrypt(resident) if person_id is None else ""
    person = (key, resident.birth_date, resident.masked, cipher)
    return (
        check_json(resident, request, outcome, policy, officer=officer),
        swipe_row(person_id, request, outcome, policy),
        person,
    )


def check(app: App, request: CheckRequest, *, record: bool = True) -> dict[str, Any]:
    """Decide one check and record it as a swipe in its own transaction (the API server uses
    ``decide_for_swipe`` and the group-commit writer instead)."""
    with app.transaction() as conn:
        session = CheckSession(app, conn)
        resident, key, person_id, outcome, policy = session.decide(request)
        if record:
            session.record(resident, key, person_id, request, outcome, policy)
            session.flush()
    return check_json(resident, request, outcome, policy)


# --- batches ------------------------------------------------------------------------------------

STATUS_BATCH_COLUMNS = ("id_number", "at")
CHECK_BATCH_COLUMNS = ("id_number", "at", "site", "mode", "smartphone", "companions")


def _batch_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(
            "batch", f"{path}: cannot open the file ({exc.strerror})", f"{path}：无法打开文件"
        ) from None
    with handle:
        reader = csv.DictReader(handle)
        number = 1
        try:
            header = [h.strip() for h in (reader.fieldnames or [])]
            required_missing = [
                c for c in columns if c not in header and c not in ("smartphone", "companions")
            ]
            if required_missing:
                raise InputError(
                    "header",
                    f"{path}: needs the columns {','.join(columns)}; missing {', '.join(required_missing)}",
                    f"{path}：须有列 {','.join(columns)}；缺少 {'、'.join(required_missing)}",
                )
            reader.fieldnames = header
            for number, row in enumerate(reader, start=2):
                yield number, {k: (v or "") for k, v in row.items() if k is not None}
        except UnicodeDecodeError:
            raise InputError(
                "batch",
                f"{path}: the file is not UTF-8 text (after row {number})",
                f"{path}：文件不是 UTF-8 文本（第 {number} 行之后）",
            ) from None


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


def check_batch(app: App, path: Path, *, commit_every: int = 1000) -> Iterator[dict[str, Any]]:
    """Checks in file order; each is recorded before a later check of the same person is decided."""
    conn = app.engine.connect()
    transaction = conn.begin()
    session = CheckSession(app, conn)
    try:
        done = 0
        for number, request in check_requests(_batch_rows(path, CHECK_BATCH_COLUMNS)):
            if isinstance(request, InputError):
                yield _error_line(number, request)
                continue
            try:
                resident, key, person_id, outcome, policy = session.decide(request)
            except InputError as exc:
                yield _error_line(number, exc)
                continue
            session.record(resident, key, person_id, request, outcome, policy)
            done += 1
            if done % commit_every == 0:
                session.flush()
                transaction.commit()
                transaction = conn.begin()
            yield {"row": number, **check_json(resident, request, outcome, policy)}
    finally:
        # every swipe decided so far is whole in itself: keep them even if the reader stops early
        if transaction.is_active:
            session.flush()
            transaction.commit()
        conn.close()
