"""The tamper-evident audit log as pure functions: each entry carries the hash of the one before.

An entry's hash is HMAC-SHA256 (key derived from the app secret) over the previous hash, the
entry's sequence number and its canonical JSON (which does not hold the sequence number, so it
can be built before the append takes the lock). Editing an entry breaks its own hash; inserting or deleting one breaks
the sequence numbers and the next entry's link; cutting the tail is caught by the head record
(last sequence number and hash) kept beside the log. Without the secret nobody can rebuild a
consistent chain after tampering.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    person_id: int | None
    reason: str
    detail: str
    """JSON text: what was read or changed (never a raw ID number)."""
    prev_hash: str
    hash: str


def canonical(
    at: datetime,
    actor: str,
    actor_role: str,
    action: str,
    person_id: int | None,
    reason: str,
    detail: str,
) -> bytes:
    return orjson.dumps(
        [at.isoformat(timespec="microseconds"), actor, actor_role, action, person_id, reason, detail]
    )


def chain_hash(key: bytes, prev_hash: str, seq: int, body: bytes) -> str:
    message = b"%s\n%d\n%s" % (prev_hash.encode("ascii"), seq, body)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def entry_hash(key: bytes, entry: AuditEntry) -> str:
    body = canonical(
        entry.at,
        entry.actor,
        entry.actor_role,
        entry.action,
        entry.person_id,
        entry.reason,
        entry.detail,
    )
    return chain_hash(key, entry.prev_hash, entry.seq, body)


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int
    problem: str  # edited | inserted_or_reordered | deleted | broken_link | tail_cut
    en: str
    zh: str


def verify_chain(key: bytes, entries: Iterable[AuditEntry], head: tuple[int, str] | None) -> list[Finding]:
    """Every break in the chain, in order. ``head`` is (last seq, last hash) as recorded."""
    findings: list[Finding] = []
    expected_seq = 1
    prev = GENESIS
    last: AuditEntry | None = None
    for entry in entries:
        if entry.seq > expected_seq:
            findings.append(
                Finding(
                    expected_seq,
                    "deleted",
                    f"entries {expected_seq}..{entry.seq - 1} are missing",
                    f"第 {expected_seq}–{entry.seq - 1} 条记录缺失",
                )
            )
        elif entry.seq < expected_seq:
            findings.append(
                Finding(
                    entry.seq,
                    "inserted_or_reordered",
                    f"entry {entry.seq} appears after entry {expected_seq - 1}",
                    f"第 {entry.seq} 条记录出现在第 {expected_seq - 1} 条之后",
                )
            )
        if entry_hash(key, entry) != entry.hash:
            findings.append(
                Finding(
                    entry.seq,
                    "edited",
                    f"entry {entry.seq} does not match its hash",
                    f"第 {entry.seq} 条记录与其哈希不符",
                )
            )
        if entry.prev_hash != prev:
            findings.append(
                Finding(
                    entry.seq,
                    "broken_link",
                    f"entry {entry.seq} does not link to the entry before it",
                    f"第 {entry.seq} 条记录与前一条记录的链接断开",
                )
            )
        prev = entry.hash
        expected_seq = max(expected_seq, entry.seq) + 1
        last = entry
    recorded_seq, recorded_hash = head if head is not None else (0, GENESIS)
    last_seq, last_hash = (last.seq, last.hash) if last is not None else (0, GENESIS)
    if (last_seq, last_hash) != (recorded_seq, recorded_hash):
        findings.append(
            Finding(
                last_seq,
                "tail_cut",
                f"the log ends at entry {last_seq} but the head records entry {recorded_seq}",
                f"日志止于第 {last_seq} 条，但链头记录为第 {recorded_seq} 条",
            )
        )
    return findings
