"""Benchmark: signed-code verifications and offline ID decisions per second per core, snapshot size.

    uv run python bench/bench_credentials.py [--codes 3000] [--swipes 50000] [--commuters 1000000] [--write-docs]

All in one process (one core), on synthetic data made here:
  1. QR verification: ``Verifier.verify`` (base45, zlib, COSE_Sign1 ES256 signature against the
     trust list, expiry, revocation) of distinct codes; then the whole answer (plus the policy
     applied to the carried status and the reasons rendered in both languages).
  2. Offline ID decisions: a snapshot of ``--commuters`` people is encoded, signed, loaded and
     verified as a checkpoint does; then swipes of ID numbers (half in the snapshot) are decided
     by the core's ``decide_check`` from it (ID validation, pseudonym HMAC, facts, decision);
     then the same with the answer rendered.
  3. The signed snapshot's size for ``--commuters`` commuters.
With --write-docs the table replaces the section between the markers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from stdnum.cn import ric

from commutepass.checkpoints.snapshot import OfflineSnapshot, encode_person, encode_snapshot, pseudonym
from commutepass.checks.service import view
from commutepass.credentials.codes import Verifier, encode_code
from commutepass.credentials.keys import KeyRing
from commutepass.credentials.service import verify
from commutepass.credentials.trust import RevocationList, TrustList, load_anchor
from commutepass.domain.carried import CarriedStatus
from commutepass.domain.decisions import Mode
from commutepass.domain.facts import Membership, NatResult, PersonFacts, Source
from commutepass.domain.identity import parse_resident_id
from commutepass.domain.policy import Color, CommuterClass
from commutepass.domain.regions import region_catalog
from commutepass.domain.roles import Role
from commutepass.policies import builtin_policies
from docs_section import publish  # bench/ is on sys.path when run as a script

MARK = "bench_credentials"
AS_OF = datetime(2021, 11, 28, 22, 0, tzinfo=UTC)  # 2021-11-29 06:00 Beijing
COUNTIES = ["131082", "131022", "131024", "120114", "120101", "130602", "130681", "130802"]


def _id_number(n: int) -> str:
    """A distinct valid ID number for each n < 128,000,000 (serial, birth day, county)."""
    birth = date(1960, 1, 1) + timedelta(days=(n // 1000) % 16000)
    body = f"{COUNTIES[(n // 16_000_000) % len(COUNTIES)]}{birth:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def bench_codes(ring: KeyRing, count: int) -> tuple[float, float, int]:
    signer = ring.trust_signer()
    anchor = load_anchor(signer.record.public_key_pem)
    verifier = Verifier(
        TrustList.parse(TrustList.document(ring.records(), AS_OF, signer), anchor),
        RevocationList.parse(
            RevocationList.document([f"{n:064x}" for n in range(1000)], AS_OF, signer), anchor
        ),
    )
    codes = []
    for n in range(count):
        region = ("BJ", "TJ", "HE")[n % 3]
        carried = CarriedStatus(
            region=region,
            issued_at=AS_OF,
            policy_version="2021-11-17",
            color=Color.GREEN,
            popup=None,
            commuter_badge=n % 2 == 0,
            commuter_class=CommuterClass.DAILY if n % 2 == 0 else None,
            nat_valid_until=AS_OF + timedelta(days=3),
            masked_id=f"120***********{n % 10000:04d}",
            birth_year=1960 + n % 40,
        )
        codes.append(
            encode_code(carried, n.to_bytes(8, "big"), AS_OF + timedelta(hours=6), ring.issuer(region, AS_OF))
        )
    at = AS_OF + timedelta(hours=1)
    t0 = time.perf_counter()
    for code in codes:
        verifier.verify(code, at)
    verified = _rate(count, time.perf_counter() - t0)
    policies = builtin_policies()
    t0 = time.perf_counter()
    for code in codes:
        answer, _swipe = verify(verifier, policies, code, at, site="白庙检查站")
        assert answer["valid"], answer
    answered = _rate(count, time.perf_counter() - t0)
    return verified, answered, max(len(c) for c in codes)


def synthetic_facts(n: int, rng: random.Random) -> PersonFacts:
    """A commuter in the database with one or two negative results and a recent entry."""
    reported = AS_OF - timedelta(minutes=rng.randrange(10, 13 * 24 * 60))
    nats = [NatResult(reported - timedelta(hours=10), reported, False)]
    if rng.random() < 0.5:
        second = AS_OF - timedelta(minutes=rng.randrange(10, 40 * 60))
        nats.append(NatResult(second - timedelta(hours=9), second, False))
    return PersonFacts(
        birth_date=date(1980, 1, 1),
        membership=Membership(
            CommuterClass.DAILY if n % 5 else CommuterClass.WEEKLY,
            Source.AUTO if n % 3 else Source.APPLICATION,
            AS_OF - timedelta(days=rng.randrange(1, 400), hours=22),
        ),
        nats=tuple(nats),
        last_entry_at=AS_OF - timedelta(minutes=rng.randrange(60, 5 * 24 * 60)),
    )


def build_snapshot(ring: KeyRing, commuters: int) -> tuple[bytes, bytes, float]:
    policy = builtin_policies().in_force(AS_OF)
    key = b"k" * 32
    rng = random.Random(7)
    t0 = time.perf_counter()
    people = [
        (pseudonym(key, _id_number(n)), encode_person(synthetic_facts(n, rng), AS_OF, policy, set()))
        for n in range(commuters)
    ]
    assert len({pid for pid, _record in people}) == commuters, "pseudonyms must be distinct"
    signed = encode_snapshot(people, AS_OF, policy.version, [], ring.trust_signer())
    return signed, key, time.perf_counter() - t0


def bench_offline(
    ring: KeyRing, signed: bytes, key: bytes, swipes: int, commuters: int
) -> tuple[float, float, float]:
    catalog = region_catalog()
    t0 = time.perf_counter()
    snapshot = OfflineSnapshot.load(
        signed, key, load_anchor(ring.trust_signer().record.public_key_pem), catalog
    )
    load_s = time.perf_counter() - t0
    assert len(snapshot) == commuters
    policy = builtin_policies().in_force(AS_OF)
    at = AS_OF + timedelta(hours=2)
    # half the swipes are people in the snapshot, half people it does not know
    numbers = [_id_number(n if n % 2 == 0 else commuters + n) for n in range(swipes)]
    t0 = time.perf_counter()
    for number in numbers:
        snapshot.decide(parse_resident_id(number), policy, at, catalog, mode=Mode.ROAD)
    decided = _rate(swipes, time.perf_counter() - t0)
    t0 = time.perf_counter()
    for number in numbers[: swipes // 5]:
        resident = parse_resident_id(number)
        answer = snapshot.decide(resident, policy, at, catalog, mode=Mode.ROAD)
        view(resident.masked, at, "燕郊检查站", Mode.ROAD, answer.outcome, answer.policy, role=Role.OFFICER)
    rendered = _rate(swipes // 5, time.perf_counter() - t0)
    return decided, rendered, load_s


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--codes", type=int, default=3000)
    parser.add_argument("--swipes", type=int, default=50_000)
    parser.add_argument("--commuters", type=int, default=1_000_000)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="commutepass-bench-") as tmp:
        ring = KeyRing(Path(tmp), b"bench")
        verified, answered, longest = bench_codes(ring, args.codes)
        signed, key, build_s = build_snapshot(ring, args.commuters)
        decided, rendered, load_s = bench_offline(ring, signed, key, args.swipes, args.commuters)
    size_mb = len(signed) / 1_000_000
    command = " ".join(["uv run python bench/bench_credentials.py", *sys.argv[1:]])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores (load average {load} at the end: the machine is shared), "
        f"Python {platform.python_version()}"
    )
    publish(
        MARK,
        [
            f"Command: `{command}` — {args.codes} distinct codes (longest {longest} characters), a snapshot of "
            f"{args.commuters:,} synthetic commuters, {args.swipes:,} offline swipes (half of them people the snapshot "
            f"does not hold); {machine}; one process, one core; measured {date.today().isoformat()}.",
            "",
            "| what | measured | target |",
            "|---|---:|---:|",
            f"| QR verifications/s per core: base45 + zlib + COSE_Sign1 ES256 against the trust list + expiry + revocation | {verified:,.0f} | ≥ 2,000 |",
            f"| the same plus the policy applied to the carried status and the answer in both languages | {answered:,.0f} | — |",
            f"| offline ID decisions/s per core: ID check + pseudonym HMAC + facts from the snapshot + the core's `decide_check` | {decided:,.0f} | ≥ 50,000 |",
            f"| the same plus the answer rendered in both languages | {rendered:,.0f} | — |",
            f"| signed snapshot for {args.commuters:,} commuters | {size_mb:,.1f} MB | ≤ 50 MB |",
            f"| building it (encode + sign) / loading it at a checkpoint (verify + inflate + decode) | {build_s:,.1f} s / {load_s:,.1f} s | — |",
        ],
        write_docs=args.write_docs,
    )


if __name__ == "__main__":
    main()
