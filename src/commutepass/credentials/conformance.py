"""The EU HCERT conformance vectors, fed to our decoder and verifier step by step.

Each vector (a JSON file, see ``../shared/testdata/hcert/README.md``) carries the QR text, the
signing certificate, a validation clock and the expected outcome of each step. The runner peels
the text with ``codes.py``'s layers under a ``Profile`` (for the EU vectors ``HC1``: prefix
``HC1:``, ES256 and PS256, headers also in the unprotected bucket) with the vector's certificate
as the only trusted key and the vector's clock, and compares every step it can judge:

| flag | our step |
|---|---|
| ``EXPECTEDUNPREFIX`` | the profile's prefix |
| ``EXPECTEDB45DECODE`` | base45 |
| ``EXPECTEDCOMPRESSION`` | zlib |
| ``EXPECTEDDECODE`` | CBOR and the COSE_Sign1 structure, algorithm, kid |
| ``EXPECTEDVERIFY`` | the kid names the certificate and the signature verifies with it |
| ``EXPECTEDEXPIRATIONCHECK`` (also spelt ``EXPTECTEDEXPIRED``) | issued-at and expiry against the clock |
| ``EXPECTEDKEYUSAGE`` | the certificate's extended key usage allows the certificate's kind |
| ``EXPECTEDVALIDOBJECT`` | the claims hold an HCERT (``-260`` → ``1``) |
| ``EXPECTEDVALIDJSON`` | that certificate equals the vector's ``JSON`` |

A step whose flag is absent is not tested. A step after one that failed did not pass (a code
that cannot be decoded is not verified). Flags of steps outside a verifier of the ``JJJ1`` family
are not compared, each with its reason (``NOT_COMPARED``); a vector whose expected failure lies
only in such steps is *not applicable*, listed with the reason, never skipped silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from commutepass.credentials import hcert
from commutepass.credentials.codes import (
    HC1,
    CredentialInvalid,
    Profile,
    Sign1,
    check_times,
    claim_times,
    cwt_claims,
    inflate,
    sign1,
    signer_of,
    unbase45,
    unprefix,
)
from commutepass.credentials.trust import TrustList, hcert_key
from commutepass.domain.errors import InputError

STEPS = (
    "EXPECTEDUNPREFIX",
    "EXPECTEDB45DECODE",
    "EXPECTEDCOMPRESSION",
    "EXPECTEDDECODE",
    "EXPECTEDVERIFY",
    "EXPECTEDEXPIRATIONCHECK",
    "EXPECTEDKEYUSAGE",
    "EXPECTEDVALIDOBJECT",
    "EXPECTEDVALIDJSON",
)
ALIASES = {"EXPTECTEDEXPIRED": "EXPECTEDEXPIRATIONCHECK"}
"""A misspelling some vectors use for the expiry step."""
NOT_COMPARED = {
    "EXPECTEDSCHEMAVALIDATION": "the EU DCC JSON schema (names, vaccines, value sets) is the EU's "
    "payload format, not a layer of the JJJ1 family: our verifier reads only the test entry a "
    "checkpoint uses (hcert.read)",
    "EXPECTEDPICTUREDECODE": "the QR image is read by the scanner or the console's camera "
    "(jsQR in the browser); the verifier takes the text",
    "EXPECTEDENCODE": "an issuer's step (JSON to CBOR); a verifier does not encode",
    "EXPECTEDRESULTS": "a summary flag without a step of its own",
}

VECTOR_NOTES: dict[str, dict[str, str]] = {
    "FR/2DCode/raw/test_pcr_ok.json": {
        "EXPECTEDVALIDJSON": "the vector's JSON gives the sample and result times two hours before "
        "the signed payload's (sc 2021-05-16T12:34:56Z against 14:34:56Z, dr likewise: a local time "
        "written as UTC); compared as instants they differ, and a checkpoint shows the signed one",
    },
}
"""A step of one vector that we judge the vector itself gets wrong, with the reason; matched on
the end of the vector's path. Every other step of that vector is compared as usual."""


@dataclass
class Outcome:
    """One vector judged: every flag compared (expected, got), those not compared, and why."""

    vector: str
    compared: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    not_compared: dict[str, str] = field(default_factory=dict)
    failure: str | None = None
    """The first step our verifier refused, with its reason code."""
    not_applicable: str | None = None

    @property
    def agrees(self) -> bool:
        return all(expected == got for expected, got in self.compared.values())

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"vector": self.vector, "applicable": self.not_applicable is None}
        if self.not_applicable is None:
            answer["agrees"] = self.agrees
        else:
            answer["reason"] = self.not_applicable
        answer["steps"] = {k: {"expected": e, "got": g} for k, (e, g) in self.compared.items()}
        if self.not_compared:
            answer["not_compared"] = {
                flag: why if flag not in NOT_COMPARED else "see summary"
                for flag, why in sorted(self.not_compared.items())
            }
        if self.failure:
            answer["refused_at"] = self.failure
        return answer


