"""The signed trust list (issuer public keys with validity periods) and the revocation list.

Both are JSON documents signed (ECDSA P-256, SHA-256, DER signature in base64) over their
canonical form (sorted keys, no spaces, without the ``signature`` field) by the trust-list key.
A verifier pins that key's public half (``commutepass trust anchor``) and needs nothing else.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from commutepass.credentials.keys import ISSUER_ROLE, REGIONS, KeyRecord, SigningKey, b64
from commutepass.domain.errors import InputError


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


def verify_document(document: Any, anchor: ec.EllipticCurvePublicKey, what: str) -> dict[str, Any]:
    """The document if its signature verifies with the anchor; else a clear error."""
    if not isinstance(document, dict) or not isinstance(document.get("signature"), str):
        raise _bad(what, "is not a signed JSON document (no signature)", "不是已签名的 JSON 文件（缺少签名）")
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        anchor.verify(signature, _canonical(document), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise _bad(
            what,
            "signature does not verify with the pinned trust-list key: it was changed or comes from elsewhere",
            "签名与固定的信任列表公钥不符：文件被改动或来源不明",
        ) from None
    return document


@dataclass(frozen=True, slots=True)
class TrustedKey:
    kid: bytes
    region: str
    public_key: ec.EllipticCurvePublicKey
    public_key_pem: str
    valid_from: datetime
    valid_to: datetime


@dataclass(frozen=True, slots=True)
class TrustList:
    """Issuer keys by kid; several keys may share a kid (the verifier tries each)."""

    keys: tuple[TrustedKey, ...]
    issued_at: datetime

    def candidates(self, kid: bytes) -> list[TrustedKey]:
        return [k for k in self.keys if k.kid == kid]

    @staticmethod
    def document(records: Iterable[KeyRecord], issued_at: datetime, signer: SigningKey) -> dict[str, Any]:
        """``trust export``: every issuer key, signed."""
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
        return sign_document({"keys": keys, "issued_at": issued_at.isoformat()}, signer)

    @classmethod
    def parse(cls, document: Any, anchor: ec.EllipticCurvePublicKey) -> TrustList:
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
        except (KeyError, TypeError, ValueError, binascii.Error, InputError) as exc:
            raise _bad(
                "trust_list", f"is signed but not well formed ({exc})", "签名有效但内容格式不正确"
            ) from None
        return cls(tuple(keys), issued_at)


@dataclass(frozen=True, slots=True)
class RevocationList:
    """Hashes (SHA-256 of the signed claims, hex) of revoked codes."""

    hashes: frozenset[str]
    issued_at: datetime

    @staticmethod
    def document(hashes: Iterable[str], issued_at: datetime, signer: SigningKey) -> dict[str, Any]:
        return sign_document({"hashes": sorted(hashes), "issued_at": issued_at.isoformat()}, signer)

    @classmethod
    def parse(cls, document: Any, anchor: ec.EllipticCurvePublicKey) -> RevocationList:
        verified = verify_document(document, anchor, "revocations")
        try:
            hashes = frozenset(str(h) for h in verified["hashes"])
            issued_at = datetime.fromisoformat(verified["issued_at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _bad(
                "revocations", f"is signed but not well formed ({exc})", "签名有效但内容格式不正确"
            ) from None
        return cls(hashes, issued_at)
