"""Use cases of signed codes: issue, verify, revoke, the trust and revocation lists, snapshots."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from commutepass.credentials import repository as store
from commutepass.credentials.codes import (
    DEFAULT_LIFETIME,
    CredentialInvalid,
    Verifier,
    credential_hash,
    encode_code,
    mask_name,
)
from commutepass.credentials.keys import REGIONS, KeyRing, parse_region
from commutepass.credentials.trust import RevocationList, TrustList, load_anchor
from commutepass.domain.carried import CarriedStatus, decide_carried
from commutepass.domain.clock import BEIJING, to_utc
from commutepass.domain.decisions import Mode, Reason
from commutepass.domain.errors import InputError
from commutepass.domain.facts import NatResult
from commutepass.domain.identity import mask_ids_in_text, parse_resident_id
from commutepass.domain.policy import PolicyBook
from commutepass.domain.reasons import reason_json, render
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
    access.authorise_lookup(app, user, id_number, at, reason, "code.issue")
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
    role: Role | None = Role.OFFICER,
) -> tuple[dict[str, Any], Swipe | None]:
    """The check answer for a code (``valid`` true) as ``role`` may see it, and the swipe to
    record; or ``valid`` false with the reason and remedy, and nothing to record (no policy was
    applied: the code itself is refused)."""
    try:
        verified = checker.verify(code, to_utc(at))
    except CredentialInvalid as exc:
        rendered = render(exc.reason)
        answer = reason_json(rendered)
        refused = {
            "valid": False,
            "decision": "refuse",
            "at": at.astimezone(BEIJING).isoformat(),
            "reason": answer,
            "reasons": [answer],
            "explanation": _invalid_explanation(rendered),
        }
        return refused, None
    policy = policy_in_force(policies, at)
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


def _invalid_explanation(rendered: Any) -> dict[str, str]:
    headline = render(Reason.of("DECISION_REFUSE"))
    zh = f"{headline.zh}{rendered.zh}" + (f"怎么办：{rendered.remedy_zh}" if rendered.remedy_zh else "")
    en = f"{headline.en} {rendered.en}" + (f" What to do: {rendered.remedy_en}" if rendered.remedy_en else "")
    return {"zh": zh, "en": en}


__all__ = ["REGIONS", "issue", "revoke", "rotate", "verify"]