def _clock(value: Any) -> datetime:
    text = str(value).strip().replace("Z", "+00:00")
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _flags(expected: dict[str, Any]) -> dict[str, bool]:
    flags: dict[str, bool] = {}
    for name, value in expected.items():
        if isinstance(value, bool):
            flags[ALIASES.get(name, name)] = value
    return flags


def _normalised(value: Any) -> Any:
    """CBOR and JSON compared as values: date-times as instants (``Z`` or ``+00:00``, a CBOR
    date tag or text), floats that are whole as integers."""
    if isinstance(value, dict):
        return {str(k): _normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and value[10:11] == "T":
        try:
            return _clock(value)
        except ValueError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


ClaimsReader = Callable[[dict[Any, Any]], dict[str, Any]]


def run_vector(
    vector: dict[str, Any], name: str, profile: Profile = HC1, claims_reader: ClaimsReader = hcert.dgc_of
) -> Outcome:
    """Judge one vector under ``profile`` (prefix, algorithms, headers) with ``claims_reader``
    reading the claims (the EU certificate for HC1), the vector's certificate as the only
    trusted key, and the vector's clock."""
    outcome = Outcome(name)
    flags = _flags(vector.get("EXPECTEDRESULTS") or {})
    notes = next((n for path, n in VECTOR_NOTES.items() if name.endswith(path)), {})
    for flag in flags:
        if flag in notes:
            outcome.not_compared[flag] = notes[flag]
        elif flag in NOT_COMPARED or flag not in STEPS:
            outcome.not_compared[flag] = NOT_COMPARED.get(flag, "a flag this runner does not know")
    got: dict[str, bool] = {}
    context = vector.get("TESTCTX") or {}

    def refused(flag: str, exc: CredentialInvalid) -> None:
        got[flag] = False
        if outcome.failure is None:
            outcome.failure = f"{exc.step.value}: {exc.reason.code} {exc.reason.params}".strip()

    message: Sign1 | None = None
    try:
        text = unprefix(str(vector.get("PREFIX") or ""), profile)
        got["EXPECTEDUNPREFIX"] = True
        compressed = unbase45(text)
        got["EXPECTEDB45DECODE"] = True
        raw = inflate(compressed)
        got["EXPECTEDCOMPRESSION"] = True
        opened = sign1(raw, profile)
        claims_reader(cwt_claims(opened.payload, profile))
        message = opened
        got["EXPECTEDDECODE"] = True
    except CredentialInvalid as exc:
        step = {
            "size": "EXPECTEDUNPREFIX",
            "prefix": "EXPECTEDUNPREFIX",
            "base45": "EXPECTEDB45DECODE",
            "zlib": "EXPECTEDCOMPRESSION",
        }.get(exc.step.value, "EXPECTEDDECODE")
        refused(step, exc)
    if message is not None:
        try:
            key = hcert_key(str(context.get("CERTIFICATE") or ""))
        except InputError as exc:
            outcome.not_applicable = f"the vector's certificate cannot be read ({exc.en})"
            key = None
        claims: dict[Any, Any] | None = None
        if key is not None:
            trust = TrustList((key,), datetime.now(UTC))
            try:
                signer_of(message, trust)
                got["EXPECTEDVERIFY"] = True
            except CredentialInvalid as exc:
                refused("EXPECTEDVERIFY", exc)
        try:
            claims = cwt_claims(message.payload, profile)
            issued_at, expires_at = claim_times(claims)
            check_times(issued_at, expires_at, _clock(context.get("VALIDATIONCLOCK")), profile.skew)
            got["EXPECTEDEXPIRATIONCHECK"] = True
        except CredentialInvalid as exc:
            refused("EXPECTEDEXPIRATIONCHECK", exc)
        except ValueError:
            outcome.not_applicable = "the vector's validation clock is not a time"
        dgc: dict[str, Any] | None = None
        try:
            dgc = claims_reader(claims if claims is not None else cwt_claims(message.payload, profile))
            got["EXPECTEDVALIDOBJECT"] = True
        except CredentialInvalid as exc:
            refused("EXPECTEDVALIDOBJECT", exc)
        if dgc is not None and key is not None:
            try:
                hcert.check_usage(key, dgc)
                got["EXPECTEDKEYUSAGE"] = True
            except CredentialInvalid as exc:
                refused("EXPECTEDKEYUSAGE", exc)
        if dgc is not None and "JSON" in vector:
            got["EXPECTEDVALIDJSON"] = _normalised(dgc) == _normalised(vector["JSON"])
    for flag, expected in flags.items():
        if flag in STEPS and flag not in notes:
            if flag == "EXPECTEDVALIDJSON" and "JSON" not in vector:
                outcome.not_compared[flag] = "the vector has no JSON to compare with"
                continue
            outcome.compared[flag] = (expected, got.get(flag, False))
    if outcome.not_applicable is None:
        expected_failures = {f for f, v in flags.items() if v is False}
        if not outcome.compared:
            outcome.not_applicable = (
                "its only expectations are in steps a verifier of our family does not perform: "
                + ", ".join(sorted(flags))
            )
        elif expected_failures and expected_failures <= set(outcome.not_compared):
            outcome.not_applicable = "its expected failure is only in " + ", ".join(
                f"{f} ({outcome.not_compared[f]})" for f in sorted(expected_failures)
            )
    if outcome.not_applicable is not None:
        outcome.compared.clear()
    return outcome


def vectors(directory: Path) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """``(name, vector, error)`` for every ``*.json`` under ``directory``, in name order."""
    for path in sorted(directory.rglob("*.json")):
        name = path.relative_to(directory).as_posix()
        try:
            data = orjson.loads(path.read_bytes().removeprefix(b"\xef\xbb\xbf"))
        except (OSError, orjson.JSONDecodeError) as exc:
            yield name, None, f"cannot be read as JSON ({exc})"
            continue
        if not isinstance(data, dict) or "EXPECTEDRESULTS" not in data:
            yield name, None, "is not a test vector (no EXPECTEDRESULTS)"
            continue
        yield name, data, None


@dataclass
class Report:
    outcomes: list[Outcome]

    @property
    def applicable(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.not_applicable is None]

    @property
    def disagreeing(self) -> list[Outcome]:
        return [o for o in self.applicable if not o.agrees]

    def summary(self, directory: Path, profile: Profile) -> dict[str, Any]:
        reasons = Counter(o.not_applicable for o in self.outcomes if o.not_applicable)
        steps = Counter(flag for o in self.applicable for flag in o.compared)
        return {
            "summary": True,
            "directory": str(directory),
            "profile": profile.name,
            "prefix": profile.prefix,
            "vectors": len(self.outcomes),
            "applicable": len(self.applicable),
            "agree": len(self.applicable) - len(self.disagreeing),
            "disagree": len(self.disagreeing),
            "not_applicable": len(self.outcomes) - len(self.applicable),
            "not_applicable_reasons": [{"reason": r, "vectors": n} for r, n in reasons.most_common()],
            "steps_compared": dict(sorted(steps.items())),
            "steps_not_compared": NOT_COMPARED,
            "vector_notes": [
                {"vector": o.vector, "step": flag, "reason": why}
                for o in self.outcomes
                for flag, why in o.not_compared.items()
                if flag not in NOT_COMPARED
            ],
            "disagreeing": [o.vector for o in self.disagreeing],
        }


def run(directory: Path, profile: Profile = HC1) -> Report:
    """Every vector under ``directory``; an unreadable file is listed as not applicable."""
    if not directory.is_dir():
        raise InputError(
            "directory", f"{directory}: is not a folder of test vectors", f"{directory}：不是测试向量文件夹"
        )
    outcomes: list[Outcome] = []
    for name, vector, error in vectors(directory):
        if vector is None:
            outcomes.append(Outcome(name, not_applicable=f"the file {error}"))
        else:
            outcomes.append(run_vector(vector, name, profile))
    if not outcomes:
        raise InputError(
            "directory", f"{directory}: holds no *.json vector", f"{directory}：没有 *.json 测试向量"
        )
    return Report(outcomes)


def profile_with(prefix: str | None) -> Profile:
    """The HC1 profile, with another prefix if given (a family that differs only there)."""
    from dataclasses import replace

    if prefix is None:
        return HC1
    if not prefix or len(prefix) > 8:
        raise InputError("prefix", "give a prefix such as HC1:", "请给出前缀，例如 HC1:")
    return replace(HC1, name=f"HC1 with prefix {prefix}", prefix=prefix)


__all__ = ["NOT_COMPARED", "STEPS", "Outcome", "Report", "run", "run_vector"]
