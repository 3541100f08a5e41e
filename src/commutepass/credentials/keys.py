"""Signing keys: one ES256 key pair per issuing region, and the key that signs the trust list.

Keys live in ``DATA_DIR/credentials/keyring.json`` (mode 0600), private keys encrypted with a
password derived from the application secret (the same secret as the ID vault), created on
first use. A key has a validity period (``valid_from``–``valid_to``: codes it signed verify in
that period) and signs new codes until ``signs_until`` (set when the region's key is rotated).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from commutepass.domain.errors import InputError

REGIONS = {
    "BJ": ("北京市", "Beijing"),
    "TJ": ("天津市", "Tianjin"),
    "HE": ("河北省", "Hebei"),
}
"""The issuing regions of Beijing–Tianjin–Hebei (京津冀) mutual recognition."""

FIRST_VALID_FROM = datetime(2020, 1, 1, tzinfo=UTC)
"""Keys made on first use are valid from here: the policies (and the times they are asked about,
in replays and tests) start in 2020; a key made by rotation is valid from the rotation time."""
KEY_VALIDITY = timedelta(days=5 * 365)
"""How long a new key's validity runs from the time it is made."""
TRUST_ROLE = "trust"
ISSUER_ROLE = "issuer"


def kid_of(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The first 8 bytes of SHA-256 of the SubjectPublicKeyInfo (DER), as the EU DCC does."""
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:8]


def public_pem(public_key: ec.EllipticCurvePublicKey) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def parse_region(value: str) -> str:
    region = (value or "").strip().upper()
    if region not in REGIONS:
        raise InputError(
            "region",
            f"'{value}' is not one of {', '.join(REGIONS)}",
            f"“{value}”不是 {'、'.join(REGIONS)} 之一",
        )
    return region


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """A key as the keyring keeps it: public part, validity, and the encrypted private key."""

    kid: str
    """base64 of the 8-byte kid."""
    role: str
    region: str
    public_key_pem: str
    valid_from: datetime
    valid_to: datetime
    signs_until: datetime | None
    private_key_enc: str

    def as_json(self) -> dict[str, str | None]:
        data = asdict(self)
        for name in ("valid_from", "valid_to", "signs_until"):
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, str | None]) -> KeyRecord:
        def moment(name: str) -> datetime | None:
            value = data.get(name)
            return datetime.fromisoformat(value) if value else None

        valid_from, valid_to = moment("valid_from"), moment("valid_to")
        assert valid_from is not None and valid_to is not None, "keyring entry without validity"
        return cls(
            kid=str(data["kid"]),
            role=str(data["role"]),
            region=str(data["region"]),
            public_key_pem=str(data["public_key_pem"]),
            valid_from=valid_from,
            valid_to=valid_to,
            signs_until=moment("signs_until"),
            private_key_enc=str(data["private_key_enc"]),
        )

    def signs_at(self, at: datetime) -> bool:
        return self.valid_from <= at < self.valid_to and (self.signs_until is None or at < self.signs_until)


@dataclass(frozen=True, slots=True)
class SigningKey:
    record: KeyRecord
    private_key: ec.EllipticCurvePrivateKey

    @property
    def kid(self) -> bytes:
        return base64.b64decode(self.record.kid)


class KeyRing:
    """The keys of this installation, in one file, changed under a file lock."""

    def __init__(self, directory: Path, password: bytes) -> None:
        self.directory = directory
        self.path = directory / "keyring.json"
        self._password = password

    @contextmanager
    def _locked(self) -> Iterator[list[KeyRecord]]:
        """The records, locked against other processes; changes to the list are written back."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "keyring.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self._read()
            before = list(records)
            yield records
            if records != before:
                self._write(records)

    def _read(self) -> list[KeyRecord]:
        if not self.path.exists():
            return []
        return [KeyRecord.from_json(item) for item in json.loads(self.path.read_text(encoding="utf-8"))]

    def _write(self, records: list[KeyRecord]) -> None:
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump([r.as_json() for r in records], handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def records(self) -> list[KeyRecord]:
        """Every key, made on first use: one per region and the trust-list signer."""
        with self._locked() as records:
            for region in REGIONS:
                if not any(r.role == ISSUER_ROLE and r.region == region for r in records):
                    records.append(self._new(ISSUER_ROLE, region, FIRST_VALID_FROM))
            if not any(r.role == TRUST_ROLE for r in records):
                records.append(self._new(TRUST_ROLE, "", FIRST_VALID_FROM))
            return list(records)

    def issuer(self, region: str, at: datetime) -> SigningKey:
        """The key that signs the region's codes at ``at`` (the newest one that may)."""
        candidates = [
            r for r in self.records() if r.role == ISSUER_ROLE and r.region == region and r.signs_at(at)
        ]
        if not candidates:
            raise InputError(
                "at",
                f"no key of {region} signs at {at.isoformat()} (see `commutepass trust export`)",
                f"{at.isoformat()} 时 {region} 没有可用于签发的密钥",
            )
        return self._open(max(candidates, key=lambda r: r.valid_from))

    def trust_signer(self, at: datetime | None = None) -> SigningKey:
        """The trust-list key (the anchor) that signs at ``at`` (default now): during an anchor
        rotation the old one, until the new one takes over."""
        moment = at or datetime.now(UTC)
        trust = [r for r in self.records() if r.role == TRUST_ROLE]
        signing = [r for r in trust if r.signs_at(moment)] or [min(trust, key=lambda r: r.valid_from)]
        return self._open(max(signing, key=lambda r: r.valid_from))

    def next_anchor(self, at: datetime | None = None) -> KeyRecord | None:
        """The trust-list key that takes over after ``at``, while the rotation's overlap lasts."""
        moment = at or datetime.now(UTC)
        pending = [r for r in self.records() if r.role == TRUST_ROLE and r.valid_from > moment]
        return min(pending, key=lambda r: r.valid_from) if pending else None

    def rotate_anchor(self, at: datetime, overlap: timedelta) -> KeyRecord:
        """A new trust-list key that signs from ``at + overlap``. Until then the old key signs
        and every list it signs introduces the new one, so verifiers that pinned the old key
        learn the new one; from then the new key signs alone."""
        self.records()
        takes_over = at + overlap
        with self._locked() as records:
            if any(r.role == TRUST_ROLE and r.valid_from > at for r in records):
                raise InputError(
                    "at", "an anchor rotation is already under way", "信任列表密钥轮换正在进行中"
                )
            for index, record in enumerate(records):
                if record.role == TRUST_ROLE and record.signs_at(at):
                    records[index] = replace(record, signs_until=takes_over)
            new = self._new(TRUST_ROLE, "", takes_over)
            records.append(new)
            return new

    def rotate(self, region: str, at: datetime, old_valid_for: timedelta) -> KeyRecord:
        """A new key for the region from ``at``; the keys before it stop signing at ``at`` and stay
        valid (codes they signed verify) for ``old_valid_for`` more, or to their end if sooner."""
        self.records()
        with self._locked() as records:
            for index, record in enumerate(records):
                if record.role == ISSUER_ROLE and record.region == region and record.signs_at(at):
                    records[index] = replace(
                        record, signs_until=at, valid_to=min(record.valid_to, at + old_valid_for)
                    )
            new = self._new(ISSUER_ROLE, region, at)
            records.append(new)
            return new

    def _new(self, role: str, region: str, valid_from: datetime) -> KeyRecord:
        private = ec.generate_private_key(ec.SECP256R1())
        encrypted = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._password),
        ).decode("ascii")
        now = datetime.now(UTC)
        return KeyRecord(
            kid=b64(kid_of(private.public_key())),
            role=role,
            region=region,
            public_key_pem=public_pem(private.public_key()),
            valid_from=valid_from,
            valid_to=max(now, valid_from) + KEY_VALIDITY,
            signs_until=None,
            private_key_enc=encrypted,
        )

    def _open(self, record: KeyRecord) -> SigningKey:
        private = serialization.load_pem_private_key(record.private_key_enc.encode("ascii"), self._password)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        return SigningKey(record, private)
