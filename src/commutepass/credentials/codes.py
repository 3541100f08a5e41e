"""Health-code credentials on the EU DCC (HCERT) layers: CWT claims → COSE_Sign1 → zlib →
base45 → a prefix (``JJJ1:`` for ours, ``HC1:`` for the EU's). CBOR, base45 and the signatures
come from cbor2, base45 and cryptography; our codes are signed with cwt, so the verifier here
(which builds the COSE ``Sig_structure`` itself) is checked against an independent signer.

Each layer is a function of its own (``unprefix``, ``unbase45``, ``inflate``, ``sign1``,
``check_signature``, ``cwt_claims``, ``check_times``) raising ``CredentialInvalid`` with the
``step`` it failed at, so the conformance runner (``conformance.py``) can judge every step of an
HCERT test vector; ``Verifier`` chains them for a checkpoint. What differs between the ``JJJ1:``
profile and the EU's is a ``Profile``: the prefix, the algorithms, where the headers may be.

Our claims: ``iss`` (1, the issuing region), ``exp`` (4), ``iat`` (6), ``cti`` (7, 8 random bytes)
and the private claim ``-270`` holding the status (see ``docs/credentials.md``). The protected
header carries ``alg`` (ES256, -7) and ``kid`` (the first 8 bytes of SHA-256 of the signer's
SubjectPublicKeyInfo).
"""

from __future__ import annotations

import hashlib
import secrets
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import base45
import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cwt import COSE, COSEKey
from cwt.cose_key_interface import COSEKeyInterface

from commutepass.credentials.keys import SigningKey, b64
from commutepass.credentials.revocation import RevocationCheck
from commutepass.credentials.trust import TrustedKey, TrustList
from commutepass.domain.carried import CarriedStatus
from commutepass.domain.clock import BEIJING
from commutepass.domain.decisions import Reason
from commutepass.domain.policy import Color, CommuterClass

PREFIX = "JJJ1:"
ES256 = -7
PS256 = -37
ALGORITHMS = {ES256: "ES256", PS256: "PS256"}
CLAIM_ISS, CLAIM_EXP, CLAIM_IAT, CLAIM_CTI = 1, 4, 6, 7
CLAIM_STATUS = -270
"""Private-use claim key holding the status (the EU DCC uses -260 for its certificate)."""
HEADER_ALG, HEADER_KID = 1, 4
TAG_COSE_SIGN1, TAG_CWT = 18, 61
SCHEMA_VERSION = 1

MAX_CODE_CHARS = 4000
"""Longer input is refused before decoding (a version-40 QR code holds 4,296 alphanumerics)."""
MAX_DECOMPRESSED = 4096
"""Cap on the inflated COSE message: a small code cannot become megabytes (zip bomb)."""
CLOCK_SKEW = timedelta(minutes=5)
"""Tolerance between the issuer's and the verifier's clocks."""
DEFAULT_LIFETIME = timedelta(hours=6)
"""A code expires hours after issue, so a change of status reaches checkpoints soon."""


class Step(StrEnum):
    """The layers of a code, in the order a verifier peels them."""

    SIZE = "size"
    PREFIX = "prefix"
    BASE45 = "base45"
    ZLIB = "zlib"
    COSE = "cose"
    """CBOR and the COSE_Sign1 structure, the algorithm and the kid."""
    KEY = "key"
    """The kid on the trust list."""
    SIGNATURE = "signature"
    CLAIMS = "claims"
    """The signed payload is a CWT with the profile's claims."""
    ISSUER = "issuer"
    KEY_VALIDITY = "key_validity"
    TIMES = "times"
    """Issued at and expiry against the clock."""
    REVOCATION = "revocation"


class CredentialInvalid(Exception):
    """A code that must be refused, with the reason code (see ``domain/reasons.py``) and the
    layer it failed at."""

    def __init__(self, reason: Reason, step: Step) -> None:
        super().__init__(reason.code)
        self.reason = reason
        self.step = step


