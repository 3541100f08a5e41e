"""Use cases of signed codes: issue, verify, revoke, the trust and revocation lists, snapshots."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError

from commutepass.accounts import access
from commutepass.checks.service import (
    CheckRequest,
    Swipe,
    assess,
    checked_site,
    policy_in_force,
    record,
    swipe_row,
    view,
)
from commutepass.checks.writer import SwipeWriter, submit
from commutepass.credentials import hcert
from commutepass.credentials import repository as store
from commutepass.credentials.codes import (
    DEFAULT_LIFETIME,
    HC1,
    CredentialInvalid,
    Verifier,
    credential_hash,
    encode_code,
    mask_name,
)
from commutepass.credentials.keys import REGIONS, KeyRing, b64, parse_region
from commutepass.credentials.revocation import FilterUpdate, describe, update_since
from commutepass.credentials.trust import (
    Anchors,
    ListExpired,
    RevocationList,
    TrustList,
    freshness,
    hcert_key,
    load_anchor,
)
from commutepass.domain.carried import CarriedStatus, CarriedTest, decide_carried, decide_hcert
from commutepass.domain.clock import BEIJING, to_utc
from commutepass.domain.decisions import Mode, Reason
from commutepass.domain.errors import InputError
from commutepass.domain.facts import NatResult
from commutepass.domain.identity import mask_ids_in_text, parse_resident_id
from commutepass.domain.policy import Decision, Policy, PolicyBook
from commutepass.domain.reasons import headline, reason_json, render
from commutepass.domain.results import uses_of
from commutepass.domain.roles import Role
from commutepass.kit import audit
from commutepass.kit.context import App
from commutepass.kit.sessions import User

CODE_SITE = "二维码核验"
"""The site named in a verification answer when none is given."""
MAX_LIFETIME = timedelta(hours=24)


RESULTS_SHOWN_DAYS = 30
"""How far back "my test results" lists results (the longest window any rule reads is 14 days)."""


def test_results(app: App, user: User, now: datetime | None = None) -> list[dict[str, Any]]:
    """The test results on record for a citizen and the family members they added, each with the
    rules it satisfies under the policy in force and until when (sampled, reported, lab, result)."""
    now = now or app.now()
    policy = app.policies.in_force(now)
    household = access.household(app, user)
    with app.engine.connect() as conn:
        rows = store.nat_results_of(conn, [p for p, _ in household], now - timedelta(days=RESULTS_SHOWN_DAYS))
    out: list[dict[str, Any]] = []
    for n, (person_id, masked) in enumerate(household):
        results = []
        for row in (r for r in rows if r.person_id == person_id):
            nat = NatResult(row.sampled_at, row.reported_at, bool(row.positive), row.lab)
            results.append(
                {
                    "sampled_at": row.sampled_at.astimezone(BEIJING).isoformat(),
                    "reported_at": row.reported_at.astimezone(BEIJING).isoformat(),
                    "lab": row.lab,
                    "result": "positive" if row.positive else "negative",
                    "uses": [
                        {
                            "rule": u.rule,
                            "until": u.until.astimezone(BEIJING).isoformat(),
                            "in_force": u.in_force,
                            "zh": u.zh,
                            "en": u.en,
                        }
                        for u in uses_of(nat, policy, now)
                    ],
                }
            )
        out.append({"person": masked, "self": n == 0, "results": results})
    return out


def keyring(app: App) -> KeyRing:
    return KeyRing(app.settings.data_dir / "credentials", app.vault.derive(b"commutepass signing keys v1"))


def _subject(app: App, number: str) -> bytes:
    """A pseudonymous subject id for the code: stable for a person, useless without the secret."""
    return hmac.new(
        app.vault.derive(b"commutepass code subject v1"), number.encode(), hashlib.sha256
    ).digest()[:8]


def issue(
    app: App,
    user: User,
    id_number: str,
    at: datetime,
    region: str = "BJ",
    *,
    lifetime: timedelta = DEFAULT_LIFETIME,
    name: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """A signed code carrying the person's status at ``at``, as the core assesses it. A citizen
    gets one for themself or a family member they added (else ``Forbidden``), staff and the CLI
    for anyone; a code of someone else's status is audited (``code.issue``) like a status look-up."""
    issuing = parse_region(region)
    if not timedelta(minutes=1) <= lifetime <= MAX_LIFETIME:
        raise InputError(
            "hours", "a code lives between 1 minute and 24 hours", "二维码有效期须在1分钟到24小时之间"
        )
    resident = parse_resident_id(id_number)
    # a code carries the pop-up: a family member's only once they confirmed the link
    access.authorise_lookup(app, user, id_number, at, reason, "code.issue", allow_limited=False)
    status, policy = assess(app, resident, at)
    lapsed = any(r.code == "COMMUTER_PATTERN_LAPSED" for r in status.reasons)
    issued_at = to_utc(at).replace(microsecond=0)
    carried = CarriedStatus(
        region=issuing,
        issued_at=issued_at,
        policy_version=policy.version,
        color=status.color,
        popup=status.popup,
        commuter_badge=status.commuter_badge,
        commuter_class=None if lapsed else status.commuter_class,
        nat_valid_until=status.nat_valid_until,
        masked_id=resident.masked,
        birth_year=resident.birth_date.year,
        masked_name=mask_name(name) if name else None,
    )
    signer = keyring(app).issuer(issuing, issued_at)
    code = encode_code(carried, _subject(app, resident.number), issued_at + lifetime, signer)
    return {
        "id": resident.masked,
        "region": issuing,
        "kid": signer.record.kid,
        "issued_at": issued_at.astimezone(BEIJING).isoformat(),
        "expires_at": (issued_at + lifetime).astimezone(BEIJING).isoformat(),
        "hash": credential_hash(code),
        "code": code,
    }


