"""Health-code credentials on the EU DCC (HCERT) layers: CWT claims → COSE_Sign1 (ES256) → zlib →
base45 → the prefix ``JJJ1:``. CBOR, COSE and base45 come from cbor2, cwt and base45.

Claims: ``iss`` (1, the issuing region), ``exp`` (4), ``iat`` (6), ``cti`` (7, 8 random bytes) and
the private claim ``-270`` holding the status (see ``docs/credentials.md``). The protected header
carries ``alg`` (ES256, -7) and ``kid`` (the first 8 bytes of SHA-256 of the signer's
SubjectPublicKeyInfo).
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import base45
import cbor2
from cryptography.hazmat.primitives import serialization
from cwt import COSE, COSEKey
from cwt.cose_key_interface import COSEKeyInterface

from commutepass.credentials.keys import SigningKey, b64
from commutepass.credentials.trust import RevocationList, TrustedKey, TrustList
from commutepass.domain.carried import CarriedStatus
from commutepass.domain.clock import BEIJING
from commutepass.domain.decisions import Reason
from commutepass.domain.policy import Color, CommuterClass

PREFIX = "JJJ1:"
ES256 = -7
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI = 1, 4, 6, 7
CLAIM_STATUS = -270
"""Private-use claim key holding the status (the EU DCC uses -260 for its certificate)."""
SCHEMA_VERSION = 1

MAX_CODE_CHARS = 4000
"""Longer input is refused before decoding (a version-40 QR code holds 4,296 alphanumerics)."""
MAX_DECOMPRESSED = 4096
"""Cap on the inflated COSE message: a small code cannot become megabytes (zip bomb)."""
CLOCK_SKEW = timedelta(minutes=5)
"""Tolerance between the issuer's and the verifier's clocks."""
DEFAULT_LIFETIME = timedelta(hours=6)
"""A code expires hours after issue, so a change of status reaches checkpoints soon."""


class CredentialInvalid(Exception):
    """A code that must be refused, with the reason code (see ``domain/reasons.py``)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.code)
        self.reason = reason


