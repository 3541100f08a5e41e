"""The EU HCERT conformance vectors (``../shared/testdata/hcert``) through our decoder and verifier."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from commutepass.credentials.codes import HC1, JJJ1
from commutepass.credentials.conformance import NOT_COMPARED, Report, run, run_vector

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT.parent / "shared" / "testdata" / "hcert"

pytestmark = pytest.mark.skipif(
    not VECTORS.is_dir(),
    reason=f"the HCERT conformance vectors are not at {VECTORS} (a checkout beside shared/ has them)",
)


@pytest.fixture(scope="module")
def report() -> Report:
    return run(VECTORS, HC1)


def _vector(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((VECTORS / name).read_text(encoding="utf-8-sig"))
    return loaded


def test_every_applicable_vector_agrees(report: Report) -> None:
    assert len(report.outcomes) == len(list(VECTORS.rglob("*.json"))), "every vector is judged"
    disagreeing = {o.vector: o.as_json() for o in report.disagreeing}
    assert not disagreeing, disagreeing
    # most vectors test a step we perform: the runner does not get to agree by judging few
    assert len(report.applicable) >= 400
    steps = report.summary(VECTORS, HC1)["steps_compared"]
    assert all(
        steps[flag] >= 300 for flag in ("EXPECTEDVERIFY", "EXPECTEDEXPIRATIONCHECK", "EXPECTEDKEYUSAGE")
    )


def test_no_vector_is_set_aside_without_a_reason(report: Report) -> None:
    set_aside = [o for o in report.outcomes if o.not_applicable is not None]
    assert set_aside and all(o.not_applicable for o in set_aside)
    # a vector is set aside only when what it expects to fail is a step we do not perform
    for outcome in set_aside:
        lines = outcome.as_json()
        assert lines["applicable"] is False and lines["reason"]
    summary = report.summary(VECTORS, HC1)
    assert sum(r["vectors"] for r in summary["not_applicable_reasons"]) == summary["not_applicable"]


@pytest.mark.parametrize(
    ("name", "flag", "expected"),
    [
        ("common/2DCode/raw/CO1.json", "EXPECTEDVERIFY", True),  # PS256, RSA 2048
        ("common/2DCode/raw/CO2.json", "EXPECTEDVERIFY", True),  # PS256, RSA 3072
        ("common/2DCode/raw/CO5.json", "EXPECTEDVERIFY", False),  # signature broken
        ("common/2DCode/raw/CO6.json", "EXPECTEDKEYUSAGE", False),  # a test-only signer signing a vaccination
        ("common/2DCode/raw/CO16.json", "EXPECTEDEXPIRATIONCHECK", False),  # before issued-at
        ("common/2DCode/raw/CO17.json", "EXPECTEDEXPIRATIONCHECK", False),  # after expiry
        ("common/2DCode/raw/CO19.json", "EXPECTEDVERIFY", True),  # kid only in the unprotected header
        ("common/2DCode/raw/CO22.json", "EXPECTEDVERIFY", False),  # protected kid wrong: it wins
        ("common/2DCode/raw/CO28.json", "EXPECTEDVERIFY", True),  # CWT tag around the COSE tag
        ("common/2DCode/raw/Z2.json", "EXPECTEDCOMPRESSION", False),
        ("common/2DCode/raw/H2.json", "EXPECTEDUNPREFIX", False),  # HC2:
        ("ES/2DCode/raw/401.json", "EXPECTEDVERIFY", True),  # ES256 signed on P-384
    ],
)
def test_the_steps_that_matter(name: str, flag: str, expected: bool) -> None:
    outcome = run_vector(_vector(name), name, HC1)
    assert outcome.not_applicable is None
    assert outcome.compared[flag] == (expected, expected)


def test_a_wrong_expectation_is_reported_as_a_disagreement() -> None:
    """The runner can fail: the same vector with one flag turned round disagrees."""
    vector = _vector("common/2DCode/raw/CO3.json")
    expected = dict(vector["EXPECTEDRESULTS"])  # type: ignore[call-overload]
    expected["EXPECTEDVERIFY"] = False
    outcome = run_vector({**vector, "EXPECTEDRESULTS": expected}, "CO3-turned", HC1)
    assert not outcome.agrees and outcome.compared["EXPECTEDVERIFY"] == (False, True)
    # another certificate as the only trusted key: the signature no longer verifies
    other = _vector("common/2DCode/raw/CO1.json")["TESTCTX"]
    moved = {**vector, "TESTCTX": {**vector["TESTCTX"], "CERTIFICATE": other["CERTIFICATE"]}}  # type: ignore[dict-item]
    assert run_vector(moved, "CO3-other-key", HC1).compared["EXPECTEDVERIFY"] == (True, False)


def test_our_own_profile_is_a_parameter() -> None:
    """Under the JJJ1 profile an HC1 code fails at the prefix: the differences are parameters."""
    outcome = run_vector(_vector("common/2DCode/raw/CO3.json"), "CO3", JJJ1)
    assert outcome.compared["EXPECTEDUNPREFIX"] == (True, False)
    assert "EXPECTEDSCHEMAVALIDATION" in NOT_COMPARED


def test_the_command_prints_a_line_per_vector_and_a_summary(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from commutepass.cli import app as cli

    for name in ("common/2DCode/raw/CO1.json", "common/2DCode/raw/CO6.json", "common/2DCode/raw/DGC1.json"):
        target = tmp_path / "vectors" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(VECTORS / name, target)
    result = CliRunner().invoke(cli, ["codes", "conformance", str(tmp_path / "vectors")])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0, result.stdout
    assert [line.get("vector") for line in lines[:-1]] == [
        "common/2DCode/raw/CO1.json",
        "common/2DCode/raw/CO6.json",
        "common/2DCode/raw/DGC1.json",
    ]
    summary = lines[-1]
    assert (summary["vectors"], summary["applicable"], summary["agree"], summary["not_applicable"]) == (
        3,
        2,
        2,
        1,
    )
    assert "EXPECTEDSCHEMAVALIDATION" in lines[2]["reason"]
    broken = tmp_path / "vectors" / "common/2DCode/raw/CO1.json"
    data = json.loads(broken.read_text(encoding="utf-8-sig"))
    data["EXPECTEDRESULTS"]["EXPECTEDVERIFY"] = False
    broken.write_text(json.dumps(data), encoding="utf-8")
    assert CliRunner().invoke(cli, ["codes", "conformance", str(tmp_path / "vectors")]).exit_code == 1