# --- trust list, revocations, anchor -------------------------------------------------------------


def anchor_pem(app: App) -> str:
    """The trust-list key's public half: what every verifier pins (the key signing now)."""
    return keyring(app).trust_signer().record.public_key_pem


def _hcert_path(app: App) -> Path:
    return app.settings.data_dir / "credentials" / "hcert_certificates.json"


def hcert_certificates(app: App) -> list[str]:
    """The EU DCC signing certificates (base64 DER) this installation vouches for on its list."""
    path = _hcert_path(app)
    if not path.exists():
        return []
    return [str(c) for c in read_json_file(path, "certificate")]


def add_hcert_certificate(app: App, path: Path) -> dict[str, Any]:
    """Put an EU DCC signing certificate (PEM or DER file) on the trust list, for ``HC1:`` codes."""
    import base64

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(
            "certificate", f"{path}: cannot read the file ({exc.strerror})", f"{path}：无法读取文件"
        ) from None
    key = hcert_key(raw)
    if raw.lstrip().startswith(b"-----BEGIN"):
        raw = x509.load_pem_x509_certificate(raw).public_bytes(serialization.Encoding.DER)
    encoded = base64.b64encode(raw).decode("ascii")
    known = hcert_certificates(app)
    if encoded not in known:
        target = _hcert_path(app)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(orjson.dumps([*known, encoded]))
    return {
        "kid": base64.b64encode(key.kid).decode("ascii"),
        "country": key.region,
        "valid_from": key.valid_from.isoformat(),
        "valid_to": key.valid_to.isoformat(),
        "usage": sorted(key.usage) if key.usage is not None else None,
        "already": encoded in known,
    }


def trust_document(app: App) -> dict[str, Any]:
    ring = keyring(app)
    now = datetime.now(UTC)
    return TrustList.document(
        ring.records(),
        now,
        ring.trust_signer(now),
        next_anchor=ring.next_anchor(now),
        hcert_certificates=hcert_certificates(app),
    )


def revocation_document(app: App) -> dict[str, Any]:
    with app.engine.connect() as conn:
        hashes = store.revoked_hashes(conn)
    return RevocationList.document(hashes, datetime.now(UTC), keyring(app).trust_signer())


