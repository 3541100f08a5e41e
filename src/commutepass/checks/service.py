"""Status and checkpoint checks: one pipeline for every way a check arrives.

A check — typed at the CLI, in a batch file, sent to ``POST /v1/checks``, swiped at the web
console, scanned as a signed code, uploaded by a checkpoint (decided here or offline there) —
goes the same way after it is decided:

    decide (the domain)  →  ``Swipe``  →  ``store`` (person created once, one insert of the
    check, the checkpoint's swipe id claimed once)  →  ``check_event`` (one audit entry)
    →  ``view`` (what the caller's role may see)

``record`` does the store and the audit in the caller's transaction (CLI, uploads); the HTTP
server hands the same ``Swipe`` to the group-commit writer (``checks.writer``), which calls the
same ``store`` and appends the same ``check_event`` shortly after. An officer's view never
holds a place, a county or a trip date, on any path.
"""

from __future__ import annotations

import contextlib
import csv
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from commutepass.accounts import access
from commutepass.checks import repository
from commutepass.domain.clock import BEIJING, parse_time, to_utc
from commutepass.domain.decisions import (
    CheckOutcome,
    Companion,
    Mode,
    Pledge,
    Reason,
    Status,
    assess_status,
    decide_check,
)
from commutepass.domain.errors import InputError, NoPolicyError, NoPolicyInForce
from commutepass.domain.facts import PersonFacts
from commutepass.domain.identity import ResidentId, parse_resident_id, swiped_resident
from commutepass.domain.policy import Decision, Policy, PolicyBook
from commutepass.domain.reasons import explain, explain_check, popup_json, reason_json, render
from commutepass.domain.roles import Role
from commutepass.flow import repository as flow_repository
from commutepass.kit import audit, observe
from commutepass.kit.context import App
from commutepass.kit.sessions import User, cli_user
from commutepass.store.fact_index import FactIndex
from commutepass.store.facts import FactReader
from commutepass.store.tables import recorded_now

ENTERING = {
    Decision.ALLOW,
    Decision.ALLOW_REPORT,
    Decision.ALLOW_QUARANTINE,
    Decision.DOCUMENTS,
    Decision.ALLOW_PLEDGE,
}
"""Decisions after which the person is taken to have entered Beijing."""


@dataclass(frozen=True)
class CheckRequest:
    id_number: str
    at: datetime
    site: str
    mode: Mode
    smartphone: bool = True
    companions: tuple[str, ...] = field(default_factory=tuple)
    lane: str = ""
    """The lane or gate of the site (counted in the flow per channel); empty when not known."""
    pledge: Pledge | None = None
    """The sampling slip of a person who signs the pledge (site, sampled at), as the officer reads it."""
    known_at: datetime | None = None
    """Decide with the facts recorded by then (a rehearsal of the past); None: all recorded now."""


def policy_in_force(policies: PolicyBook, at: datetime) -> Policy:
    """The policy in force at ``at``; the one error every entry point gives when there is none."""
    try:
        return policies.in_force(at)
    except NoPolicyInForce:
        raise NoPolicyError(at.isoformat()) from None


def policy_at(app: App, at: datetime) -> Policy:
    return policy_in_force(app.policies, at)


def checked_site(site: str) -> str:
    """The checkpoint or station named by a check (the one empty-site check), as stored."""
    cleaned = site.strip()
    if not cleaned:
        raise InputError("site", "is empty: name the checkpoint or station", "检查站或车站名称为空")
    return cleaned[:64]


def checked_lane(lane: str) -> str:
    """A lane name as counted: trimmed, at most 16 characters (empty: the lane is not known)."""
    return lane.strip()[:16]


# --- what the caller sees -------------------------------------------------------------------------


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


def status_json(
    resident: ResidentId, at: datetime, status: Status, policy: Policy, known_at: datetime | None = None
) -> dict[str, Any]:
    rendered = [render(r, policy) for r in status.reasons]
    return {
        **_status_fields(resident.masked, at, status, policy),
        "known_at": known_at.astimezone(BEIJING).isoformat() if known_at is not None else None,
        "reasons": [reason_json(r) for r in rendered],
        "explanation": explain(rendered, policy),
        "limited": False,
    }