def _invalid(code: str, **params: Any) -> CredentialInvalid:
    return CredentialInvalid(Reason.of(code, **params))


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: enough to match a face and a card, not to identify."""
    cleaned = name.strip()
    return cleaned[:1] + "*" * max(len(cleaned) - 1, 1) if cleaned else ""


def _signing_cose_key(signer: SigningKey) -> COSEKeyInterface:
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return COSEKey.from_pem(pem, alg="ES256", kid=signer.kid)


_COSE = COSE.new()


def encode_code(carried: CarriedStatus, subject: bytes, expires_at: datetime, signer: SigningKey) -> str:
    """The code string for a status (issued at ``carried.issued_at``), signed by ``signer``."""
    status: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "pv": carried.policy_version,
        "c": carried.color.value,
        "p": carried.popup,
        "b": carried.commuter_badge,
        "k": carried.commuter_class.value if carried.commuter_class else None,
        "n": _epoch(carried.nat_valid_until) if carried.nat_valid_until else None,
        "s": subject,
        "m": carried.masked_id,
        "y": carried.birth_year,
    }
    if carried.masked_name:
        status["nm"] = carried.masked_name
    claims = {
        CLAIM_ISS: carried.region,
        CLAIM_IAT: _epoch(carried.issued_at),
        CLAIM_EXP: _epoch(expires_at),
        CLAIM_CTI: secrets.token_bytes(8),
        CLAIM_STATUS: status,
    }
    signed = _COSE.encode_and_sign(
        cbor2.dumps(claims), _signing_cose_key(signer), protected={1: ES256, 4: signer.kid}
    )
    assert isinstance(signed, bytes)
    text: bytes = base45.b45encode(zlib.compress(signed, 9))
    return PREFIX + text.decode("ascii")


@dataclass(frozen=True, slots=True)
class VerifiedCode:
    carried: CarriedStatus
    kid: bytes
    expires_at: datetime
    subject: bytes
    credential_hash: str
    """SHA-256 (hex) of the signed claims: what the revocation list holds."""

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.carried.region,
            "kid": b64(self.kid),
            "issued_at": self.carried.issued_at.astimezone(BEIJING).isoformat(),
            "expires_at": self.expires_at.astimezone(BEIJING).isoformat(),
            "policy_version": self.carried.policy_version,
            "subject": self.subject.hex(),
            "holder": {
                "masked_id": self.carried.masked_id,
                "birth_year": self.carried.birth_year,
                "masked_name": self.carried.masked_name,
            },
            "hash": self.credential_hash,
        }


def _unwrap(code: str) -> tuple[bytes, dict[int, Any], bytes]:
    """The COSE message, its protected header and its payload; signature not yet checked."""
    text = (code or "").strip()
    if len(text) > MAX_CODE_CHARS:
        raise _invalid("CREDENTIAL_TOO_LARGE", limit=MAX_CODE_CHARS)
    if not text.startswith(PREFIX):
        raise _invalid("CREDENTIAL_MALFORMED", detail=f"no {PREFIX} prefix")
    try:
        compressed = base45.b45decode(text[len(PREFIX) :])
    except ValueError:
        raise _invalid("CREDENTIAL_MALFORMED", detail="not base45") from None
    inflater = zlib.decompressobj()
    try:
        message = inflater.decompress(compressed, MAX_DECOMPRESSED)
    except zlib.error:
        raise _invalid("CREDENTIAL_MALFORMED", detail="not zlib") from None
    if inflater.unconsumed_tail:
        raise _invalid("CREDENTIAL_TOO_LARGE", limit=MAX_DECOMPRESSED)
    if not inflater.eof:
        raise _invalid("CREDENTIAL_MALFORMED", detail="zlib stream cut short")
    try:
        tag = cbor2.loads(message)
        if not isinstance(tag, cbor2.CBORTag) or tag.tag != 18:
            raise ValueError("not a COSE_Sign1")
        protected_raw, _unprotected, payload, _signature = tag.value
        protected = cbor2.loads(protected_raw)
        if not isinstance(protected, dict) or not isinstance(payload, bytes):
            raise ValueError("bad COSE_Sign1 structure")
    except (cbor2.CBORDecodeError, ValueError, TypeError):
        raise _invalid("CREDENTIAL_MALFORMED", detail="not a COSE_Sign1 message") from None
    if protected.get(1) != ES256:
        raise _invalid("CREDENTIAL_MALFORMED", detail="algorithm is not ES256")
    kid = protected.get(4)
    if not isinstance(kid, bytes):
        raise _invalid("CREDENTIAL_MALFORMED", detail="no kid in the protected header")
    return message, protected, payload


def _carried(claims: Any, region: str) -> tuple[CarriedStatus, datetime, bytes]:
    try:
        status = claims[CLAIM_STATUS]
        nat = status["n"]
        carried = CarriedStatus(
            region=region,
            issued_at=_moment(int(claims[CLAIM_IAT])),
            policy_version=str(status["pv"]),
            color=Color(status["c"]),
            popup=str(status["p"]) if status["p"] is not None else None,
            commuter_badge=bool(status["b"]),
            commuter_class=CommuterClass(status["k"]) if status["k"] is not None else None,
            nat_valid_until=_moment(int(nat)) if nat is not None else None,
            masked_id=str(status["m"]),
            birth_year=int(status["y"]),
            masked_name=str(status["nm"]) if status.get("nm") else None,
        )
        return carried, _moment(int(claims[CLAIM_EXP])), bytes(status["s"])
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise _invalid("CREDENTIAL_MALFORMED", detail="claims are incomplete") from None


class Verifier:
    """Checks codes with nothing but a trust list and a revocation list."""

    def __init__(self, trust: TrustList, revocations: RevocationList, skew: timedelta = CLOCK_SKEW) -> None:
        self.trust = trust
        self.revocations = revocations
        self.skew = skew
        self._cose_keys: dict[int, COSEKeyInterface] = {}

    def _cose_key(self, key: TrustedKey) -> COSEKeyInterface:
        found = self._cose_keys.get(id(key))
        if found is None:
            found = COSEKey.from_pem(key.public_key_pem, alg="ES256", kid=key.kid)
            self._cose_keys[id(key)] = found
        return found

    def _signer(self, message: bytes, kid: bytes) -> TrustedKey:
        candidates = self.trust.candidates(kid)
        if not candidates:
            raise _invalid("CREDENTIAL_UNKNOWN_KEY", kid=b64(kid))
        for key in candidates:  # several keys may share a kid: try each
            try:
                _COSE.decode(message, self._cose_key(key))
            except Exception:
                continue
            return key
        raise _invalid("CREDENTIAL_SIGNATURE")

    def verify(self, code: str, at: datetime) -> VerifiedCode:
        """The code's content if it may be trusted at ``at``; else ``CredentialInvalid``."""
        message, protected, payload = _unwrap(code)
        kid: bytes = protected[4]
        key = self._signer(message, kid)
        try:
            claims = cbor2.loads(payload)
            region, iat, exp = claims[CLAIM_ISS], int(claims[CLAIM_IAT]), int(claims[CLAIM_EXP])
        except (cbor2.CBORDecodeError, KeyError, TypeError, ValueError):
            raise _invalid("CREDENTIAL_MALFORMED", detail="claims are not a CWT") from None
        if region != key.region:
            raise _invalid("CREDENTIAL_ISSUER_MISMATCH", region=str(region), key_region=key.region)
        carried, expires_at, subject = _carried(claims, key.region)
        issued_at = carried.issued_at
        if not key.valid_from - self.skew <= issued_at <= key.valid_to or at > key.valid_to + self.skew:
            raise _invalid("CREDENTIAL_KEY_EXPIRED", kid=b64(kid), valid_to=key.valid_to)
        if at < issued_at - self.skew:
            raise _invalid("CREDENTIAL_NOT_YET_VALID", issued=issued_at)
        if at > expires_at + self.skew or exp <= iat:
            raise _invalid("CREDENTIAL_EXPIRED", expired=expires_at)
        digest = hashlib.sha256(payload).hexdigest()
        if digest in self.revocations.hashes:
            raise _invalid("CREDENTIAL_REVOKED")
        return VerifiedCode(carried, kid, expires_at, subject, digest)


def credential_hash(code: str) -> str:
    """The revocation hash of a code (its signature is not checked here: revoking is the issuer's act)."""
    _message, _protected, payload = _unwrap(code)
    return hashlib.sha256(payload).hexdigest()
