"""The trust-list key rotates with an overlap, lists expire, and revocations scale as a filter."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from commutepass.credentials.keys import KeyRing, public_pem
from commutepass.credentials.revocation import (
    FilterUpdate,
    RevocationFilter,
    false_positive_rate,
    update_since,
)
from commutepass.credentials.trust import (
    Anchors,
    ListExpired,
    RevocationList,
    TrustList,
    freshness,
    load_anchor,
)
from commutepass.domain.errors import InputError

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _anchor(ring: KeyRing, at: datetime) -> ec.EllipticCurvePublicKey:
    return load_anchor(ring.trust_signer(at).record.public_key_pem)


def _published(ring: KeyRing, at: datetime) -> dict[str, object]:
    return TrustList.document(ring.records(), at, ring.trust_signer(at), next_anchor=ring.next_anchor(at))


def test_a_verifier_that_pinned_the_old_anchor_learns_the_new_one_in_the_overlap(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path, b"pw")
    old = _anchor(ring, T0)
    pinned = Anchors([old])
    ring.rotate_anchor(T0, timedelta(hours=72))
    during = T0 + timedelta(hours=1)
    document = _published(ring, during)
    assert ring.trust_signer(during).record.public_key_pem == public_pem(old), "the old key still signs"
    assert document["next_anchor"]  # and the list it signs introduces the new one
    signer = pinned.signer_of(document, "trust_list")
    learnt = pinned.learn(document, signer)
    assert len(learnt.keys) == 2
    TrustList.parse(document, learnt)
    # after the overlap the new key signs alone: accepted by the verifier that learnt it,
    # and the old key is let go
    after = T0 + timedelta(hours=73)
    new_document = _published(ring, after)
    assert "next_anchor" not in new_document
    assert ring.trust_signer(after).record.public_key_pem != public_pem(old)
    TrustList.parse(new_document, learnt)
    kept = learnt.learn(new_document, learnt.signer_of(new_document, "trust_list"))
    assert kept.pems() == [ring.trust_signer(after).record.public_key_pem]


def test_a_list_signed_by_a_key_never_introduced_is_refused(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path, b"pw")
    pinned = Anchors([_anchor(ring, T0)])
    ring.rotate_anchor(T0, timedelta(hours=72))
    # this verifier was offline through the whole overlap: it never saw the introduction
    after = _published(ring, T0 + timedelta(hours=73))
    with pytest.raises(InputError, match="never introduced"):
        TrustList.parse(after, pinned)
    # nor can a stranger introduce a key: its list does not verify in the first place
    stranger = KeyRing(tmp_path / "stranger", b"x")
    forged = TrustList.document(
        ring.records(), T0, stranger.trust_signer(T0), next_anchor=stranger.trust_signer(T0).record
    )
    with pytest.raises(InputError, match="signature"):
        pinned.signer_of(forged, "trust_list")


def test_a_second_rotation_during_the_overlap_is_refused(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path, b"pw")
    ring.rotate_anchor(T0, timedelta(hours=72))
    with pytest.raises(InputError, match="under way"):
        ring.rotate_anchor(T0 + timedelta(hours=1), timedelta(hours=72))


def test_lists_carry_an_expiry_warned_ahead_and_refused_after_the_stale_tolerance(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path, b"pw")
    anchor = _anchor(ring, T0)
    trust = TrustList.parse(TrustList.document(ring.records(), T0, ring.trust_signer(T0)), anchor)
    revocations = RevocationList.parse(RevocationList.document([], T0, ring.trust_signer(T0)), anchor)
    assert trust.expires_at == revocations.expires_at == T0 + timedelta(days=7)
    expires = T0 + timedelta(days=7)
    warn, stale = timedelta(hours=24), timedelta(hours=12)
    assert freshness("trust", expires, expires - timedelta(hours=25), warn, stale) is None
    warned = freshness("trust", expires, expires - timedelta(hours=1), warn, stale)
    assert warned is not None and warned.code == "TRUST_LIST_EXPIRING"
    late = freshness("trust", expires, expires + timedelta(hours=11), warn, stale)
    assert late is not None and late.code == "TRUST_LIST_STALE"
    with pytest.raises(ListExpired) as refused:
        freshness("trust", expires, expires + timedelta(hours=13), warn, stale)
    assert refused.value.reason.code == "TRUST_LIST_EXPIRED"
    # a list without an expiry is not accepted
    body = TrustList.document(ring.records(), T0, ring.trust_signer(T0))
    from commutepass.credentials.trust import sign_document

    unexpiring = sign_document(
        {k: v for k, v in body.items() if k not in ("expires_at", "signature")}, ring.trust_signer(T0)
    )
    with pytest.raises(InputError, match="expires_at"):
        TrustList.parse(unexpiring, anchor)


def _hash(n: int) -> str:
    return hashlib.sha256(n.to_bytes(8, "big")).hexdigest()


def test_the_revocation_filter_finds_every_revoked_code_and_no_other(tmp_path: Path) -> None:
    revoked = [_hash(n) for n in range(5000)]
    table = RevocationFilter.of(revoked, version=5000)
    assert all(table.is_revoked(h) for h in revoked)
    assert not any(table.is_revoked(_hash(n)) for n in range(5000, 25000))
    assert len(table.prefixes.tobytes()) == 8 * 5000  # 8 bytes an entry
    assert false_positive_rate(1_000_000) < 1e-9


def test_an_update_since_a_version_carries_only_what_changed_and_is_signed(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path, b"pw")
    anchor = _anchor(ring, T0)
    rows = [(n + 1, _hash(n)) for n in range(1000)]
    full = FilterUpdate.decode(update_since(rows, 0, 1000, T0).encode(ring.trust_signer(T0)), anchor)
    held = RevocationFilter.of([], 0).apply(full)
    assert (held.version, len(held)) == (1000, 1000)
    later = [*rows, *((n + 1, _hash(n)) for n in range(1000, 1010))]
    delta = update_since(later, held.version, 1010, T0 + timedelta(days=1))
    signed = delta.encode(ring.trust_signer(T0))
    assert len(delta.added) == 10 and len(signed) < 300  # a day's update is the day's revocations
    moved = held.apply(FilterUpdate.decode(signed, anchor))
    assert (moved.version, len(moved)) == (1010, 1010) and moved.is_revoked(_hash(1005))
    with pytest.raises(InputError, match="since version"):
        RevocationFilter.of([], 3).apply(FilterUpdate.decode(signed, anchor))
    stranger = KeyRing(tmp_path / "s", b"x")
    with pytest.raises(InputError, match="signature"):
        FilterUpdate.decode(delta.encode(stranger.trust_signer(T0)), anchor)
    tampered = bytearray(signed)
    tampered[-70] ^= 1
    with pytest.raises(InputError):
        FilterUpdate.decode(bytes(tampered), anchor)
