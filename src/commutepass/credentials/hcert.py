"""The EU Digital COVID Certificate's payload (HCERT, claim -260) as a checkpoint reads it.

The layers and the signature are ours (``codes.py`` with the ``HC1`` profile); this module reads
the certificate inside: its kind (test ``t``, vaccination ``v``, recovery ``r``), the holder's
name and birth date, and a test entry's sample time and result, checks that the signing
certificate may sign that kind (its extended key usage) and says whether the test counts as a
nucleic-acid test (NAAT, LOINC ``LP6464-4``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from commutepass.credentials.codes import CLAIM_ISS, Step, _invalid, _malformed
from commutepass.credentials.trust import TrustedKey

CLAIM_HCERT = -260
HCERT_DGC = 1
KINDS = {"v": "vaccination", "t": "test", "r": "recovery"}
NAAT = "LP6464-4"
"""Nucleic acid amplification test (核酸检测); a rapid antigen test is ``LP217198-3``."""
RESULTS = {"260415000": "negative", "260373001": "positive"}
"""SNOMED CT: not detected, detected."""


def dgc_of(claims: dict[Any, Any]) -> dict[str, Any]:
    """The certificate (``-260`` → ``1``) in the CWT claims."""
    hcert = claims.get(CLAIM_HCERT)
    dgc = hcert.get(HCERT_DGC) if isinstance(hcert, dict) else None
    if not isinstance(dgc, dict):
        raise _malformed(Step.CLAIMS, "no EU DCC certificate (claim -260/1)")
    return dgc


def kinds_of(dgc: dict[str, Any]) -> frozenset[str]:
    return frozenset(k for k in KINDS if k in dgc)


def check_usage(key: TrustedKey, dgc: dict[str, Any]) -> None:
    """The signing certificate may sign this kind of certificate (its extended key usage)."""
    kinds = kinds_of(dgc)
    if key.usage is not None and not kinds <= key.usage:
        raise _invalid(
            "CREDENTIAL_KEY_USAGE",
            Step.KEY,
            kinds="/".join(sorted(KINDS[k] for k in kinds)) or "-",
            allowed="/".join(sorted(KINDS[k] for k in key.usage)),
        )


@dataclass(frozen=True, slots=True)
class HcertTest:
    sampled_at: datetime
    result: str
    """``negative``, ``positive``, or the raw code when it is neither."""
    test_type: str
    country: str
    issuer: str
    certificate_id: str

    @property
    def is_naat(self) -> bool:
        return self.test_type == NAAT

    def as_json(self) -> dict[str, Any]:
        return {
            "sampled_at": self.sampled_at.isoformat(),
            "result": self.result,
            "test_type": self.test_type,
            "naat": self.is_naat,
            "country": self.country,
            "issuer": self.issuer,
            "certificate_id": self.certificate_id,
        }


@dataclass(frozen=True, slots=True)
class Hcert:
    """What a checkpoint shows of a verified EU certificate."""

    issuer: str
    """The ``iss`` claim: the issuing country (ISO 3166-1 alpha-2)."""
    kinds: frozenset[str]
    name: str
    birth_date: str
    test: HcertTest | None


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def read(claims: dict[Any, Any]) -> Hcert:
    """The certificate's holder and, for a test certificate, its one test entry."""
    dgc = dgc_of(claims)
    kinds = kinds_of(dgc)
    name = dgc.get("nam") if isinstance(dgc.get("nam"), dict) else {}
    assert isinstance(name, dict)
    full = " ".join(
        p for p in (_text(name, "gn") or _text(name, "gnt"), _text(name, "fn") or _text(name, "fnt")) if p
    )
    test: HcertTest | None = None
    if "t" in kinds:
        entries = dgc["t"]
        if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
            raise _malformed(Step.CLAIMS, "a test certificate holds exactly one test entry")
        entry = entries[0]
        try:
            sampled = entry["sc"]
            sampled_at = (
                datetime.fromisoformat(sampled.replace("Z", "+00:00"))
                if isinstance(sampled, str)
                else sampled
            )
            if not isinstance(sampled_at, datetime):
                raise ValueError("sample time")
            if sampled_at.tzinfo is None:
                sampled_at = sampled_at.replace(tzinfo=UTC)
        except (KeyError, ValueError, AttributeError):
            raise _malformed(Step.CLAIMS, "the test entry has no valid sample time (sc)") from None
        code = _text(entry, "tr")
        test = HcertTest(
            sampled_at=sampled_at,
            result=RESULTS.get(code, code or "unknown"),
            test_type=_text(entry, "tt"),
            country=_text(entry, "co"),
            issuer=_text(entry, "is"),
            certificate_id=_text(entry, "ci"),
        )
    issuer = claims.get(CLAIM_ISS)
    return Hcert(
        issuer=issuer if isinstance(issuer, str) else "",
        kinds=kinds,
        name=full,
        birth_date=_text(dgc, "dob"),
        test=test,
    )