def _invalid(code: str, step: Step, **params: Any) -> CredentialInvalid:
    return CredentialInvalid(Reason.of(code, **params), step)


def _malformed(step: Step, detail: str) -> CredentialInvalid:
    return _invalid("CREDENTIAL_MALFORMED", step, detail=detail)


@dataclass(frozen=True, slots=True)
class Profile:
    """What a family of codes looks like on the wire; the layers and the checks are shared."""

    name: str
    prefix: str
    algorithms: frozenset[int]
    """COSE algorithm ids accepted."""
    headers_from_unprotected: bool
    """HCERT: ``alg`` and ``kid`` may be in the unprotected header when the protected one has
    none (the protected header wins when it has them). Ours: protected only."""
    skew: timedelta
    """Clock tolerance either side of issued-at and expiry."""
    fractional_times: bool = False
    """HCERT: issued-at and expiry may be non-integer NumericDates (RFC 8392 allows them; some
    issuers send them). Ours: integers only."""


JJJ1 = Profile("JJJ1", PREFIX, frozenset({ES256}), False, CLOCK_SKEW)
HC1 = Profile("HC1", "HC1:", frozenset({ES256, PS256}), True, timedelta(0), fractional_times=True)
"""The EU Digital COVID Certificate as its verifiers read it (no clock skew: its vectors test
expiry to the second)."""


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
    return wrap(signed)


def wrap(message: bytes, prefix: str = PREFIX) -> str:
    """A COSE message as code text: zlib (level 9), base45, the prefix."""
    text: bytes = base45.b45encode(zlib.compress(message, 9))
    return prefix + text.decode("ascii")


# --- the layers ------------------------------------------------------------------------------------


def unprefix(code: str, profile: Profile = JJJ1) -> str:
    """The base45 text after the profile's prefix."""
    text = (code or "").strip()
    if len(text) > MAX_CODE_CHARS:
        raise _invalid("CREDENTIAL_TOO_LARGE", Step.SIZE, limit=MAX_CODE_CHARS)
    if not text.startswith(profile.prefix):
        raise _malformed(Step.PREFIX, f"no {profile.prefix} prefix")
    return text[len(profile.prefix) :]


def unbase45(text: str) -> bytes:
    try:
        data: bytes = base45.b45decode(text)
    except ValueError:
        raise _malformed(Step.BASE45, "not base45") from None
    return data


def inflate(compressed: bytes) -> bytes:
    """The zlib stream inflated, at most ``MAX_DECOMPRESSED`` bytes."""
    inflater = zlib.decompressobj()
    try:
        message = inflater.decompress(compressed, MAX_DECOMPRESSED)
    except zlib.error:
        raise _malformed(Step.ZLIB, "not zlib") from None
    if inflater.unconsumed_tail:
        raise _invalid("CREDENTIAL_TOO_LARGE", Step.ZLIB, limit=MAX_DECOMPRESSED)
    if not inflater.eof:
        raise _malformed(Step.ZLIB, "zlib stream cut short")
    return message


@dataclass(frozen=True, slots=True)
class Sign1:
    """A COSE_Sign1 message, its signature not yet checked."""

    protected_raw: bytes
    protected: dict[Any, Any]
    unprotected: dict[Any, Any]
    payload: bytes
    signature: bytes
    alg: int
    kid: bytes

    def to_be_signed(self) -> bytes:
        """The COSE ``Sig_structure`` (RFC 9052 §4.4) the signature covers."""
        return cbor2.dumps(["Signature1", self.protected_raw, b"", self.payload])


