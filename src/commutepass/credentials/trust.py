"""The signed trust list (issuer public keys with validity periods) and the revocation list.

Both are JSON documents signed (ECDSA P-256, SHA-256, DER signature in base64) over their
canonical form (sorted keys, no spaces, without the ``signature`` field) by the trust-list key.
A verifier pins that key's public half (``commutepass trust anchor``) and needs nothing else.

Both carry an expiry (``expires_at``): a verifier warns ahead of it and refuses a list past it,
after the stale tolerance its policy allows offline (``freshness``). The trust-list key (the
anchor) rotates with an overlap: while it does, the list is signed by the old anchor and
introduces the new one (``next_anchor``); a verifier that pinned the old key learns the new one
from it (``Anchors.learn``), and once a list signed by the new key verifies, the old one is let
go. A list signed only by a key the verifier was never introduced to is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from commutepass.credentials.keys import ISSUER_ROLE, REGIONS, KeyRecord, SigningKey, b64, kid_of, public_pem
from commutepass.domain.decisions import Reason
from commutepass.domain.errors import InputError

LIST_VALIDITY = timedelta(days=7)
"""How long a published trust or revocation list is valid from its issue."""


def _canonical(document: dict[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k != "signature"}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def sign_document(document: dict[str, Any], signer: SigningKey) -> dict[str, Any]:
    signature = signer.private_key.sign(_canonical(document), ec.ECDSA(hashes.SHA256()))
    return {**document, "signature": b64(signature)}


def _bad(what: str, en: str, zh: str) -> InputError:
    return InputError(what, en, zh)


def load_anchor(pem: str | bytes) -> ec.EllipticCurvePublicKey:
    """The pinned trust-list public key (PEM)."""
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii") if isinstance(pem, str) else pem)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise _bad("anchor", "is not a PEM public key", "不是 PEM 格式的公钥") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise _bad("anchor", "is not an EC P-256 public key", "不是 EC P-256 公钥")
    return key


class Anchors:
    """The trust-list keys a verifier has pinned: the one given out of band, and any a list
    signed by a pinned key introduced (``next_anchor``) during a rotation."""

    def __init__(self, keys: Iterable[ec.EllipticCurvePublicKey]) -> None:
        self.keys = list(keys)
        if not self.keys:
            raise _bad("anchor", "no trust-list key is pinned", "没有固定的信任列表公钥")

    @classmethod
    def of(cls, anchor: ec.EllipticCurvePublicKey | Anchors) -> Anchors:
        return anchor if isinstance(anchor, Anchors) else cls([anchor])

    def pems(self) -> list[str]:
        return [public_pem(k) for k in self.keys]

    def signer_of(self, document: Any, what: str) -> ec.EllipticCurvePublicKey:
        """The pinned key the document's signature verifies with; else a clear error."""
        if not isinstance(document, dict) or not isinstance(document.get("signature"), str):
            raise _bad(
                what, "is not a signed JSON document (no signature)", "不是已签名的 JSON 文件（缺少签名）"
            )
        try:
            signature = base64.b64decode(document["signature"], validate=True)
        except (binascii.Error, ValueError):
            signature = b""
        body = _canonical(document)
        for key in self.keys:
            try:
                key.verify(signature, body, ec.ECDSA(hashes.SHA256()))
            except (InvalidSignature, ValueError):
                continue
            return key
        raise _bad(
            what,
            "signature does not verify with the pinned trust-list key: it was changed, comes from "
            "elsewhere, or is signed by a key this verifier was never introduced to",
            "签名与固定的信任列表公钥不符：文件被改动、来源不明，或由本核验端未经引荐的新密钥签名",
        )

    def learn(self, document: dict[str, Any], signer: ec.EllipticCurvePublicKey) -> Anchors:
        """The keys to pin after a verified list: a ``next_anchor`` it introduces is added; a list
        signed by a key other than the first pinned one retires the keys before it."""
        keys = [signer] if signer is not self.keys[0] else list(self.keys)
        introduced = document.get("next_anchor")
        if isinstance(introduced, dict) and isinstance(introduced.get("public_key_pem"), str):
            new = load_anchor(introduced["public_key_pem"])
            if all(kid_of(new) != kid_of(k) for k in keys):
                keys.append(new)
        return Anchors(keys)


def verify_document(document: Any, anchor: ec.EllipticCurvePublicKey | Anchors, what: str) -> dict[str, Any]:
    """The document if its signature verifies with a pinned anchor; else a clear error."""
    Anchors.of(anchor).signer_of(document, what)
    assert isinstance(document, dict)
    return document


def _expiry(verified: dict[str, Any], issued_at: datetime) -> datetime:
    value = verified.get("expires_at")
    if value is None:
        raise ValueError("no expires_at: a list must carry its expiry")
    expires_at = datetime.fromisoformat(value)
    if expires_at <= issued_at:
        raise ValueError("expires_at is not after issued_at")
    return expires_at


