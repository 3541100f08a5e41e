"""Signed codes: format, verification with nothing but the trust list, every refusal with its reason."""

from __future__ import annotations

import base64
import hashlib
import re
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from commutepass.credentials.codes import (
    MAX_DECOMPRESSED,
    PREFIX,
    CredentialInvalid,
    Verifier,
    credential_hash,
    encode_code,
)
from commutepass.credentials.keys import KeyRing, kid_of
from commutepass.credentials.trust import RevocationList, TrustList, load_anchor
from commutepass.domain.carried import CarriedStatus
from commutepass.domain.errors import InputError
from commutepass.domain.policy import Color
from commutepass.domain.reasons import CATALOG

ROOT = Path(__file__).resolve().parents[2]
ISSUED = datetime(2021, 11, 28, 23, 0, tzinfo=UTC)
CARRIED = CarriedStatus(
    region="TJ",
    issued_at=ISSUED,
    policy_version="2021-11-17",
    color=Color.GREEN,
    popup=None,
    commuter_badge=False,
    commuter_class=None,
    nat_valid_until=ISSUED + timedelta(hours=20),
    masked_id="120***********0013",
    birth_year=1990,
)
BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing(tmp_path_factory.mktemp("keys"), b"test password")


def _verifier(ring: KeyRing, revoked: frozenset[str] = frozenset()) -> Verifier:
    """A verifier built from the published documents alone, as another region would."""
    anchor = load_anchor(ring.trust_signer().record.public_key_pem)
    signer = ring.trust_signer()
    trust = TrustList.parse(TrustList.document(ring.records(), ISSUED, signer), anchor)
    revocations = RevocationList.parse(RevocationList.document(revoked, ISSUED, signer), anchor)
    return Verifier(trust, revocations)


def _issue(ring: KeyRing, carried: CarriedStatus = CARRIED, hours: int = 6) -> str:
    return encode_code(
        carried, b"subject1", carried.issued_at + timedelta(hours=hours), ring.issuer("TJ", carried.issued_at)
    )


def _refusal(verifier: Verifier, code: str, at: datetime) -> str:
    with pytest.raises(CredentialInvalid) as caught:
        verifier.verify(code, at)
    return caught.value.reason.code


def test_the_layers_are_the_eu_dcc_ones(ring: KeyRing) -> None:
    code = _issue(ring)
    assert code.startswith(PREFIX)
    message = zlib.decompress(base45.b45decode(code[len(PREFIX) :]))
    sign1 = cbor2.loads(message)
    assert sign1.tag == 18  # COSE_Sign1
    protected = cbor2.loads(sign1.value[0])
    signer = ring.issuer("TJ", ISSUED)
    assert protected[1] == -7  # ES256
    assert protected[4] == kid_of(signer.private_key.public_key())
    spki = signer.private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert protected[4] == hashlib.sha256(spki).digest()[:8]
    claims = cbor2.loads(sign1.value[2])
    assert claims[1] == "TJ" and claims[6] == int(ISSUED.timestamp())
    assert claims[4] - claims[6] == 6 * 3600
    assert claims[-270]["m"] == "120***********0013" and claims[-270]["y"] == 1990


def test_a_tianjin_code_verifies_with_nothing_but_the_trust_list(ring: KeyRing) -> None:
    code = _issue(ring)
    verified = _verifier(ring).verify(code, ISSUED + timedelta(hours=1))
    assert verified.carried == CARRIED
    assert verified.credential_hash == credential_hash(code)
    assert verified.credential_hash != credential_hash(_issue(ring)), "each code has its own id (cti)"


def test_a_change_of_any_one_character_is_refused(ring: KeyRing) -> None:
    code = _issue(ring)
    verifier = _verifier(ring)
    at = ISSUED + timedelta(hours=1)
    refused: set[str] = set()
    for position in range(len(PREFIX), len(code)):
        other = BASE45[(BASE45.index(code[position]) + 1) % len(BASE45)]
        refused.add(_refusal(verifier, code[:position] + other + code[position + 1 :], at))
    # zlib's checksum already catches a changed character; a change that survives it meets the signature
    assert refused <= {"CREDENTIAL_MALFORMED", "CREDENTIAL_SIGNATURE", "CREDENTIAL_UNKNOWN_KEY"}


def test_a_change_of_any_one_byte_of_the_signed_message_is_refused(ring: KeyRing) -> None:
    """Re-compressed after the change, so only the signature (or the structure) can catch it."""
    message = zlib.decompress(base45.b45decode(_issue(ring)[len(PREFIX) :]))
    verifier = _verifier(ring)
    refused: set[str] = set()
    for position in range(len(message)):
        changed = bytearray(message)
        changed[position] ^= 0x01
        code = PREFIX + base45.b45encode(zlib.compress(bytes(changed))).decode()
        refused.add(_refusal(verifier, code, ISSUED + timedelta(hours=1)))
    assert "CREDENTIAL_SIGNATURE" in refused


def test_expired_not_yet_valid_and_clock_skew(ring: KeyRing) -> None:
    code, verifier = _issue(ring), _verifier(ring)
    assert _refusal(verifier, code, ISSUED + timedelta(hours=6, minutes=6)) == "CREDENTIAL_EXPIRED"
    verifier.verify(code, ISSUED + timedelta(hours=6, minutes=4))  # within the 5-minute skew
    verifier.verify(code, ISSUED - timedelta(minutes=4))
    assert _refusal(verifier, code, ISSUED - timedelta(minutes=6)) == "CREDENTIAL_NOT_YET_VALID"


def test_revoked_code_is_refused(ring: KeyRing) -> None:
    code = _issue(ring)
    assert _refusal(_verifier(ring, frozenset({credential_hash(code)})), code, ISSUED) == "CREDENTIAL_REVOKED"
    _verifier(ring, frozenset({credential_hash(_issue(ring))})).verify(code, ISSUED)  # another code's hash


