"""The checkpoint client: swipes go to the central service, or are decided locally when it is gone.

Every swipe is written to a local SQLite outbox (with a fresh UUID) *before* anything is sent.
Then all unsent swipes are sent in order; the service records each swipe id once. If the
service cannot be reached, the swipe is decided from the signed snapshot (the core's
``decide_check`` over the snapshot's facts, kept per person between the instants the decision
can change: ``domain/timeline.py``) and stays in the outbox until a later send
succeeds. So no swipe is lost (it is on disk first) and none counts twice (the id).
The ID number is kept only until the swipe is sent, then erased from the outbox.

The checkpoint signs in as an officer: with a token, or with a username and password (signed in
on the first request). A sign-in the service refuses (401/403) is ``AccessRefused``, never taken
for an unreachable service: the offline path is for network failures only.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from array import array
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric import ec

from commutepass.checkpoints.snapshot import OfflineSnapshot, decode_b64
from commutepass.checks.service import ENTERING, checked_site, policy_in_force, view
from commutepass.credentials.revocation import FilterUpdate, RevocationFilter
from commutepass.credentials.trust import Anchors, load_anchor
from commutepass.domain.clock import BEIJING, to_utc
from commutepass.domain.decisions import Mode
from commutepass.domain.errors import InputError
from commutepass.domain.identity import parse_resident_id, swiped_resident
from commutepass.domain.policy import PolicyBook
from commutepass.domain.regions import RegionCatalog
from commutepass.domain.roles import Role

T = TypeVar("T")
SEND_BATCH = 200
_ENTERING_MARKS = ",".join("?" * len(ENTERING))
_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    signed BLOB NOT NULL, key BLOB NOT NULL, anchor_pem TEXT NOT NULL, fetched_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS anchor (id INTEGER PRIMARY KEY CHECK (id = 1), pem TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS anchors (seq INTEGER PRIMARY KEY AUTOINCREMENT, pem TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS revocation_filter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL, prefixes BLOB NOT NULL, issued_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    swipe_id TEXT NOT NULL UNIQUE,
    id_number TEXT,
    at TEXT NOT NULL, site TEXT NOT NULL, mode TEXT NOT NULL, smartphone INTEGER NOT NULL,
    decision TEXT, policy_version TEXT, reasons TEXT,
    sent INTEGER NOT NULL DEFAULT 0
);
"""


class ServiceUnavailable(Exception):
    """The central service cannot be reached or did not answer."""


class AccessRefused(InputError):
    """The service answered, and refused this checkpoint's sign-in (401) or role (403)."""

    @classmethod
    def of(cls, response: httpx.Response) -> AccessRefused:
        detail = _problem(response)
        said_en = detail.get("detail") or response.text[:200]
        said_zh = detail.get("detail_zh") or said_en
        if response.status_code == 401:
            return cls(
                "token",
                f"the service did not accept this checkpoint's sign-in ({said_en}): "
                "sign in again as an officer (--token or --username)",
                f"中心服务不接受本检查站的登录（{said_zh}）：请以检查站工作人员（officer）身份重新登录"
                "（--token 或 --username）",
            )
        return cls(
            "token",
            f"the signed-in user may not do this ({said_en}): a checkpoint signs in as an officer",
            f"当前登录用户无权执行此操作（{said_zh}）：检查站须以检查站工作人员（officer）身份登录",
        )


def _problem(response: httpx.Response) -> dict[str, Any]:
    """The problem-details body of an error answer, or {} when it is not JSON."""
    if "json" not in response.headers.get("content-type", ""):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