def freshness(
    what: str, expires_at: datetime, at: datetime, warn: timedelta, stale: timedelta
) -> Reason | None:
    """``None`` while a list is comfortably valid; a warning within ``warn`` of its expiry or
    within the ``stale`` tolerance after it; ``InputError`` (``TRUST_LIST_EXPIRED``) beyond."""
    if at > expires_at + stale:
        raise ListExpired(Reason.of("TRUST_LIST_EXPIRED", list=what, expired=expires_at, hours=_hours(stale)))
    if at > expires_at:
        return Reason.of("TRUST_LIST_STALE", list=what, expired=expires_at, hours=_hours(stale))
    if at > expires_at - warn:
        return Reason.of("TRUST_LIST_EXPIRING", list=what, expires=expires_at)
    return None


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g}"


class ListExpired(Exception):
    """A trust or revocation list past its expiry and the stale tolerance."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.code)
        self.reason = reason


PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass(frozen=True, slots=True)
class TrustedKey:
    kid: bytes
    region: str
    """The issuing region (BJ, TJ, HE); for an EU signing certificate, its country or empty."""
    public_key: PublicKey
    public_key_pem: str
    valid_from: datetime
    valid_to: datetime
    usage: frozenset[str] | None = None
    """HCERT: the certificate types (``t``, ``v``, ``r``) an EU signing certificate may sign, from
    its extended key usage; ``None``: any (and always for our own keys)."""


@dataclass(frozen=True, slots=True)
class TrustList:
    """Issuer keys by kid; several keys may share a kid (the verifier tries each)."""

    keys: tuple[TrustedKey, ...]
    issued_at: datetime
    expires_at: datetime | None = None
    hcert_keys: tuple[TrustedKey, ...] = ()
    """EU DCC signing certificates this list vouches for (``HC1:`` codes)."""

    def candidates(self, kid: bytes) -> list[TrustedKey]:
        return [k for k in self.keys if k.kid == kid]

    @staticmethod
    def document(
        records: Iterable[KeyRecord],
        issued_at: datetime,
        signer: SigningKey,
        *,
        validity: timedelta = LIST_VALIDITY,
        next_anchor: KeyRecord | None = None,
        hcert_certificates: Iterable[str] = (),
    ) -> dict[str, Any]:
        """``trust export``: every issuer key, signed; during an anchor rotation, the new anchor
        introduced; the EU signing certificates (base64 DER) accepted for ``HC1:`` codes."""
        keys = [
            {
                "kid": r.kid,
                "region": r.region,
                "public_key_pem": r.public_key_pem,
                "valid_from": r.valid_from.isoformat(),
                "valid_to": r.valid_to.isoformat(),
            }
            for r in records
            if r.role == ISSUER_ROLE
        ]
        body: dict[str, Any] = {
            "keys": keys,
            "issued_at": issued_at.isoformat(),
            "expires_at": (issued_at + validity).isoformat(),
        }
        certificates = sorted(hcert_certificates)
        if certificates:
            body["hcert_certificates"] = certificates
        if next_anchor is not None:
            body["next_anchor"] = {
                "kid": next_anchor.kid,
                "public_key_pem": next_anchor.public_key_pem,
                "signs_from": next_anchor.valid_from.isoformat(),
            }
        return sign_document(body, signer)

    @classmethod
    def parse(cls, document: Any, anchor: ec.EllipticCurvePublicKey | Anchors) -> TrustList:
        verified = verify_document(document, anchor, "trust_list")
        keys: list[TrustedKey] = []
        try:
            for number, item in enumerate(verified["keys"], start=1):
                public = load_anchor(item["public_key_pem"])
                region = item["region"]
                if region not in REGIONS:
                    raise ValueError(f"key {number}: unknown region {region!r}")
                keys.append(
                    TrustedKey(
                        kid=base64.b64decode(item["kid"], validate=True),
                        region=region,
                        public_key=public,
                        public_key_pem=item["public_key_pem"],
                        valid_from=datetime.fromisoformat(item["valid_from"]),
                        valid_to=datetime.fromisoformat(item["valid_to"]),
                    )
                )
            issued_at = datetime.fromisoformat(verified["issued_at"])
            expires_at = _expiry(verified, issued_at)
            hcert = tuple(hcert_key(c) for c in verified.get("hcert_certificates", []))
        except (KeyError, TypeError, ValueError, binascii.Error, InputError) as exc:
            raise _bad(
                "trust_list", f"is signed but not well formed ({exc})", "签名有效但内容格式不正确"
            ) from None
        return cls(tuple(keys), issued_at, expires_at, hcert)


@dataclass(frozen=True, slots=True)
class RevocationList:
    """Hashes (SHA-256 of the signed claims, hex) of revoked codes."""

    hashes: frozenset[str]
    issued_at: datetime
    expires_at: datetime | None = None

    def is_revoked(self, credential_hash: str) -> bool:
        return credential_hash in self.hashes

    @staticmethod
    def document(
        hashes: Iterable[str], issued_at: datetime, signer: SigningKey, *, validity: timedelta = LIST_VALIDITY
    ) -> dict[str, Any]:
        body = {
            "hashes": sorted(hashes),
            "issued_at": issued_at.isoformat(),
            "expires_at": (issued_at + validity).isoformat(),
        }
        return sign_document(body, signer)

    @classmethod
    def parse(cls, document: Any, anchor: ec.EllipticCurvePublicKey | Anchors) -> RevocationList:
        verified = verify_document(document, anchor, "revocations")
        try:
            hashes = frozenset(str(h) for h in verified["hashes"])
            issued_at = datetime.fromisoformat(verified["issued_at"])
            expires_at = _expiry(verified, issued_at)
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(
                "revocations", f"is signed but not well formed ({exc})", "签名有效但内容格式不正确"
            ) from None
        return cls(hashes, issued_at, expires_at)


# --- EU DCC signing certificates (HC1) ------------------------------------------------------------

HCERT_USAGE_OIDS = {
    "1.3.6.1.4.1.1847.2021.1.1": "t",
    "1.3.6.1.4.1.1847.2021.1.2": "v",
    "1.3.6.1.4.1.1847.2021.1.3": "r",
    "1.3.6.1.4.1.0.1847.2021.1.1": "t",
    "1.3.6.1.4.1.0.1847.2021.1.2": "v",
    "1.3.6.1.4.1.0.1847.2021.1.3": "r",
}
"""Extended key usages that restrict an EU signing certificate to test, vaccination or recovery
certificates (HCERT specification, 1.3.6.1.4.1.1847.2021.1.x and the alternative 0.1847 arc)."""


def hcert_key(certificate: str | bytes) -> TrustedKey:
    """A trusted key from an EU DCC signing certificate (X.509, DER or base64 of DER, or PEM):
    its kid is the first 8 bytes of SHA-256 of the certificate's DER."""
    raw = certificate.encode("ascii") if isinstance(certificate, str) else certificate
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            cert = x509.load_pem_x509_certificate(raw)
        else:
            der = raw if raw[:1] == b"\x30" else base64.b64decode(raw, validate=True)
            cert = x509.load_der_x509_certificate(der)
    except (ValueError, binascii.Error, TypeError):
        raise _bad("certificate", "is not an X.509 certificate", "不是 X.509 证书") from None
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise _bad("certificate", "the key is neither EC nor RSA", "证书公钥既不是 EC 也不是 RSA")
    der = cert.public_bytes(serialization.Encoding.DER)
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        oids = [o.dotted_string for o in eku]
    except x509.ExtensionNotFound:
        oids = []
    except ValueError:  # another extension not in strict DER (seen in the EU vectors): read EKU alone
        oids = _eku_oids(cert.tbs_certificate_bytes)
    kinds = {HCERT_USAGE_OIDS[o] for o in oids if o in HCERT_USAGE_OIDS}
    usage = frozenset(kinds) or None
    countries = cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return TrustedKey(
        kid=hashlib.sha256(der).digest()[:8],
        region=str(countries[0].value) if countries else "",
        public_key=public,
        public_key_pem=public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii"),
        valid_from=cert.not_valid_before_utc,
        valid_to=cert.not_valid_after_utc,
        usage=usage,
    )


_EKU_OID = bytes.fromhex("0603551d25")  # OID 2.5.29.37, extended key usage


def _der_item(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER item at ``at``."""
    tag, length = data[at], data[at + 1]
    start = at + 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    return tag, start, start + length


def _oid_text(body: bytes) -> str:
    parts = [body[0] // 40, body[0] % 40] if body[0] < 80 else [2, body[0] - 80]
    value = 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _eku_oids(tbs: bytes) -> list[str]:
    """The extended key usage OIDs of a certificate, read from its DER by hand."""
    at = tbs.find(_EKU_OID)
    if at < 0:
        return []
    try:
        at += len(_EKU_OID)
        tag, start, end = _der_item(tbs, at)
        if tag == 0x01:  # critical
            tag, start, end = _der_item(tbs, end)
        if tag != 0x04:
            return []
        tag, start, end = _der_item(tbs, start)
        oids: list[str] = []
        while tag == 0x30 and start < end:
            item, body_start, body_end = _der_item(tbs, start)
            if item == 0x06:
                oids.append(_oid_text(tbs[body_start:body_end]))
            start = body_end
        return oids
    except IndexError:
        return []
