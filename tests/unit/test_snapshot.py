"""The offline snapshot keeps what the rules read: decisions from it equal decisions from the facts."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from commutepass.checkpoints.snapshot import OfflineSnapshot, encode_person, encode_snapshot, pseudonym
from commutepass.credentials.keys import KeyRing
from commutepass.credentials.trust import load_anchor
from commutepass.domain.decisions import Mode, decide_check
from commutepass.domain.errors import InputError
from commutepass.domain.facts import PersonFacts, Source
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.policy import Policy
from commutepass.domain.regions import RegionCatalog
from tests.unit.conftest import T, facts, make_id, member, negative, positive, risk_map

AS_OF = T("2021-11-29T06:00")
PERIODS = (("130802", "case", "2021-11-20", None), ("131082", "border_port", "2021-11-01", None))
PEOPLE: dict[str, PersonFacts] = {
    "badge": facts(membership=member(), nats=[negative("2021-11-22T08:00")], last_entry="2021-11-25T07:00"),
    "first check": facts(
        membership=member("2021-11-20", Source.APPLICATION), nats=[negative("2021-11-28T09:00")]
    ),
    "lapsed": facts(membership=member(), nats=[negative("2021-11-22T08:00")], last_entry="2021-11-10T07:00"),
    "case trip": facts(nats=[negative("2021-11-28T08:00")], visits=[("2021-11-21", "130802")]),
    "same city": facts(nats=[negative("2021-11-28T08:00")], visits=[("2021-11-21", "130803")]),
    "border port": facts(
        membership=member(),
        nats=[negative("2021-11-28T08:00")],
        visits=[("2021-11-25", "131082")],
        last_entry="2021-11-26T07:00",
    ),
    "positive": facts(
        nats=[negative("2021-11-20T08:00"), positive("2021-11-24T08:00"), negative("2021-11-28T08:00")]
    ),
    "many tests": facts(nats=[negative(f"2021-11-{d}T08:00") for d in range(14, 29)]),
    "infant": facts(birth=date(2020, 1, 1)),
}

IDS = {who: make_id(serial=n, birth=person.birth_date) for n, (who, person) in enumerate(PEOPLE.items())}


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return KeyRing(tmp_path, b"pw")


def _snapshot(ring: KeyRing, p2021: Policy, catalog: RegionCatalog, key: bytes) -> OfflineSnapshot:
    risk = risk_map(catalog, *PERIODS)
    records = [
        (pseudonym(key, IDS[who]), encode_person(f, AS_OF, p2021, set(risk.unit_of)))
        for who, f in PEOPLE.items()
    ]
    periods = [p for plist in risk.by_county.values() for p in plist]
    signed = encode_snapshot(records, AS_OF, p2021.version, periods, ring.trust_signer())
    return OfflineSnapshot.load(signed, key, load_anchor(ring.trust_signer().record.public_key_pem), catalog)


@pytest.mark.parametrize("hours", [0, 3, 23])
@pytest.mark.parametrize("mode", [Mode.ROAD, Mode.RAIL])
def test_offline_decisions_equal_decisions_from_the_facts(
    ring: KeyRing, p2021: Policy, catalog: RegionCatalog, hours: int, mode: Mode
) -> None:
    key = b"k" * 32
    snapshot = _snapshot(ring, p2021, catalog, key)
    risk = risk_map(catalog, *PERIODS)
    at = AS_OF + timedelta(hours=hours)
    for who, person in PEOPLE.items():
        resident = parse_resident_id(IDS[who])
        expected = decide_check(person, p2021, at, risk, catalog, mode=mode)
        got = snapshot.decide(resident, p2021, at, catalog, mode=mode)
        assert got.usable, who
        assert got.outcome.decision == expected.decision, who
        assert got.outcome.reasons[1:] == expected.reasons, who
        assert got.outcome.status.reasons == expected.status.reasons, who


def test_the_checkpoints_own_entries_count_for_the_next_swipe(
    ring: KeyRing, p2021: Policy, catalog: RegionCatalog
) -> None:
    key = b"k" * 32
    snapshot = _snapshot(ring, p2021, catalog, key)
    resident = parse_resident_id(
        make_id(serial=1)
    )  # "first check": a commuter not yet entered under the policy
    first = snapshot.decide(resident, p2021, AS_OF + timedelta(hours=1), catalog, mode=Mode.ROAD)
    assert "COMMUTER_FIRST_CHECK" in [r.code for r in first.outcome.reasons]
    snapshot.entered(resident, AS_OF + timedelta(hours=1))
    later = snapshot.decide(resident, p2021, AS_OF + timedelta(hours=2), catalog, mode=Mode.ROAD)
    assert "COMMUTER_NAT_VALID" in [r.code for r in later.outcome.reasons]


def test_a_snapshot_signed_by_another_key_or_changed_is_refused(
    ring: KeyRing, p2021: Policy, catalog: RegionCatalog, tmp_path: Path
) -> None:
    signed = encode_snapshot([], AS_OF, p2021.version, [], ring.trust_signer())
    other = KeyRing(tmp_path / "other", b"pw2").trust_signer().record.public_key_pem
    with pytest.raises(InputError, match="pinned"):
        OfflineSnapshot.load(signed, b"k", load_anchor(other), catalog)
    changed = signed[:-1] + bytes([signed[-1] ^ 1])
    with pytest.raises(InputError, match="pinned"):
        OfflineSnapshot.load(changed, b"k", load_anchor(ring.trust_signer().record.public_key_pem), catalog)


@pytest.mark.parametrize(
    ("skew_minutes", "lag_minutes", "usable"), [(5, 4, True), (5, 6, False), (10, 6, True)]
)
def test_the_clock_skew_an_offline_checkpoint_tolerates_is_a_policy_parameter(
    ring: KeyRing, p2021: Policy, catalog: RegionCatalog, skew_minutes: int, lag_minutes: int, usable: bool
) -> None:
    """A checkpoint's clock behind the service's: the swipe's time is before the snapshot's."""
    policy = p2021.model_copy(
        update={"offline": p2021.offline.model_copy(update={"clock_skew_minutes": skew_minutes})}
    )
    snapshot = _snapshot(ring, policy, catalog, b"k" * 32)
    resident = parse_resident_id(IDS["badge"])
    answer = snapshot.decide(
        resident, policy, AS_OF - timedelta(minutes=lag_minutes), catalog, mode=Mode.ROAD
    )
    assert answer.usable is usable


def test_the_snapshot_carries_the_book_and_the_withdrawn_versions(
    ring: KeyRing, p2021: Policy, catalog: RegionCatalog
) -> None:
    text = (Path(__file__).resolve().parents[2] / "src/commutepass/policies/2021-11-17.toml").read_text(
        encoding="utf-8"
    )
    later = AS_OF + timedelta(hours=3)
    carried = [
        ("2021-11-17", p2021.effective_from, text),
        ("2031-01-01", later, text.replace('version = "2021-11-17"', 'version = "2031-01-01"')),
    ]
    signed = encode_snapshot([], AS_OF, p2021.version, [], ring.trust_signer(), carried, ["2030-12-01"])
    snapshot = OfflineSnapshot.load(
        signed, b"k" * 32, load_anchor(ring.trust_signer().record.public_key_pem), catalog
    )
    assert snapshot.policies is not None and snapshot.withdrawn == ("2030-12-01",)
    assert snapshot.policies.in_force(later - timedelta(seconds=1)).version == "2021-11-17"
    assert snapshot.policies.in_force(later).version == "2031-01-01"