def _names_a_place(reason: Reason) -> bool:
    """A reason that tells where the person travelled (trip-card history)."""
    return any(name in ("place", "risk_place") for name, _value in reason.params)


def sees_travel(role: Role | None) -> bool:
    """Whether this role's view of a check may say where the person travelled: an officer's never
    does (the decision and what to check by hand are enough at the barrier)."""
    return role is not Role.OFFICER


def view(
    masked_id: str,
    at: datetime,
    site: str,
    mode: Mode,
    outcome: CheckOutcome,
    policy: Policy,
    *,
    role: Role | None,
) -> dict[str, Any]:
    """The answer of a check (``CheckOut``) as ``role`` may see it — the one view of every path,
    online and offline. An officer's leaves out every reason that names a place or a trip date
    (from the reasons, the pop-up and the explanation alike)."""
    officer = not sees_travel(role)
    status = outcome.status
    if officer:
        status = replace(status, reasons=tuple(r for r in status.reasons if not _names_a_place(r)))
    status_reasons = [render(r, policy) for r in status.reasons]
    reasons = [render(r, policy) for r in outcome.reasons if not (officer and _names_a_place(r))]
    manual = [render(r, policy) for r in outcome.manual_checks if not (officer and _names_a_place(r))]
    shown = replace(outcome, status=status)
    return {
        "decision": outcome.decision.value,
        **_status_fields(masked_id, at, status, policy),
        "site": site,
        "mode": mode.value,
        "reasons": [reason_json(r) for r in reasons],
        "status_reasons": [reason_json(r) for r in status_reasons],
        "to_check_by_hand": [reason_json(r) for r in manual],
        "explanation": explain_check(shown, policy, reasons, status_reasons),
    }


def brief(
    masked_id: str,
    at: datetime,
    site: str,
    mode: Mode,
    outcome: CheckOutcome,
    policy: Policy,
    *,
    role: Role | None,
) -> dict[str, Any]:
    """The answer of a check without its texts: the decision, the code and the reason codes, as
    ``role`` may see them (an officer's leaves out the codes of reasons that name a place, as in
    ``view``). What a checkpoint's screen and a batch line need; the texts are ``view``'s, on
    demand. Each reason code maps to its texts in ``domain.reasons.CATALOG``."""
    officer = not sees_travel(role)
    status = outcome.status

    def codes(reasons: Iterable[Reason]) -> list[str]:
        return [r.code for r in reasons if not (officer and _names_a_place(r))]

    return {
        "decision": outcome.decision.value,
        "id": masked_id,
        "at": at.astimezone(BEIJING).isoformat(),
        "policy_version": policy.version,
        "color": status.color.value,
        "popup": status.popup,
        "commuter_badge": status.commuter_badge,
        "commuter_class": status.commuter_class.value if status.commuter_class else None,
        "nat_valid_until": status.nat_valid_until.astimezone(BEIJING).isoformat()
        if status.nat_valid_until
        else None,
        "site": site,
        "mode": mode.value,
        "reasons": codes(outcome.reasons),
        "status_reasons": codes(status.reasons),
        "to_check_by_hand": codes(outcome.manual_checks),
    }


# --- status -----------------------------------------------------------------------------------


def assess(
    app: App, resident: ResidentId, at: datetime, known_at: datetime | None = None
) -> tuple[Status, Policy]:
    """The person's status at ``at`` as known at ``known_at`` (None: everything recorded so far),
    and the policy it was assessed under."""
    policy = policy_at(app, at)
    with app.engine.connect() as conn:
        _person_id, facts = CheckSession(app, conn).facts(resident, at, policy, known_at)
    return assess_status(facts, policy, to_utc(at), app.risk_map(known_at), app.catalog), policy


def status_of(app: App, id_number: str, at: datetime, known_at: datetime | None = None) -> dict[str, Any]:
    """The status of the person, for a caller already allowed to see it (see ``status_for``)."""
    resident = parse_resident_id(id_number)
    status, policy = assess(app, resident, at, known_at)
    return status_json(resident, at, status, policy, known_at)