class Checkpoint:
    """One checkpoint's client, with its store at ``store_path``."""

    def __init__(
        self,
        store_path: Path,
        server: str,
        name: str,
        policies: PolicyBook,
        catalog: RegionCatalog,
        *,
        timeout: float = 3.0,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        """``token``, or ``username`` and ``password`` (signed in on the first request), make
        the requests as an officer; with neither, the service answers 401 (``AccessRefused``)."""
        store_path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(store_path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        self.server = server.rstrip("/")
        self.name = name
        self.policies = policies
        self.catalog = catalog
        self.http = httpx.Client(base_url=self.server, timeout=timeout)
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"
        self._login = (username, password or "") if username and not token else None
        self._snapshot: OfflineSnapshot | None = None

    def close(self) -> None:
        self.http.close()
        self.db.close()

    # --- the trust anchor and the snapshot -----------------------------------------------------

    def pin_anchor(self, pem: str) -> None:
        """Pin the trust-list key given out of band (it replaces any pinned before)."""
        load_anchor(pem)
        self._pin([pem])

    def _pin(self, pems: list[str]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("DELETE FROM anchors")
        self.db.executemany("INSERT INTO anchors (pem) VALUES (?)", [(p,) for p in pems])
        self.db.execute("INSERT OR REPLACE INTO anchor (id, pem) VALUES (1, ?)", (pems[0],))
        self.db.execute("COMMIT")

    def anchors(self) -> Anchors:
        """The pinned trust-list keys (the first one fetched and pinned on first use if none was
        given; later ones learnt from lists signed by a pinned key during a rotation)."""
        rows = [str(r[0]) for r in self.db.execute("SELECT pem FROM anchors ORDER BY seq")]
        if not rows:
            row = self.db.execute("SELECT pem FROM anchor WHERE id = 1").fetchone()
            pem = str(row[0]) if row is not None else self._get("/v1/trust/anchor").text
            self.pin_anchor(pem)
            rows = [pem]
        return Anchors([load_anchor(p) for p in rows])

    def anchor(self) -> ec.EllipticCurvePublicKey:
        """The first pinned trust-list key."""
        return self.anchors().keys[0]

    def refresh_trust(self) -> dict[str, Any]:
        """Fetch the trust list, verify it with a pinned key and learn a key it introduces (an
        anchor rotation); a list signed by a key never introduced is refused (``InputError``)."""
        pinned = self.anchors()
        document = self._get("/v1/trust").json()
        signer = pinned.signer_of(document, "trust_list")
        learnt = pinned.learn(document, signer)
        if learnt.pems() != pinned.pems():
            self._pin(learnt.pems())
        return {"anchors": len(learnt.keys), "expires_at": document.get("expires_at")}

    def revocations(self) -> RevocationFilter:
        row = self.db.execute(
            "SELECT version, prefixes, issued_at FROM revocation_filter WHERE id = 1"
        ).fetchone()
        if row is None:
            return RevocationFilter.of([], 0)
        prefixes = array("Q")
        prefixes.frombytes(bytes(row[1]))
        return RevocationFilter(prefixes, int(row[0]), datetime.fromisoformat(str(row[2])))

    def refresh_revocations(self) -> dict[str, Any]:
        """Fetch only what was revoked since the version held (the whole list the first time)."""
        held = self.revocations()
        response = self._get("/v1/trust/revocations/filter", {"since": str(held.version)})
        update = self._signed_by_anchor(lambda key: FilterUpdate.decode(response.content, key))
        moved = held.apply(update)
        self.db.execute(
            "INSERT OR REPLACE INTO revocation_filter (id, version, prefixes, issued_at) VALUES (1, ?, ?, ?)",
            (moved.version, moved.prefixes.tobytes(), moved.issued_at.isoformat()),
        )
        return {
            "version": moved.version,
            "entries": len(moved),
            "added": len(update.added),
            "bytes": len(response.content),
        }

    def _signed_by_anchor(self, load: Callable[[ec.EllipticCurvePublicKey], T]) -> T:
        """What ``load`` reads with the first pinned key that verifies it."""
        error: InputError | None = None
        for key in self.anchors().keys:
            try:
                return load(key)
            except InputError as exc:
                error = exc
        assert error is not None
        raise error

    def sync(self, at: datetime | None = None) -> dict[str, Any]:
        """Refresh the trust list (learning a rotated anchor) and the revocation filter (only what
        changed), then download the signed snapshot (as of ``at``, default now), verify it, keep it."""
        trust = self.refresh_trust()
        revoked = self.refresh_revocations()
        params = {"at": at.isoformat()} if at else {}
        body = self._get("/v1/checkpoint/snapshot", params).json()
        signed, key = decode_b64(body.get("snapshot"), "snapshot"), decode_b64(body.get("key"), "key")
        snapshot = self._signed_by_anchor(
            lambda anchor: OfflineSnapshot.load(signed, key, anchor, self.catalog)
        )
        self.db.execute(
            "INSERT OR REPLACE INTO snapshot (id, signed, key, anchor_pem, fetched_at) VALUES (1, ?, ?, '', ?)",
            (signed, key, datetime.now(UTC).isoformat()),
        )
        self._snapshot = snapshot
        return {
            "as_of": snapshot.as_of.astimezone(BEIJING).isoformat(),
            "people": len(snapshot),
            "anchors": trust["anchors"],
            "revocations": revoked,
        }

    def snapshot(self) -> OfflineSnapshot:
        if self._snapshot is None:
            row = self.db.execute("SELECT signed, key FROM snapshot WHERE id = 1").fetchone()
            if row is None:
                raise InputError(
                    "snapshot",
                    "this checkpoint has no snapshot: run `commutepass checkpoint sync` while online",
                    "本检查站没有离线快照：请在联网时运行 commutepass checkpoint sync",
                )
            signed, key = bytes(row[0]), bytes(row[1])
            self._snapshot = self._signed_by_anchor(
                lambda anchor: OfflineSnapshot.load(signed, key, anchor, self.catalog)
            )
            for number, at in self.db.execute(
                f"SELECT id_number, at FROM outbox WHERE id_number IS NOT NULL AND decision IN ({_ENTERING_MARKS})",
                [d.value for d in ENTERING],
            ):
                self._snapshot.entered(parse_resident_id(number), datetime.fromisoformat(at))
        return self._snapshot

    # --- swipes ------------------------------------------------------------------------------------

    def swipe(
        self, id_number: str, at: datetime, site: str, mode: Mode, smartphone: bool = True
    ) -> dict[str, Any]:
        """Record the swipe, send it (and any waiting before it), or decide it locally."""
        resident = swiped_resident(id_number)
        site = checked_site(site)
        swipe_id = str(uuid.uuid4())
        self.db.execute(
            "INSERT INTO outbox (swipe_id, id_number, at, site, mode, smartphone) VALUES (?, ?, ?, ?, ?, ?)",
            (swipe_id, resident.number, to_utc(at).isoformat(), site, mode.value, int(smartphone)),
        )
        try:
            results = self.send()
        except ServiceUnavailable:
            results = {}
        except AccessRefused:
            # nobody was given a decision for this swipe and the service did not record it: it
            # is taken back, or a later send would record a crossing that never happened (the
            # swipes before it stay, to be sent once the sign-in is put right)
            self.db.execute("DELETE FROM outbox WHERE swipe_id = ? AND sent = 0", (swipe_id,))
            raise
        online = results.get(swipe_id)
        if online is not None:
            answer = online.get("answer") or {"decision": online.get("decision"), "id": resident.masked}
            return {**answer, "swipe_id": swipe_id, "offline": False}
        # the book the snapshot carries: a version scheduled before the sync applies from its
        # instant, with no new download
        policy = policy_in_force(self.snapshot().book(self.policies), at)
        decided = self.snapshot().decide(
            resident, policy, to_utc(at), self.catalog, mode=mode, smartphone=smartphone
        )
        outcome = decided.outcome
        self.db.execute(
            "UPDATE outbox SET decision = ?, policy_version = ?, reasons = ? WHERE swipe_id = ? AND sent = 0",
            (
                outcome.decision.value,
                decided.policy.version,
                orjson.dumps([r.code for r in (*outcome.reasons, *outcome.status.reasons)]).decode(),
                swipe_id,
            ),
        )
        if outcome.decision in ENTERING:
            self.snapshot().entered(resident, to_utc(at))
        # the checkpoint's own answer: the officer's view, as every online check gives it
        answer = view(resident.masked, at, site, mode, outcome, decided.policy, role=Role.OFFICER)
        return {
            **answer,
            "swipe_id": swipe_id,
            "offline": True,
            "snapshot": {
                "as_of": self.snapshot().as_of.astimezone(BEIJING).isoformat(),
                "age_minutes": int(decided.age.total_seconds() // 60),
                "usable": decided.usable,
            },
        }

    def pending(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM outbox WHERE sent = 0").fetchone()[0])

    def send(self) -> dict[str, dict[str, Any]]:
        """Send every unsent swipe, oldest first; the service's answer per swipe id sent."""
        answers: dict[str, dict[str, Any]] = {}
        while True:
            rows = self.db.execute(
                "SELECT swipe_id, id_number, at, site, mode, smartphone, decision, policy_version, reasons "
                "FROM outbox WHERE sent = 0 ORDER BY seq LIMIT ?",
                (SEND_BATCH,),
            ).fetchall()
            if not rows:
                return answers
            swipes = [
                {
                    "swipe_id": swipe_id,
                    "id_number": number,
                    "at": at,
                    "site": site,
                    "mode": mode,
                    "smartphone": bool(smartphone),
                    "decision": decision,
                    "policy_version": version,
                    "reasons": orjson.loads(reasons) if reasons else [],
                }
                for swipe_id, number, at, site, mode, smartphone, decision, version, reasons in rows
            ]
            # the same batch sent again (after a 503 or a lost answer) carries the same key; the
            # server records each swipe once by its id either way
            key = hashlib.sha256("\n".join(sorted(s["swipe_id"] for s in swipes)).encode()).hexdigest()
            response = self._post(
                "/v1/checkpoint/swipes", {"checkpoint": self.name, "swipes": swipes}, idempotency_key=key
            )
            results = response.json()["results"]
            for result in results:
                if "error" in result:
                    # refused for good (bad input cannot get better by sending again): keep it, marked
                    self.db.execute(
                        "UPDATE outbox SET sent = 2, id_number = NULL WHERE swipe_id = ?",
                        (result["swipe_id"],),
                    )
                    continue
                self.db.execute(
                    "UPDATE outbox SET sent = 1, id_number = NULL WHERE swipe_id = ?", (result["swipe_id"],)
                )
                answers[result["swipe_id"]] = result

    def status(self) -> dict[str, Any]:
        row = self.db.execute("SELECT signed FROM snapshot WHERE id = 1").fetchone()
        snapshot = self.snapshot() if row is not None else None
        now = datetime.now(UTC)
        return {
            "checkpoint": self.name,
            "pending": self.pending(),
            "snapshot_as_of": snapshot.as_of.astimezone(BEIJING).isoformat() if snapshot else None,
            "snapshot_age_minutes": int((now - snapshot.as_of).total_seconds() // 60) if snapshot else None,
        }

    # --- HTTP ----------------------------------------------------------------------------------------

    def sign_in(self) -> None:
        """Sign in with the username and password given (once; a no-op with a token or neither)."""
        if self._login is None:
            return
        username, password = self._login
        response = self._request(
            "POST", "/v1/auth/token", data={"username": username, "password": password}, sign_in=False
        )
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self._login = None

    def _get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        return self._request("GET", path, params=params)

    def _post(self, path: str, body: dict[str, Any], *, idempotency_key: str | None = None) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return self._request("POST", path, content=orjson.dumps(body), headers=headers)

    def _request(self, method: str, path: str, *, sign_in: bool = True, **kwargs: Any) -> httpx.Response:
        if sign_in:
            self.sign_in()
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(str(exc)) from exc
        return self._checked(response)

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        if response.status_code >= 500:
            raise ServiceUnavailable(f"HTTP {response.status_code}")
        if response.status_code in (401, 403):
            raise AccessRefused.of(response)
        if response.status_code >= 400:
            detail = _problem(response)
            raise InputError(
                str(detail.get("field", "request")),
                f"the service refused the request: {detail.get('detail', response.text[:200])}",
                f"服务拒绝了请求：{detail.get('detail_zh', detail.get('detail', ''))}",
            )
        return response