def sign1(message: bytes, profile: Profile = JJJ1) -> Sign1:
    """The COSE_Sign1 structure (tag 18; HCERT also sends it untagged or inside a CWT tag 61),
    with an accepted algorithm and an 8-byte kid."""
    try:
        item = cbor2.loads(message)
        if isinstance(item, cbor2.CBORTag) and item.tag == TAG_CWT:
            item = item.value
        if isinstance(item, cbor2.CBORTag):
            if item.tag != TAG_COSE_SIGN1:
                raise ValueError(f"CBOR tag {item.tag} is not COSE_Sign1")
            item = item.value
        if not isinstance(item, list) or len(item) != 4:
            raise ValueError("not a COSE_Sign1 array")
        protected_raw, unprotected, payload, signature = item
        if not isinstance(protected_raw, bytes) or not isinstance(payload, bytes):
            raise ValueError("bad COSE_Sign1 structure")
        protected = cbor2.loads(protected_raw) if protected_raw else {}
        if not isinstance(protected, dict) or not isinstance(unprotected, dict):
            raise ValueError("bad COSE_Sign1 headers")
        if not isinstance(signature, bytes):
            raise ValueError("bad COSE_Sign1 signature")
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError):
        raise _malformed(Step.COSE, "not a COSE_Sign1 message") from None

    def header(label: int) -> Any:
        if label in protected or not profile.headers_from_unprotected:
            return protected.get(label)
        return unprotected.get(label)

    alg, kid = header(HEADER_ALG), header(HEADER_KID)
    if alg not in profile.algorithms:
        accepted = " or ".join(ALGORITHMS[a] for a in sorted(profile.algorithms, reverse=True))
        raise _malformed(Step.COSE, f"algorithm is not {accepted}")
    if not isinstance(kid, bytes):
        raise _malformed(Step.COSE, "no kid in the protected header")
    return Sign1(protected_raw, protected, unprotected, payload, signature, alg, kid)


def signature_verifies(message: Sign1, public_key: Any) -> bool:
    """The signature against one public key: ES256 (ECDSA with SHA-256, r‖s) or PS256 (RSA-PSS,
    SHA-256). ES256 is meant for P-256 (RFC 8152 §8.1 suggests it, and our keys are P-256); an
    EU signer on P-384 with ES256 (Spain's vectors) verifies as the algorithm defines it."""
    data = message.to_be_signed()
    try:
        if message.alg == ES256:
            if not isinstance(public_key, ec.EllipticCurvePublicKey):
                return False
            size = (public_key.curve.key_size + 7) // 8
            if len(message.signature) != 2 * size:
                return False
            r = int.from_bytes(message.signature[:size], "big")
            s = int.from_bytes(message.signature[size:], "big")
            public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
            return True
        if message.alg == PS256:
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
            public_key.verify(message.signature, data, pss, hashes.SHA256())
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def signer_of(message: Sign1, trust: TrustList) -> TrustedKey:
    """The trusted key whose signature it is; several keys may share a kid: each is tried."""
    candidates = trust.candidates(message.kid)
    if not candidates:
        raise _invalid("CREDENTIAL_UNKNOWN_KEY", Step.KEY, kid=b64(message.kid))
    for key in candidates:
        if signature_verifies(message, key.public_key):
            return key
    raise _invalid("CREDENTIAL_SIGNATURE", Step.SIGNATURE)


def cwt_claims(payload: bytes, profile: Profile = JJJ1) -> dict[Any, Any]:
    """The signed payload as CWT claims with issued-at and expiry (integers; or, where the
    profile allows, fractional seconds, cut to whole ones)."""
    try:
        claims = cbor2.loads(payload)
        if not isinstance(claims, dict):
            raise ValueError("not a map")
        for label in (CLAIM_IAT, CLAIM_EXP):
            value = claims.get(label)
            if isinstance(value, float) and profile.fractional_times:
                claims[label] = int(value)  # NaN and infinities raise here
            elif not isinstance(value, int) or isinstance(value, bool):
                raise ValueError("no issued-at or expiry")
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, OverflowError):
        raise _malformed(Step.CLAIMS, "claims are not a CWT") from None
    return claims


def claim_times(claims: dict[Any, Any]) -> tuple[datetime, datetime]:
    """Issued-at and expiry of CWT claims (``cwt_claims`` made sure they are integers)."""
    try:
        return _moment(int(claims[CLAIM_IAT])), _moment(int(claims[CLAIM_EXP]))
    except (OverflowError, OSError, ValueError):
        raise _malformed(Step.CLAIMS, "issued-at or expiry out of range") from None


