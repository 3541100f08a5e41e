"""The audit chain anchored outside the database: the head (last sequence number and its hash)
signed with the trust-list key and published (``GET /v1/audit/anchor``; ``commutepass audit
anchor --out FILE`` appends one to a file kept elsewhere, e.g. every 15 minutes from cron).

The chain alone shows an edited, inserted or deleted entry, but not a history cut back and its
head row set back with it; an anchor taken earlier does: ``audit verify --anchor FILE`` checks
every anchor's signature and that the entry it names is still there with the same hash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from commutepass.credentials import service as credentials
from commutepass.credentials.trust import load_anchor, sign_document, verify_document
from commutepass.domain.audit import Finding
from commutepass.kit.context import App
from commutepass.store.tables import audit_head, audit_log

KIND = "commutepass.audit-anchor.v1"


def anchor(app: App) -> dict[str, Any]:
    """The current head, signed by the trust-list key (whose public half verifiers pin)."""
    with app.engine.connect() as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
    document = {
        "kind": KIND,
        "seq": int(head.seq) if head is not None else 0,
        "hash": str(head.hash) if head is not None else "",
        "at": datetime.now(UTC).isoformat(),
    }
    return sign_document(document, credentials.keyring(app).trust_signer())


def check(app: App, documents: list[Any]) -> list[Finding]:
    """Every anchor whose signature fails, or whose entry is gone or has another hash now."""
    pinned = load_anchor(credentials.anchor_pem(app))
    findings: list[Finding] = []
    with app.engine.connect() as conn:
        for document in documents:
            verify_document(document, pinned, "anchor")
            if document.get("kind") != KIND:
                continue
            seq, expected = int(document["seq"]), str(document["hash"])
            if seq == 0:
                continue
            row = conn.execute(select(audit_log.c.hash).where(audit_log.c.seq == seq)).first()
            if row is None:
                findings.append(
                    Finding(
                        seq,
                        "anchor_missing",
                        f"entry {seq}, anchored at {document['at']}, is gone: the history was cut back",
                        f"已锚定的第 {seq} 条记录（锚定于 {document['at']}）已不存在：历史被截断",
                    )
                )
            elif row.hash != expected:
                findings.append(
                    Finding(
                        seq,
                        "anchor_mismatch",
                        f"entry {seq} no longer has the hash anchored at {document['at']}: the history was rewritten",
                        f"第 {seq} 条记录的哈希与锚定值（{document['at']}）不符：历史被改写",
                    )
                )
    return findings