def status_for(
    app: App,
    user: User,
    id_number: str,
    at: datetime,
    reason: str | None = None,
    known_at: datetime | None = None,
) -> dict[str, Any]:
    """A status look-up by role: a citizen for themself or family, staff (and the CLI) with an
    audited reason."""
    full = access.authorise_lookup(app, user, id_number, at, reason, "status.lookup")
    answer = status_of(app, id_number, at, known_at)
    return answer if full else limited_status(answer)


LIMITED_EXPLANATION = {
    "zh": "该家人尚未确认关联，仅显示码色、通勤标识和核酸有效期。请其在本人账户中确认，"
    "或携带证明材料由审核人员或12345热线核实后，可查看原因和弹窗。",
    "en": "This family member has not confirmed the link: only the colour, the commuter badge and "
    "the NAT deadline are shown. Ask them to confirm it from their own account, or bring the "
    "documents to a reviewer or the 12345 hotline, to see the reasons and the pop-up.",
}


def limited_status(answer: dict[str, Any]) -> dict[str, Any]:
    """What a citizen sees of a family member who has not confirmed the link: the colour, the
    badge and the NAT deadline, never a reason, a pop-up, a place, a county or a trip date."""
    return {
        **answer,
        "popup": None,
        "reasons": [],
        "explanation": dict(LIMITED_EXPLANATION),
        "limited": True,
    }


# --- deciding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Swipe:
    """A decided check on its way to the store: the ``checks`` row and who it is about."""

    row: dict[str, Any]
    """The checks row; ``person_id`` None for a person not stored yet, or no person at all."""
    person: tuple[str, date, str, str] | None
    """(key, birth date, masked, cipher) to create the person with, or None (a code: no person)."""
    detail: dict[str, Any] = field(default_factory=dict)
    """Where the check came from, for the audit entry (checkpoint, offline, credential)."""
    swipe_id: str | None = None
    """A checkpoint's id for the swipe: recorded once however often it is sent."""
    lane: str = ""
    """The lane of the site, for the flow counts (``flow.repository.count``)."""


@dataclass(frozen=True)
class Decided:
    """One check decided by the domain, with what recording and answering it need."""

    masked_id: str
    request: CheckRequest
    outcome: CheckOutcome
    policy: Policy
    person_id: int | None
    person: tuple[str, date, str, str] | None
    person_key: str
    """The person's pseudonymous key (a batch marks the person as having a swipe waiting)."""
    known_at: datetime
    """The recorded-time horizon the check was decided with (stored with the check)."""

    def swipe(self, **detail: Any) -> Swipe:
        return Swipe(
            swipe_row(
                self.person_id,
                self.request,
                self.outcome.decision,
                self.policy.version,
                self.codes,
                self.known_at,
            ),
            None if self.person_id is not None else self.person,
            detail,
            lane=self.request.lane,
        )

    @property
    def codes(self) -> list[str]:
        return [r.code for r in (*self.outcome.reasons, *self.outcome.status.reasons)]

    def view(self, role: Role | None) -> dict[str, Any]:
        r = self.request
        return view(self.masked_id, r.at, r.site, r.mode, self.outcome, self.policy, role=role)

    def brief(self, role: Role | None) -> dict[str, Any]:
        r = self.request
        return brief(self.masked_id, r.at, r.site, r.mode, self.outcome, self.policy, role=role)


def swipe_row(
    person_id: int | None,
    request: CheckRequest,
    decision: Decision,
    policy_version: str,
    reasons: Sequence[str],
    known_at: datetime | None = None,
) -> dict[str, Any]:
    """The ``checks`` row recording one swipe; ``known_at``: the recorded-time horizon it was
    decided with (None: the moment it is stored)."""
    return {
        "person_id": person_id,
        "at": to_utc(request.at),
        "site": checked_site(request.site),
        "mode": request.mode.value,
        "smartphone": request.smartphone,
        "decision": decision.value,
        "entered": decision in ENTERING,
        "policy_version": policy_version[:32],
        "reasons": list(reasons),
        "known_at": known_at,
    }


