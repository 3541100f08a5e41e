"""Use cases of signed codes: issue, verify, revoke, the trust and revocation lists, snapshots."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from commutepass.credentials.codes import (
    DEFAULT_LIFETIME,
    CredentialInvalid,
    Verifier,
    credential_hash,
    encode_code,
    mask_name,
)
from commutepass.credentials.keys import REGIONS, KeyRing, parse_region
from commutepass.credentials.snapshot import encode_person, encode_snapshot, pseudonym
from commutepass.credentials.trust import RevocationList, TrustList, load_anchor
from commutepass.domain.carried import CarriedStatus, decide_carried
from commutepass.domain.clock import BEIJING, to_utc
from commutepass.domain.decisions import Mode, Reason
from commutepass.domain.errors import InputError
from commutepass.domain.identity import mask_ids_in_text, parse_resident_id
from commutepass.domain.policy import PolicyBook
from commutepass.domain.reasons import reason_json, render
from commutepass.services import audit, people
from commutepass.services.auth import User
from commutepass.services.context import App
from commutepass.services.decide import assess, decision_json, policy_at
from commutepass.store import credentials as store
from commutepass.store.facts import NAT_LOOKBACK, FactReader

CODE_SITE = "二维码核验"
"""The site named in a verification answer when none is given."""
MAX_LIFETIME = timedelta(hours=24)


def keyring(app: App) -> KeyRing:
    return KeyRing(app.settings.data_dir / "credentials", app.vault.derive(b"commutepass signing keys v1"))


def _subject(app: App, number: str) -> bytes:
    """A pseudonymous subject id for the code: stable for a person, useless without the secret."""
    return hmac.new(
        app.vault.derive(b"commutepass code subject v1"), number.encode(), hashlib.sha256
    ).digest()[:8]


def issue(
    app: App,
    id_number: str,
    at: datetime,
    region: str = "BJ",
    *,
    lifetime: timedelta = DEFAULT_LIFETIME,
    name: str | None = None,
) -> dict[str, Any]:
    """A signed code carrying the person's status at ``at``, as the core assesses it."""
    issuing = parse_region(region)
    if not timedelta(minutes=1) <= lifetime <= MAX_LIFETIME:
        raise InputError(
            "hours", "a code lives between 1 minute and 24 hours", "二维码有效期须在1分钟到24小时之间"
        )
    resident = parse_resident_id(id_number)
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


def issue_for(
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
    """``issue`` for a signed-in user: a citizen for themself or a family member they added
    (else ``Forbidden``), staff for anyone; a code of someone else's status is audited
    (``code.issue``) like a status look-up."""
    people.authorise_lookup(app, user, id_number, at, reason, "code.issue")
    return issue(app, id_number, at, region, lifetime=lifetime, name=name)


# --- trust list, revocations, anchor -------------------------------------------------------------


def anchor_pem(app: App) -> str:
    """The trust-list key's public half: what every verifier pins."""
    return keyring(app).trust_signer().record.public_key_pem


def trust_document(app: App) -> dict[str, Any]:
    ring = keyring(app)
    return TrustList.document(ring.records(), datetime.now(UTC), ring.trust_signer())


def revocation_document(app: App) -> dict[str, Any]:
    with app.engine.connect() as conn:
        hashes = store.revoked_hashes(conn)
    return RevocationList.document(hashes, datetime.now(UTC), keyring(app).trust_signer())


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
    with app.transaction() as conn:
        new = store.add_revocation(conn, digest, why)
        audit.record(conn, app, actor, "code.revoke", None, why, hash=digest, already=not new)
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


def verifier(trust: Any, revocations: Any, anchor: str | bytes) -> Verifier:
    """A verifier from the published documents alone (and the pinned anchor)."""
    key = load_anchor(anchor)
    return Verifier(TrustList.parse(trust, key), RevocationList.parse(revocations, key))


def local_verifier(app: App) -> Verifier:
    """This installation's verifier: it reads its own published documents like any other."""
    return verifier(trust_document(app), revocation_document(app), anchor_pem(app))


def read_json_file(path: Path, what: str) -> Any:
    import orjson

    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(
            what, f"{path}: cannot read the file ({exc.strerror})", f"{path}：无法读取文件"
        ) from None
    except orjson.JSONDecodeError:
        raise InputError(what, f"{path}: is not JSON", f"{path}：不是 JSON 文件") from None


# --- verification --------------------------------------------------------------------------------


def verify(
    checker: Verifier,
    policies: PolicyBook,
    code: str,
    at: datetime,
    *,
    site: str = CODE_SITE,
    mode: Mode = Mode.ROAD,
) -> dict[str, Any]:
    """The check answer for a code (``valid`` true), or ``valid`` false with the reason and remedy."""
    try:
        verified = checker.verify(code, to_utc(at))
    except CredentialInvalid as exc:
        rendered = render(exc.reason)
        answer = reason_json(rendered)
        return {
            "valid": False,
            "decision": "refuse",
            "at": at.astimezone(BEIJING).isoformat(),
            "reason": answer,
            "reasons": [answer],
            "explanation": _invalid_explanation(rendered),
        }
    try:
        policy = policies.in_force(at)
    except LookupError:
        raise InputError(
            "at", f"no policy is in force at {at.isoformat()}", f"{at.isoformat()} 时没有生效的政策"
        ) from None
    outcome = decide_carried(verified.carried, policy, to_utc(at), mode=mode)
    return {
        "valid": True,
        **decision_json(verified.carried.masked_id, at, site, mode, outcome, policy),
        "credential": verified.as_json(),
    }


def _invalid_explanation(rendered: Any) -> dict[str, str]:
    headline = render(Reason.of("DECISION_REFUSE"))
    zh = f"{headline.zh}{rendered.zh}" + (f"怎么办：{rendered.remedy_zh}" if rendered.remedy_zh else "")
    en = f"{headline.en} {rendered.en}" + (f" What to do: {rendered.remedy_en}" if rendered.remedy_en else "")
    return {"zh": zh, "en": en}


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
        for person_id, birth, cipher in list(store.snapshot_people(conn, moment, NAT_LOOKBACK)):
            number = app.vault.decrypt(cipher)
            facts = reader.facts(person_id, birth, moment, policy)
            people.append((pseudonym(key, number), encode_person(facts, moment, policy, risky)))
    periods = [p for plist in risk.by_county.values() for p in plist]
    signed = encode_snapshot(people, moment, policy.version, periods, keyring(app).trust_signer())
    return {
        "as_of": moment.astimezone(BEIJING).isoformat(),
        "people": len(people),
        "snapshot": base64.b64encode(signed).decode("ascii"),
        "key": base64.b64encode(key).decode("ascii"),
    }


def hand_out_snapshot(app: App, actor: audit.Actor, as_of: datetime) -> dict[str, Any]:
    """``build_snapshot`` for a checkpoint, with who took it (and its key) in the audit log."""
    built = build_snapshot(app, as_of)
    with app.transaction() as conn:
        audit.record(
            conn,
            app,
            actor,
            "checkpoint.snapshot",
            None,
            "offline snapshot",
            as_of=built["as_of"],
            people=built["people"],
        )
    return built


def decode_b64(value: Any, field: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(field, "is not base64", "不是 base64 编码") from None


__all__ = ["REGIONS", "build_snapshot", "issue", "revoke", "rotate", "verify"]