def test_unknown_key_is_refused(ring: KeyRing, tmp_path: Path) -> None:
    stranger = KeyRing(tmp_path, b"other")
    code = encode_code(CARRIED, b"s", ISSUED + timedelta(hours=6), stranger.issuer("TJ", ISSUED))
    assert _refusal(_verifier(ring), code, ISSUED) == "CREDENTIAL_UNKNOWN_KEY"


def test_several_keys_with_one_kid_are_each_tried(ring: KeyRing) -> None:
    verifier = _verifier(ring)
    real = next(k for k in verifier.trust.keys if k.region == "TJ")
    impostor_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = impostor_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    impostor = replace(real, public_key=impostor_key, public_key_pem=pem.decode())
    crowded = Verifier(TrustList((impostor, real), ISSUED), verifier.revocations)
    assert crowded.verify(_issue(ring), ISSUED).kid == real.kid
    alone = Verifier(TrustList((impostor,), ISSUED), verifier.revocations)
    assert _refusal(alone, _issue(ring), ISSUED) == "CREDENTIAL_SIGNATURE"


def test_a_key_of_another_region_cannot_sign_for_tianjin(ring: KeyRing) -> None:
    code = encode_code(CARRIED, b"s", ISSUED + timedelta(hours=6), ring.issuer("HE", ISSUED))
    assert _refusal(_verifier(ring), code, ISSUED) == "CREDENTIAL_ISSUER_MISMATCH"


def test_rotation_old_codes_verify_until_the_old_key_ends(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path, b"pw")
    old_code = _issue(ring)
    old_kid = ring.issuer("TJ", ISSUED).kid
    rotated_at = ISSUED + timedelta(hours=1)
    ring.rotate("TJ", rotated_at, timedelta(hours=24))
    new_signer = ring.issuer("TJ", rotated_at + timedelta(minutes=1))
    assert new_signer.kid != old_kid
    verifier = _verifier(ring)
    assert verifier.verify(old_code, rotated_at + timedelta(hours=2)).kid == old_kid
    long_lived = encode_code(CARRIED, b"s", ISSUED + timedelta(hours=30), ring.issuer("TJ", ISSUED))
    assert verifier.verify(long_lived, rotated_at + timedelta(hours=23)).kid == old_kid
    assert _refusal(verifier, long_lived, rotated_at + timedelta(hours=25)) == "CREDENTIAL_KEY_EXPIRED"
    fresh = replace(CARRIED, issued_at=rotated_at + timedelta(minutes=1))
    verifier.verify(_issue(ring, fresh), rotated_at + timedelta(hours=2))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "JJJ1:",
        "JJJ1:!!!!",
        "JJJ1:" + "A" * 5000,
        PREFIX + base45.b45encode(b"not zlib").decode(),
        PREFIX + base45.b45encode(zlib.compress(b"not cbor \xff")).decode(),
        PREFIX + base45.b45encode(zlib.compress(cbor2.dumps([1, 2, 3]))).decode(),
        PREFIX
        + base45.b45encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b""])))).decode(),
        PREFIX
        + base45.b45encode(
            zlib.compress(cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps({1: -7}), {}, b"x", b""])))
        ).decode(),
    ],
)
def test_malformed_input_gets_a_reason_never_a_crash(ring: KeyRing, text: str) -> None:
    assert _refusal(_verifier(ring), text, ISSUED) in {"CREDENTIAL_MALFORMED", "CREDENTIAL_TOO_LARGE"}


def test_decompressed_size_is_capped(ring: KeyRing) -> None:
    bomb = PREFIX + base45.b45encode(zlib.compress(b"\0" * (MAX_DECOMPRESSED * 100), 9)).decode()
    assert len(bomb) < 4000
    assert _refusal(_verifier(ring), bomb, ISSUED) == "CREDENTIAL_TOO_LARGE"


def test_a_changed_trust_list_or_another_anchor_is_refused(ring: KeyRing) -> None:
    signer = ring.trust_signer()
    anchor = load_anchor(signer.record.public_key_pem)
    document = TrustList.document(ring.records(), ISSUED, signer)
    stranger = ec.generate_private_key(ec.SECP256R1()).public_key()
    forged_pem = stranger.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = {
        **document,
        "keys": [{**document["keys"][0], "public_key_pem": forged_pem.decode()}, *document["keys"][1:]],
    }
    with pytest.raises(InputError, match="signature"):
        TrustList.parse(forged, anchor)
    with pytest.raises(InputError, match="signature"):
        TrustList.parse(document, stranger)
    assert [k["region"] for k in document["keys"]] == ["BJ", "TJ", "HE"]
    assert all(len(base64.b64decode(k["kid"])) == 8 for k in document["keys"])


def test_keys_are_kept_encrypted_and_private(ring: KeyRing) -> None:
    text = ring.path.read_text(encoding="utf-8")
    assert "ENCRYPTED PRIVATE KEY" in text and "BEGIN PRIVATE KEY" not in text
    assert ring.path.stat().st_mode & 0o777 == 0o600


def test_every_reason_the_new_modules_emit_is_in_the_catalog() -> None:
    used: set[str] = set()
    for module in ("domain/carried.py", "credentials/codes.py", "checkpoints/snapshot.py"):
        source = (ROOT / "src/commutepass" / module).read_text(encoding="utf-8")
        used |= set(re.findall(r'(?:Reason\.of|_invalid)\(\s*"([A-Z_0-9]+)"\s*[,)]', source))
    used |= {f"CARRIED_CODE_{c.value.upper()}" for c in Color}
    assert len(used) > 15
    assert used <= set(CATALOG), sorted(used - set(CATALOG))
