"""Revocation at scale: a sorted set of 64-bit hash prefixes, signed, with delta updates.

A revoked code is named by the SHA-256 of its signed claims (``credential_hash``). The filter keeps
the first 8 bytes of each hash, sorted (8 bytes an entry: 1 M revoked codes in 8 MB, where the EU
planned about 7 bytes an entry with Bloom filters). A lookup is a binary search over a packed
array (no per-entry Python object). A code that is not revoked is taken for a revoked one only if
its 64-bit prefix equals one of the ``n`` on the list: the false-positive rate of one lookup is at
most ``n / 2**64`` (5.4e-14 for 1 M entries, far under the 1e-9 asked); a revoked code is never
missed.

Every revocation has a serial (``revocations.serial``): the filter's *version* is the highest
serial in it, and an update *since* a version carries only the prefixes added after it, so a
checkpoint's daily update is the day's revocations, not the list.

Wire form: CBOR ``{"v", "version", "since", "count", "issued_at", "added"}`` (``added``: the new
prefixes, 8 bytes each, big-endian, sorted; ``count``: entries after applying) in a COSE_Sign1
(ES256) signed by the trust-list key, as the offline snapshot is.
"""

from __future__ import annotations

import bisect
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSE, COSEKey

from commutepass.credentials.keys import SigningKey, kid_of
from commutepass.domain.errors import InputError

FILTER_VERSION = 1
PREFIX_BYTES = 8
MAX_FILTER_BYTES = 64 * 1024 * 1024
"""Cap on a filter document read from the wire (8 M entries)."""
_COSE = COSE.new()


class RevocationCheck(Protocol):
    """What a verifier asks of a revocation list."""

    def is_revoked(self, credential_hash: str) -> bool: ...


def prefix_of(credential_hash: str) -> int:
    """The 64-bit prefix of a hash given as 64 hex characters."""
    return int(credential_hash[: PREFIX_BYTES * 2], 16)


def false_positive_rate(entries: int) -> float:
    """Chance that one lookup of a code not on the list matches one of ``entries`` prefixes."""
    return entries / 2.0 ** (PREFIX_BYTES * 8)


def _bad(en: str, zh: str) -> InputError:
    return InputError("revocations", en, zh)


@dataclass(frozen=True, slots=True)
class RevocationFilter:
    """The revoked codes as a sorted array of 64-bit prefixes, at a version."""

    prefixes: array[int]
    version: int
    issued_at: datetime

    @classmethod
    def of(
        cls, hashes: Iterable[str], version: int = 0, issued_at: datetime | None = None
    ) -> RevocationFilter:
        values = array("Q", sorted({prefix_of(h) for h in hashes}))
        return cls(values, version, issued_at or datetime.now(UTC))

    def __len__(self) -> int:
        return len(self.prefixes)

    def is_revoked(self, credential_hash: str) -> bool:
        value = prefix_of(credential_hash)
        index = bisect.bisect_left(self.prefixes, value)
        return index < len(self.prefixes) and self.prefixes[index] == value

    @property
    def false_positive_rate(self) -> float:
        return false_positive_rate(len(self.prefixes))

    def apply(self, update: FilterUpdate) -> RevocationFilter:
        """This filter moved on by an update made since its version (or a full list)."""
        if update.since == 0:
            return RevocationFilter(update.added, update.version, update.issued_at)
        if update.since != self.version:
            raise _bad(
                f"the update is since version {update.since}, this list is at version {self.version}: "
                "fetch the update since this version (or the full list)",
                f"更新基于版本 {update.since}，本地撤销列表为版本 {self.version}：请获取对应的增量或完整列表",
            )
        merged = _merged(self.prefixes, update.added)
        if len(merged) != update.count:
            raise _bad(
                f"after the update the list holds {len(merged)} entries, the update says {update.count}: "
                "fetch the full list",
                f"应用更新后共 {len(merged)} 条，与更新所载 {update.count} 条不符：请获取完整列表",
            )
        return RevocationFilter(merged, update.version, update.issued_at)