class CheckSession:
    """Checks over one connection: facts are read, the domain decides.

    A caller that records as it goes (a batch) tells the session which people have a swipe
    waiting (``waiting``); before their facts are read again the batch is written (``flush``),
    so every check sees every earlier one (file order).

    With a fact ``index`` the facts come from memory where it can answer, else from the store
    (``FactReader``), as they would have been read there."""

    def __init__(self, app: App, conn: Connection, index: FactIndex | None = None) -> None:
        self.app = app
        self.conn = conn
        self.reader = FactReader(conn)
        self.index = index
        self.unsettled: set[str] = set()
        """People with checks written in the connection's open transaction: read from the store
        (this connection sees them; the index does not until they are committed and noted)."""
        self.waiting: set[str] = set()
        self.flush: Callable[[], None] | None = None

    def facts(
        self,
        resident: ResidentId,
        at: datetime,
        policy: Policy,
        known_at: datetime | None = None,
        key: str | None = None,
    ) -> tuple[int | None, PersonFacts]:
        """The person's row id (None if never seen) and facts at ``at`` as known at ``known_at``
        (``key``: the person's key when the caller has it already)."""
        key = key or self.app.vault.key(resident)
        if key in self.waiting and self.flush is not None:
            self.flush()
        at = to_utc(at)
        if self.index is None or key in self.unsettled:
            return self.reader.person_facts(key, resident.birth_date, at, policy, known_at)
        found = self.index.person_facts(key, resident.birth_date, at, policy, known_at)
        if found is not None:
            return found
        person_id, facts = self.reader.person_facts(key, resident.birth_date, at, policy, known_at)
        self.index.note_person(key, person_id)
        return person_id, facts

    def decide(self, request: CheckRequest) -> Decided:
        resident = swiped_resident(request.id_number)
        companion_ids = [swiped_resident(c, "companions") for c in request.companions]
        request = replace(request, site=checked_site(request.site), lane=checked_lane(request.lane))
        policy = policy_at(self.app, request.at)
        known = request.known_at
        horizon = to_utc(known) if known is not None else recorded_now()
        key = self.app.vault.key(resident)
        person_id, facts = self.facts(resident, request.at, policy, known, key)
        companions = [Companion(c.masked, self.facts(c, request.at, policy, known)[1]) for c in companion_ids]
        outcome = decide_check(
            facts,
            policy,
            to_utc(request.at),
            self.app.risk_map(known),
            self.app.catalog,
            mode=request.mode,
            smartphone=request.smartphone,
            companions=companions,
            pledge=request.pledge,
        )
        person = self.app.person_row(resident) if person_id is None else None
        return Decided(resident.masked, request, outcome, policy, person_id, person, key, horizon)


def decide(app: App, request: CheckRequest) -> Decided:
    """Decide one check on its own connection (nothing written)."""
    with app.engine.connect() as conn:
        return CheckSession(app, conn).decide(request)