def revocation_filter(app: App, since: int = 0) -> tuple[bytes, dict[str, Any]]:
    """The signed revocation filter update since version ``since`` (0: the whole list)."""
    if since < 0:
        raise InputError("since", "a version is 0 or more", "版本号不能为负数")
    with app.engine.connect() as conn:
        rows = store.revocations_since(conn, since)
        total = store.revocation_count(conn)
        latest = store.revocation_version(conn)
    if since > latest:
        raise InputError(
            "since",
            f"version {since} is ahead of this list (version {latest}): fetch the whole list (since=0)",
            f"版本 {since} 超过本列表的版本 {latest}：请获取完整列表（since=0）",
        )
    update = update_since(rows, since, total, datetime.now(UTC))
    update = FilterUpdate(update.since, max(latest, since), total, update.issued_at, update.added)
    return update.encode(keyring(app).trust_signer()), describe(update)


def revoke(app: App, code_or_hash: str, reason: str = "", *, actor: audit.Actor) -> dict[str, Any]:
    """Put the code's hash on the revocation list; who did it and why goes to the audit log."""
    value = (code_or_hash or "").strip()
    if len(value) == 64 and all(c in "0123456789abcdef" for c in value.lower()):
        digest = value.lower()
    else:
        try:
            digest = credential_hash(value)
        except CredentialInvalid as exc:
            text = render(exc.reason)
            raise InputError(
                "code", f"give a code or its 64-hex hash: {text.en}", f"请给出二维码或其64位哈希：{text.zh}"
            ) from None
    why = mask_ids_in_text(reason.strip())[:500]
    for attempt in range(5):
        try:
            with app.transaction() as conn:
                new = store.add_revocation(conn, digest, why)
                audit.record(conn, app, actor, "code.revoke", None, why, hash=digest, already=not new)
            break
        except IntegrityError:  # two revocations took the same serial at once: take the next
            if attempt == 4:
                raise
    return {"hash": digest, "revoked": True, "already": not new}


def rotate(app: App, region: str, at: datetime, old_valid_for: timedelta) -> dict[str, Any]:
    if old_valid_for < DEFAULT_LIFETIME:
        raise InputError(
            "old_valid_hours",
            f"the old key must stay valid at least as long as a code lives ({DEFAULT_LIFETIME})",
            "旧密钥的剩余有效期不得短于二维码有效期",
        )
    record = keyring(app).rotate(parse_region(region), to_utc(at), old_valid_for)
    return {
        "region": record.region,
        "kid": record.kid,
        "valid_from": record.valid_from.isoformat(),
        "valid_to": record.valid_to.isoformat(),
    }


def rotate_anchor(app: App, at: datetime, overlap: timedelta) -> dict[str, Any]:
    """A new trust-list key taking over after ``overlap``; until then lists introduce it."""
    if overlap < timedelta(hours=1):
        raise InputError(
            "overlap_hours", "the overlap must be at least an hour", "新旧密钥的重叠期至少为1小时"
        )
    record = keyring(app).rotate_anchor(to_utc(at), overlap)
    return {
        "kid": record.kid,
        "signs_from": record.valid_from.isoformat(),
        "public_key_pem": record.public_key_pem,
    }


def load_anchors(pem: str | bytes) -> Anchors:
    """The pinned trust-list keys: one PEM, or several one after another (during a rotation)."""
    text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
    marker = "-----BEGIN PUBLIC KEY-----"
    blocks = [marker + b for b in text.split(marker)[1:]]
    return Anchors([load_anchor(b) for b in blocks] or [load_anchor(text)])


def verifier(trust: Any, revocations: Any, anchor: str | bytes | Anchors) -> Verifier:
    """A verifier from the published documents alone (and the pinned anchors)."""
    anchors = anchor if isinstance(anchor, Anchors) else load_anchors(anchor)
    return Verifier(TrustList.parse(trust, anchors), RevocationList.parse(revocations, anchors))


def local_verifier(app: App) -> Verifier:
    """This installation's verifier: it reads its own published documents like any other."""
    return verifier(trust_document(app), revocation_document(app), anchor_pem(app))