@dataclass(frozen=True, slots=True)
class FilterUpdate:
    """Prefixes revoked after version ``since`` (0: the whole list), up to ``version``."""

    since: int
    version: int
    count: int
    issued_at: datetime
    added: array[int]

    def encode(self, signer: SigningKey) -> bytes:
        body = {
            "v": FILTER_VERSION,
            "since": self.since,
            "version": self.version,
            "count": self.count,
            "issued_at": int(self.issued_at.timestamp()),
            "added": _packed(self.added),
        }
        pem = signer.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key = COSEKey.from_pem(pem, alg="ES256", kid=signer.kid)
        signed = _COSE.encode_and_sign(cbor2.dumps(body), key, protected={1: -7, 4: signer.kid})
        assert isinstance(signed, bytes)
        return signed

    @classmethod
    def decode(cls, signed: bytes, anchor: ec.EllipticCurvePublicKey) -> FilterUpdate:
        """The update if the pinned trust-list key signed it; else a clear error."""
        if len(signed) > MAX_FILTER_BYTES:
            raise _bad("the revocation filter is larger than 64 MB", "撤销列表超过 64 MB 上限")
        pem = anchor.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        try:
            payload = _COSE.decode(signed, COSEKey.from_pem(pem, alg="ES256", kid=kid_of(anchor)))
        except Exception:
            raise _bad(
                "the revocation filter's signature does not verify with the pinned trust-list key",
                "撤销列表签名与固定的信任列表公钥不符",
            ) from None
        try:
            body = cbor2.loads(payload)
            if body["v"] != FILTER_VERSION:
                raise ValueError(f"format version {body['v']}")
            added = _unpacked(bytes(body["added"]))
            return cls(
                since=int(body["since"]),
                version=int(body["version"]),
                count=int(body["count"]),
                issued_at=datetime.fromtimestamp(int(body["issued_at"]), UTC),
                added=added,
            )
        except (cbor2.CBORDecodeError, KeyError, TypeError, ValueError, OverflowError) as exc:
            raise _bad(
                f"the revocation filter is signed but not well formed ({exc})", "撤销列表签名有效但格式不正确"
            ) from None


def _merged(held: array[int], added: array[int]) -> array[int]:
    """Two sorted arrays merged without duplicates, copying runs of the larger one (a day's
    update into a million entries moves slices, not a million Python integers)."""
    merged = array("Q")
    start = 0
    for value in added:
        index = bisect.bisect_left(held, value, start)
        merged.extend(held[start:index])
        if index == len(held) or held[index] != value:
            merged.append(value)
        start = index
    merged.extend(held[start:])
    return merged


def _packed(values: array[int]) -> bytes:
    big_endian = array("Q", values)
    if big_endian.itemsize != PREFIX_BYTES:  # pragma: no cover - every CPython has 8-byte Q
        raise RuntimeError("array('Q') is not 8 bytes here")
    if sys.byteorder == "little":
        big_endian.byteswap()
    return big_endian.tobytes()


def _unpacked(data: bytes) -> array[int]:
    if len(data) % PREFIX_BYTES:
        raise ValueError("the prefixes are not a whole number of 8-byte entries")
    values = array("Q")
    values.frombytes(data)
    if sys.byteorder == "little":
        values.byteswap()
    if any(values[i] >= values[i + 1] for i in range(len(values) - 1)):
        raise ValueError("the prefixes are not sorted and distinct")
    return values


def update_since(
    revoked: Iterable[tuple[int, str]], since: int, total: int, issued_at: datetime
) -> FilterUpdate:
    """The update of ``(serial, hash)`` rows with serial above ``since``; ``total``: all entries."""
    rows = list(revoked)
    version = max((serial for serial, _h in rows), default=since)
    added = array("Q", sorted({prefix_of(h) for serial, h in rows if serial > since}))
    return FilterUpdate(since, version, total, issued_at, added)


def filter_from_rows(revoked: Iterable[tuple[int, str]], issued_at: datetime) -> RevocationFilter:
    rows = list(revoked)
    return RevocationFilter.of((h for _s, h in rows), max((s for s, _h in rows), default=0), issued_at)


def describe(update: FilterUpdate) -> dict[str, Any]:
    return {
        "since": update.since,
        "version": update.version,
        "count": update.count,
        "added": len(update.added),
        "bytes_per_entry": PREFIX_BYTES,
        "false_positive_rate": false_positive_rate(update.count),
    }
