"""An EU certificate (HC1:) at a Beijing checkpoint; lists past their expiry; revocations as a filter."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from cwt import COSE, COSEKey

from commutepass.credentials import service
from commutepass.credentials.codes import Verifier, wrap
from commutepass.credentials.revocation import FilterUpdate, RevocationFilter
from commutepass.credentials.trust import RevocationList, TrustList
from commutepass.domain.policy import PolicyBook
from commutepass.kit.context import App
from commutepass.kit.sessions import cli_user
from commutepass.policies import builtin_policies
from tests.helpers import at, make_id

TIANJIN = make_id("120101", date(1990, 3, 7), 11)

SAMPLED = datetime(2021, 11, 28, 1, 0, tzinfo=UTC)  # 09:00 Beijing, the day before the check
CHECKED = at("2021-11-29T07:30")
TEST_OID = "1.3.6.1.4.1.1847.2021.1.1"


def _signer(tmp_path: Path, usage: str = TEST_OID) -> tuple[ec.EllipticCurvePrivateKey, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.COUNTRY_NAME, "AT"), x509.NameAttribute(NameOID.COMMON_NAME, "DSC")]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(datetime(2021, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2023, 1, 1, tzinfo=UTC))
        .add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier(usage)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "dsc.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, path


def _hc1(
    key: ec.EllipticCurvePrivateKey, certificate: Path, *, kind: str = "t", result: str = "260415000"
) -> str:
    der = x509.load_pem_x509_certificate(certificate.read_bytes()).public_bytes(serialization.Encoding.DER)
    kid = hashlib.sha256(der).digest()[:8]
    entry = {
        "t": [
            {
                "tg": "840539006",
                "tt": "LP6464-4",
                "sc": SAMPLED.isoformat().replace("+00:00", "Z"),
                "tr": result,
                "tc": "Testzentrum Wien",
                "co": "AT",
                "is": "Ministry of Health, Austria",
                "ci": "URN:UVCI:01:AT:TEST#1",
            }
        ],
        "v": [
            {"tg": "840539006", "dn": 2, "sd": 2, "dt": "2021-06-01", "co": "AT", "is": "BMSGPK", "ci": "X"}
        ],
    }
    dgc = {
        "ver": "1.3.0",
        "nam": {"fn": "Musterfrau", "fnt": "MUSTERFRAU", "gn": "Gabriele", "gnt": "GABRIELE"},
    }
    dgc["dob"] = "1998-02-26"
    dgc[kind] = entry[kind]
    claims = {
        1: "AT",
        6: int(SAMPLED.timestamp()) + 3600,
        4: int(SAMPLED.timestamp()) + 3 * 86400,
        -260: {1: dgc},
    }
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signed = COSE.new().encode_and_sign(
        cbor2.dumps(claims), COSEKey.from_pem(pem, alg="ES256", kid=kid), protected={1: -7, 4: kid}
    )
    return wrap(signed, "HC1:")


def _accepting(countries: tuple[str, ...]) -> PolicyBook:
    policies = builtin_policies()
    return PolicyBook(
        [
            p.model_copy(update={"hcert": p.hcert.model_copy(update={"accepted_issuers": countries})})
            for p in policies.policies
        ]
    )


def test_an_eu_test_certificate_is_verified_and_shown_but_counts_only_where_the_policy_says(
    app: App, tmp_path: Path
) -> None:
    key, certificate = _signer(tmp_path)
    added = service.add_hcert_certificate(app, certificate)
    assert (added["country"], added["usage"], added["already"]) == ("AT", ["t"], False)
    code = _hc1(key, certificate)
    checker = service.local_verifier(app)
    # by default no issuer is accepted: the test is shown, a NAT is checked by hand
    answer, swipe = service.verify(checker, app.policies, code, CHECKED)
    assert (answer["valid"], answer["decision"]) == (True, "documents")
    assert answer["hcert"]["test"]["result"] == "negative"
    assert answer["hcert"]["test"]["sampled_at"] == SAMPLED.isoformat()
    assert answer["hcert"]["counts_as_nat"] is False
    codes = [r["code"] for r in answer["reasons"]]
    assert codes == ["HCERT_TEST_NEGATIVE", "HCERT_ISSUER_NOT_ACCEPTED"]
    assert {r["code"] for r in answer["to_check_by_hand"]} == {
        "CHECK_HCERT_HOLDER",
        "CHECK_PAPER_NAT",
        "CHECK_GREEN_CODE",
    }
    assert swipe is not None
    # where Austria is accepted, the negative NAT within 48 h of sampling counts
    answer, _swipe = service.verify(checker, _accepting(("AT",)), code, CHECKED)
    assert answer["hcert"]["counts_as_nat"] is True
    assert [r["code"] for r in answer["reasons"]] == ["HCERT_TEST_NEGATIVE", "HCERT_NAT_VALID"]
    assert {r["code"] for r in answer["to_check_by_hand"]} == {"CHECK_HCERT_HOLDER", "CHECK_GREEN_CODE"}
    late, _swipe = service.verify(checker, _accepting(("AT",)), code, SAMPLED + timedelta(hours=49))
    assert (late["decision"], late["reasons"][-1]["code"]) == ("refuse", "HCERT_NAT_EXPIRED")
    positive = _hc1(key, certificate, result="260373001")
    answer, _swipe = service.verify(checker, _accepting(("AT",)), positive, CHECKED)
    assert (answer["decision"], answer["reasons"][-1]["code"]) == ("refuse", "REFUSE_POSITIVE")


def test_an_eu_certificate_from_an_unknown_or_misused_signer_is_refused(app: App, tmp_path: Path) -> None:
    key, certificate = _signer(tmp_path)
    code = _hc1(key, certificate)
    answer, swipe = service.verify(service.local_verifier(app), app.policies, code, CHECKED)
    assert (answer["valid"], answer["reason"]["code"], swipe) == (False, "CREDENTIAL_UNKNOWN_KEY", None)
    service.add_hcert_certificate(app, certificate)
    vaccination = _hc1(key, certificate, kind="v")  # a test-only signer signing a vaccination
    answer, _swipe = service.verify(service.local_verifier(app), app.policies, vaccination, CHECKED)
    assert (answer["valid"], answer["reason"]["code"]) == (False, "CREDENTIAL_KEY_USAGE")


def test_a_list_past_its_expiry_and_the_stale_tolerance_verifies_nothing(app: App) -> None:
    code = service.issue(app, cli_user(), TIANJIN, CHECKED, "TJ")["code"]
    ring = service.keyring(app)
    signer = ring.trust_signer()
    anchor = service.load_anchors(service.anchor_pem(app))
    issued = CHECKED - timedelta(days=7, hours=12)  # expired 12 h before the check
    trust = TrustList.parse(TrustList.document(ring.records(), issued, signer), anchor)
    fresh_revocations = RevocationList.parse(RevocationList.document([], CHECKED, signer), anchor)
    answer, _swipe = service.verify(Verifier(trust, fresh_revocations), app.policies, code, CHECKED)
    assert answer["valid"] is True  # within the policy's 24 h of stale tolerance: used, with a warning
    assert [w["code"] for w in answer["warnings"]] == ["TRUST_LIST_STALE"]
    older = TrustList.parse(TrustList.document(ring.records(), issued - timedelta(hours=13), signer), anchor)
    answer, swipe = service.verify(Verifier(older, fresh_revocations), app.policies, code, CHECKED)
    assert (answer["valid"], answer["decision"], answer["reason"]["code"]) == (
        False,
        "documents",
        "TRUST_LIST_EXPIRED",
    )
    assert swipe is None


def test_revocations_are_numbered_and_a_checkpoint_fetches_only_what_changed(app: App) -> None:
    anchor = service.load_anchors(service.anchor_pem(app)).keys[0]
    codes = [service.issue(app, cli_user(), TIANJIN, CHECKED, "TJ")["code"] for _ in range(3)]
    for code in codes[:2]:
        service.revoke(app, code, actor=cli_user().actor)
    signed, described = service.revocation_filter(app, 0)
    assert (described["version"], described["count"], described["added"]) == (2, 2, 2)
    held = RevocationFilter.of([], 0).apply(FilterUpdate.decode(signed, anchor))
    service.revoke(app, codes[2], actor=cli_user().actor)
    service.revoke(app, codes[2], actor=cli_user().actor)  # again: no new entry
    signed, described = service.revocation_filter(app, held.version)
    assert (described["since"], described["version"], described["added"], described["count"]) == (2, 3, 1, 3)
    moved = held.apply(FilterUpdate.decode(signed, anchor))
    checker = Verifier(service.local_verifier(app).trust, moved)
    for code in codes:
        answer, _swipe = service.verify(checker, app.policies, code, CHECKED)
        assert answer["reason"]["code"] == "CREDENTIAL_REVOKED"
    with pytest.raises(Exception, match="ahead"):
        service.revocation_filter(app, 99)