def list_expiry(app: App, kind: str, document: Any) -> datetime | None:
    """When a published list expires, read as any verifier reads it (its signature checked
    against this installation's anchors). ``kind``: ``trust`` or ``revocations``. ``InputError``
    if the document does not verify or is not well formed."""
    anchors = load_anchors(anchor_pem(app))
    if kind == "trust":
        return TrustList.parse(document, anchors).expires_at
    return RevocationList.parse(document, anchors).expires_at


def read_json_file(path: Path, what: str) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(
            what, f"{path}: cannot read the file ({exc.strerror})", f"{path}：无法读取文件"
        ) from None
    except orjson.JSONDecodeError:
        raise InputError(what, f"{path}: is not JSON", f"{path}：不是 JSON 文件") from None


# --- verification --------------------------------------------------------------------------------


def _refused(at: datetime, reason: Reason, decision: Decision = Decision.REFUSE) -> dict[str, Any]:
    rendered = render(reason)
    answer = reason_json(rendered)
    return {
        "valid": False,
        "decision": decision.value,
        "at": at.astimezone(BEIJING).isoformat(),
        "reason": answer,
        "reasons": [answer],
        "explanation": _invalid_explanation(rendered, decision),
    }


def list_warnings(checker: Verifier, policy: Policy, at: datetime) -> list[Reason]:
    """Warnings about the verifier's lists at ``at`` under the policy (``ListExpired`` past the
    stale tolerance)."""
    warn = timedelta(hours=policy.offline.trust_list_warn_hours)
    stale = timedelta(hours=policy.offline.trust_list_stale_hours)
    warnings: list[Reason] = []
    lists = [
        ("trust", checker.trust.expires_at),
        ("revocations", getattr(checker.revocations, "expires_at", None)),
    ]
    for what, expires_at in lists:
        if expires_at is not None:
            found = freshness(what, expires_at, to_utc(at), warn, stale)
            if found is not None:
                warnings.append(found)
    return warnings


def verify(
    checker: Verifier,
    policies: PolicyBook,
    code: str,
    at: datetime,
    *,
    site: str = CODE_SITE,
    mode: Mode = Mode.ROAD,
    role: Role | None = Role.OFFICER,
) -> tuple[dict[str, Any], Swipe | None]:
    """The check answer for a code (``valid`` true) as ``role`` may see it, and the swipe to
    record; or ``valid`` false with the reason and remedy, and nothing to record (no policy was
    applied: the code itself is refused). An ``HC1:`` code is an EU certificate (``verify_hcert``).
    A list past its expiry and the policy's stale tolerance verifies nothing: ``documents``."""
    policy = policy_in_force(policies, at)
    try:
        warnings = list_warnings(checker, policy, at)
    except ListExpired as exc:
        return _refused(at, exc.reason, Decision.DOCUMENTS), None
    if code.strip().startswith(HC1.prefix):
        return verify_hcert(checker, policy, code, at, site=site, mode=mode, warnings=warnings)
    try:
        verified = checker.verify(code, to_utc(at))
    except CredentialInvalid as exc:
        return _refused(at, exc.reason), None
    outcome = decide_carried(verified.carried, policy, to_utc(at), mode=mode)
    request = CheckRequest(verified.carried.masked_id, at, checked_site(site), mode)
    codes = [r.code for r in (*outcome.reasons, *outcome.status.reasons)]
    # the code names no person, only a pseudonym: the check is recorded without one
    swipe = Swipe(
        swipe_row(None, request, outcome.decision, policy.version, codes),
        None,
        {"credential": credential_hash(code), "region": verified.carried.region},
    )
    answer = {
        "valid": True,
        **view(verified.carried.masked_id, at, request.site, mode, outcome, policy, role=role),
        "credential": verified.as_json(),
        "warnings": [reason_json(w) for w in warnings],
    }
    return answer, swipe