def check_times(issued_at: datetime, expires_at: datetime, at: datetime, skew: timedelta) -> None:
    """Refused unless the code may be used at ``at``: issued, and not expired."""
    if at < issued_at - skew:
        raise _invalid("CREDENTIAL_NOT_YET_VALID", Step.TIMES, issued=issued_at)
    if at > expires_at + skew or expires_at <= issued_at:
        raise _invalid("CREDENTIAL_EXPIRED", Step.TIMES, expired=expires_at)


def check_key_validity(key: TrustedKey, issued_at: datetime, at: datetime, skew: timedelta) -> None:
    """The key valid when the code was issued and now."""
    if not key.valid_from - skew <= issued_at <= key.valid_to or at > key.valid_to + skew:
        raise _invalid("CREDENTIAL_KEY_EXPIRED", Step.KEY_VALIDITY, kid=b64(key.kid), valid_to=key.valid_to)


def open_code(code: str, profile: Profile = JJJ1) -> Sign1:
    """Prefix, base45, zlib and COSE_Sign1 peeled; nothing checked against a key yet."""
    return sign1(inflate(unbase45(unprefix(code, profile))), profile)


# --- our codes -------------------------------------------------------------------------------------


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
        raise _malformed(Step.CLAIMS, "claims are incomplete") from None


@dataclass(frozen=True, slots=True)
class Checked:
    """A code whose every layer verified: the signer, the claims and the times."""

    message: Sign1
    key: TrustedKey
    claims: dict[Any, Any]
    issued_at: datetime
    expires_at: datetime
    credential_hash: str


class Verifier:
    """Checks codes with nothing but a trust list and a revocation list (or filter)."""

    def __init__(
        self,
        trust: TrustList,
        revocations: RevocationCheck,
        skew: timedelta | None = None,
        profile: Profile = JJJ1,
    ) -> None:
        self.trust = trust
        self.revocations = revocations
        self.profile = profile
        self.skew = profile.skew if skew is None else skew

    def check(self, code: str, at: datetime) -> Checked:
        """Every layer: the structure, the signature, the key's validity, the times, revocation."""
        message = open_code(code, self.profile)
        key = signer_of(message, self.trust)
        claims = cwt_claims(message.payload, self.profile)
        issued_at, expires_at = claim_times(claims)
        check_key_validity(key, issued_at, at, self.skew)
        check_times(issued_at, expires_at, at, self.skew)
        digest = hashlib.sha256(message.payload).hexdigest()
        if self.revocations.is_revoked(digest):
            raise _invalid("CREDENTIAL_REVOKED", Step.REVOCATION)
        return Checked(message, key, claims, issued_at, expires_at, digest)

    def verify(self, code: str, at: datetime) -> VerifiedCode:
        """The code's content if it may be trusted at ``at``; else ``CredentialInvalid``."""
        message = open_code(code, self.profile)
        key = signer_of(message, self.trust)
        claims = cwt_claims(message.payload)
        region = claims.get(CLAIM_ISS)
        if region != key.region:
            raise _invalid(
                "CREDENTIAL_ISSUER_MISMATCH", Step.ISSUER, region=str(region), key_region=key.region
            )
        carried, expires_at, subject = _carried(claims, key.region)
        check_key_validity(key, carried.issued_at, at, self.skew)
        check_times(carried.issued_at, expires_at, at, self.skew)
        digest = hashlib.sha256(message.payload).hexdigest()
        if self.revocations.is_revoked(digest):
            raise _invalid("CREDENTIAL_REVOKED", Step.REVOCATION)
        return VerifiedCode(carried, message.kid, expires_at, subject, digest)


def credential_hash(code: str, profile: Profile | None = None) -> str:
    """The revocation hash of a code (its signature is not checked here: revoking is the issuer's act)."""
    chosen = profile or (HC1 if (code or "").strip().startswith(HC1.prefix) else JJJ1)
    return hashlib.sha256(open_code(code, chosen).payload).hexdigest()