class HeldReads:
    """Deciding many checks one after the other (a server's event loop): each thread keeps one
    connection, in autocommit (each read is its own statement and snapshot, as a check's facts
    are one statement), instead of taking one from the pool per check — on PostgreSQL that was
    a liveness ping, a BEGIN and a ROLLBACK around every check, each a round trip while the
    event loop waits. Decides exactly as ``decide``. When the held connection fails it is
    dropped and the check is decided once more the plain way, on a fresh pooled connection
    (whose failure is the store's usual error: 503 to an HTTP client)."""

    OFFLOAD_THREADS = 4
    """Threads deciding checks on a networked store (PostgreSQL): while one waits for its
    statement, the event loop and the others go on (the driver lets go of the GIL while it
    waits). On SQLite the read costs CPU, not waiting: the checks stay on the event loop."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.index = fact_index(app, background=True)
        """The facts in memory (``Settings.fact_index``), shared by the threads; None: read each time."""
        self._local = threading.local()
        self._held: list[Connection] = []
        self._lock = threading.Lock()
        self.executor: ThreadPoolExecutor | None = (
            ThreadPoolExecutor(self.OFFLOAD_THREADS, thread_name_prefix="check-reads")
            if app.engine.dialect.name != "sqlite"
            else None
        )

    def _session(self) -> CheckSession:
        session: CheckSession | None = getattr(self._local, "session", None)
        if session is None:
            conn = self.app.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            with self._lock:
                self._held.append(conn)
            session = self._local.session = CheckSession(self.app, conn, self.index)
        return session

    def _drop(self, session: CheckSession) -> None:
        self._local.session = None
        with self._lock:
            if session.conn in self._held:
                self._held.remove(session.conn)
        with contextlib.suppress(Exception):  # already broken: nothing to give back
            session.conn.invalidate()
            session.conn.close()

    def decide(self, request: CheckRequest) -> Decided:
        try:
            session = self._session()
        except Exception:
            return decide(self.app, request)
        try:
            return session.decide(request)
        except InputError:  # the request's fault (no policy in force included), not the store's
            raise
        except Exception:
            self._drop(session)
            return decide(self.app, request)

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        with self._lock:
            held, self._held = self._held, []
        for conn in held:
            with contextlib.suppress(Exception):  # the store is gone: the pool goes with the app
                conn.close()


def fact_index(app: App, *, background: bool = False) -> FactIndex | None:
    """A fact index over the app's store, if the settings want one (``Settings.fact_index``);
    ``background``: loaded in its own thread while the store answers (a server)."""
    return FactIndex(app.engine, background=background) if app.settings.fact_index else None


# --- recording --------------------------------------------------------------------------------


def store(conn: Connection, swipes: Sequence[Swipe]) -> list[dict[str, Any] | None]:
    """Write the swipes in the caller's transaction: each new person once, each check once (one
    insert), a checkpoint's swipe id claimed once. The stored rows, in order; None for a swipe
    whose id was recorded already (another upload of it committed first)."""
    unknown = [s.person for s in swipes if s.row["person_id"] is None and s.person is not None]
    ids = repository.ensure_people(conn, unknown) if unknown else {}
    rows = [
        {**s.row, "person_id": s.row["person_id"] or (ids[s.person[0]] if s.person else None)} for s in swipes
    ]
    plain = [row for row, s in zip(rows, swipes, strict=True) if s.swipe_id is None]
    repository.record_checks(conn, plain)
    stored: list[dict[str, Any] | None] = []
    for row, s in zip(rows, swipes, strict=True):
        if s.swipe_id is None:
            stored.append(row)
        else:
            claimed = repository.record_checkpoint_swipe(
                conn,
                s.swipe_id,
                str(s.detail.get("checkpoint", "")),
                row,
                offline=bool(s.detail.get("offline")),
            )
            stored.append(row if claimed else None)
    # counted as written (a batch whose transaction then fails is counted too; rare, and the
    # writer's failure shows in the logs and the commit-latency series)
    for kept in stored:
        if kept is not None:
            observe.DECISIONS.labels(kept["decision"], kept["site"]).inc()
    # the flow per entry channel, counted as the swipes are stored (in the same transaction)
    flow_repository.count(
        conn, ((row, s.lane) for row, s in zip(stored, swipes, strict=True) if row is not None)
    )
    return stored


def check_event(row: dict[str, Any], detail: dict[str, Any]) -> audit.Event:
    """The audit entry of one recorded check (the same on every path)."""
    return audit.Event(
        "check", row["person_id"], f"check at {row['site']}", {"decision": row["decision"], **detail}
    )


def record(
    conn: Connection,
    app: App,
    actor: audit.Actor,
    swipes: Sequence[Swipe],
    kept: list[dict[str, Any] | None] | None = None,
) -> list[bool]:
    """Store the swipes and audit each stored one, in the caller's transaction. Whether each was
    new (False: its swipe id was recorded before, nothing written); ``kept``: a list the stored
    rows are added to (None where nothing was written)."""
    stored = store(conn, swipes)
    if kept is not None:
        kept.extend(stored)
    events = [check_event(row, s.detail) for row, s in zip(stored, swipes, strict=True) if row is not None]
    audit.append(conn, app, audit.prepare(actor, events))
    return [row is not None for row in stored]


def check(app: App, request: CheckRequest, user: User | None = None) -> dict[str, Any]:
    """One check, decided, recorded and audited in its own transaction (the CLI; the server
    hands its swipes to the group-commit writer instead). ``user``: who checked, the operator
    at the command line by default."""
    by = user or cli_user()
    with app.transaction() as conn:
        decided = CheckSession(app, conn).decide(request)
        record(conn, app, by.actor, [decided.swipe()])
    return decided.view(by.role)


def preview(app: App, request: CheckRequest) -> dict[str, Any]:
    """What a check would decide, neither recorded nor audited: not a check but a rehearsal of
    one (the demo picks its sample people with it). Everything shown, for the operator."""
    return decide(app, request).view(None)


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
        raise InputError(
            "mode", f"'{value}' is not road, rail or air", f"“{value}”不是 road、rail 或 air"
        ) from None


def _error_line(number: int, exc: InputError) -> dict[str, Any]:
    return {"row": number, "error": exc.as_dict()}


def status_batch(app: App, path: Path, user: User | None = None) -> Iterator[dict[str, Any]]:
    """Status look-ups from a file, each audited like a single one (the CLI operator by default)."""
    by = user or cli_user()
    for number, row in _batch_rows(path, STATUS_BATCH_COLUMNS):
        try:
            at = parse_time(row.get("at", ""), "at")
            yield {"row": number, **status_for(app, by, row.get("id_number", ""), at)}
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


def check_batch(
    app: App, path: Path, user: User | None = None, *, commit_every: int = 1000, explain: bool = True
) -> Iterator[dict[str, Any]]:
    """Checks in file order, each recorded and audited like a single ``check``; a check sees
    every earlier one of the same person (the batch is written before that person is read).
    ``explain``: each line with its texts (``view``), or only the decision and the codes
    (``brief``: the texts are not rendered at all)."""
    by = user or cli_user()
    index = fact_index(app)
    conn = app.engine.connect()
    transaction = conn.begin()
    session = CheckSession(app, conn, index)
    pending: list[Swipe] = []
    written: list[dict[str, Any] | None] = []

    def flush() -> None:
        record(conn, app, by.actor, pending, written)
        session.unsettled |= session.waiting
        pending.clear()
        session.waiting.clear()

    def commit() -> None:
        flush()
        transaction.commit()
        if index is not None:  # committed: the index counts them from now on
            index.note_checks(written)
        written.clear()
        session.unsettled.clear()

    session.flush = flush
    try:
        done = 0
        for number, request in check_requests(_batch_rows(path, CHECK_BATCH_COLUMNS)):
            if isinstance(request, InputError):
                yield _error_line(number, request)
                continue
            try:
                decided = session.decide(request)
            except InputError as exc:
                yield _error_line(number, exc)
                continue
            pending.append(decided.swipe())
            session.waiting.add(decided.person_key)
            done += 1
            if done % commit_every == 0:
                commit()
                transaction = conn.begin()
            yield {"row": number, **(decided.view(by.role) if explain else decided.brief(by.role))}
    finally:
        # every swipe decided so far is whole in itself: keep them even if the reader stops early
        if transaction.is_active:
            commit()
        conn.close()
        if index is not None:
            index.close()


def pledge_cases(app: App, user: User) -> list[dict[str, Any]]:
    """The reviewer's queue of entries on a pledge whose result came back positive (seed 003):
    who (masked), where and when they entered, and the result. The code is already red (the result
    is on record); the reviewer follows the person up. Reading the list is audited."""
    now = app.now()
    pending = timedelta(hours=app.policies.in_force(now).pledge.pending_hours)
    with app.transaction() as conn:
        rows = [r for r in repository.pledges_turned_positive(conn) if r.at - r.sampled_at <= pending]
        audit.record(conn, app, user.actor, "pledge.cases.read", None, "review", cases=len(rows))
    return [
        {
            "check_id": r.check_id,
            "person": r.id_masked,
            "entered_at": r.at.astimezone(BEIJING).isoformat(),
            "site": r.site,
            "sampled_at": r.sampled_at.astimezone(BEIJING).isoformat(),
            "reported_at": r.reported_at.astimezone(BEIJING).isoformat(),
            "lab": r.lab,
        }
        for r in rows
    ]