def verify_hcert(
    checker: Verifier,
    policy: Policy,
    code: str,
    at: datetime,
    *,
    site: str = CODE_SITE,
    mode: Mode = Mode.ROAD,
    warnings: list[Reason] | None = None,
) -> tuple[dict[str, Any], Swipe | None]:
    """An EU Digital COVID Certificate: verified against the EU signing certificates on the
    trust list (ES256 or PS256, their key usage), its test shown, and counted as the entry NAT
    only where the policy accepts its issuer (``hcert.accepted_issuers``)."""
    eu = Verifier(
        TrustList(checker.trust.hcert_keys, checker.trust.issued_at), checker.revocations, profile=HC1
    )
    try:
        checked = eu.check(code, to_utc(at))
        hcert.check_usage(checked.key, hcert.dgc_of(checked.claims))
        certificate = hcert.read(checked.claims)
    except CredentialInvalid as exc:
        return _refused(at, exc.reason), None
    test = certificate.test
    carried = CarriedTest(
        issuer=certificate.issuer,
        kinds="/".join(sorted(hcert.KINDS[k] for k in certificate.kinds)),
        name=certificate.name,
        birth_date=certificate.birth_date,
        sampled_at=test.sampled_at if test else None,
        result=test.result if test else "",
        test_type=test.test_type if test else "",
    )
    decision, reasons, manual = decide_hcert(carried, policy, to_utc(at))
    request = CheckRequest("", at, checked_site(site), mode)
    swipe = Swipe(
        swipe_row(None, request, decision, policy.version, [r.code for r in reasons]),
        None,
        {"credential": checked.credential_hash, "region": certificate.issuer, "hcert": True},
    )
    rendered = [render(r) for r in reasons]
    title = headline(decision)
    answer = {
        "valid": True,
        "decision": decision.value,
        "at": at.astimezone(BEIJING).isoformat(),
        "site": request.site,
        "mode": mode.value,
        "policy_version": policy.version,
        "reasons": [reason_json(r) for r in rendered],
        "status_reasons": [],
        "to_check_by_hand": [reason_json(r) for r in manual],
        "explanation": {
            "zh": title.zh + "".join(r.zh for r in rendered),
            "en": " ".join([title.en, *(r.en for r in rendered)]),
        },
        "hcert": {
            "issuer": certificate.issuer,
            "kinds": sorted(certificate.kinds),
            "holder": {"name": certificate.name, "birth_date": certificate.birth_date},
            "test": test.as_json() if test else None,
            "counts_as_nat": any(r.code == "HCERT_NAT_VALID" for r in reasons),
            "kid": b64(checked.message.kid),
            "issued_at": checked.issued_at.astimezone(BEIJING).isoformat(),
            "expires_at": checked.expires_at.astimezone(BEIJING).isoformat(),
            "hash": checked.credential_hash,
        },
        "warnings": [reason_json(w) for w in (warnings or [])],
    }
    return answer, swipe


def check_code(
    app: App, user: User, code: str, at: datetime, *, site: str = CODE_SITE, mode: Mode = Mode.ROAD
) -> dict[str, Any]:
    """A code verified against this installation's trust list and decided, recorded and audited
    in one transaction (the CLI); the server sends the swipe to its writer instead."""
    answer, swipe = verify(local_verifier(app), app.policies, code, at, site=site, mode=mode, role=user.role)
    if swipe is not None:
        with app.transaction() as conn:
            record(conn, app, user.actor, [swipe])
    return answer


async def verify_online(
    app: App, writer: SwipeWriter, user: User, code: str, at: datetime, site: str, mode: Mode
) -> dict[str, Any]:
    """A scanned code checked at the server (``POST /v1/codes/verify`` and the web console):
    decided like ``check_code``, recorded through the swipe writer."""
    answer, swipe = verify(local_verifier(app), app.policies, code, at, site=site, mode=mode, role=user.role)
    await submit(writer, swipe, user)
    return answer


def _invalid_explanation(rendered: Any, decision: Decision = Decision.REFUSE) -> dict[str, str]:
    headline = render(Reason.of("DECISION_" + decision.value.upper()))
    zh = f"{headline.zh}{rendered.zh}" + (f"怎么办：{rendered.remedy_zh}" if rendered.remedy_zh else "")
    en = f"{headline.en} {rendered.en}" + (f" What to do: {rendered.remedy_en}" if rendered.remedy_en else "")
    return {"zh": zh, "en": en}


__all__ = ["REGIONS", "issue", "revoke", "rotate", "verify"]
