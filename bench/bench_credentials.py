"""Benchmark: signed-code verifications and offline ID decisions per second per core, snapshot size.

    uv run python bench/bench_credentials.py [--codes 3000] [--swipes 50000] [--commuters 1000000]
        [--rounds 3] [--eager 20000] [--profile] [--write-docs]

All in one process (one core), on synthetic data made here:
  1. QR verification: ``Verifier.verify`` (base45, zlib, COSE_Sign1 ES256 signature against the
     trust list, expiry, revocation) of distinct codes; then the whole answer (plus the policy
     applied to the carried status and the reasons rendered in both languages).
  2. Offline ID decisions: a snapshot of ``--commuters`` people is encoded, signed, loaded and
     verified as a checkpoint does; then swipes of ID numbers (half in the snapshot) are decided
     from it, in ``--rounds`` alternating rounds, by the former path (``decide_each_time``:
     stdnum's ID validation, pseudonym HMAC, facts, the core's ``decide_check`` on every swipe)
     and by the timelines (``decide``: the cheap ID read, HMAC, the person's timeline, built and
     decided on the first swipe in an interval); first swipes (no timeline kept), then the same
     people an hour later. Every answer of the timelines is compared with the former path's (in
     untimed passes that keep the answers; timed passes keep none, as a checkpoint keeps none).
     Then the memory a kept timeline takes, the cost of deciding every interval ahead for a
     sample of ``--eager`` people, and the answer rendered.
  3. The signed snapshot's size for ``--commuters`` commuters.
With --write-docs the table replaces the section between the markers in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from stdnum.cn import ric

from commutepass.checkpoints.snapshot import (
    OfflineAnswer,
    OfflineSnapshot,
    encode_person,
    encode_snapshot,
    pseudonym,
)
from commutepass.checks.service import view
from commutepass.credentials.codes import Verifier, encode_code
from commutepass.credentials.keys import KeyRing
from commutepass.credentials.service import verify
from commutepass.credentials.trust import RevocationList, TrustList, load_anchor
from commutepass.domain.carried import CarriedStatus
from commutepass.domain.decisions import Mode, decide_check
from commutepass.domain.facts import Membership, NatResult, PersonFacts, Source
from commutepass.domain.identity import parse_resident_id, swiped_resident
from commutepass.domain.policy import Color, CommuterClass, Policy
from commutepass.domain.regions import RegionCatalog, region_catalog
from commutepass.domain.roles import Role
from commutepass.domain.timeline import TICK, Span, Timeline
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


def med(values: list[float]) -> float:
    return statistics.median(values)


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


@dataclass
class Offline:
    """The offline figures: swipes/s of the former path (``decide_each_time``: facts and
    ``decide_check`` on every swipe, stdnum's ID check) and of the timelines (``decide``) on
    first swipes and on swipes of people already seen, per round; outputs compared."""

    load_s: float = 0.0
    direct: list[float] = field(default_factory=list)
    first: list[float] = field(default_factory=list)
    again: list[float] = field(default_factory=list)
    rendered: float = 0.0
    compared: int = 0
    timelines: int = 0
    timeline_bytes: float = 0.0
    eager_people: int = 0
    eager_s: float = 0.0
    eager_bytes: float = 0.0
    eager_intervals: float = 0.0


def _pass(
    snapshot: OfflineSnapshot,
    numbers: list[str],
    at: datetime,
    catalog: RegionCatalog,
    policy: Policy,
    *,
    direct: bool,
    keep: bool = False,
) -> tuple[float, list[OfflineAnswer]]:
    """One pass over the swipes: (swipes/s, the answers if ``keep``). Timed passes keep none,
    as a checkpoint keeps none: holding 50,000 answers makes the cyclic garbage collector walk
    them, which is the benchmark's cost, not the checkpoint's."""
    answers: list[OfflineAnswer] = []
    add = answers.append if keep else _drop
    decide = snapshot.decide_each_time if direct else snapshot.decide
    read = parse_resident_id if direct else swiped_resident
    t0 = time.perf_counter()
    for number in numbers:
        add(decide(read(number), policy, at, catalog, mode=Mode.ROAD))
    return _rate(len(numbers), time.perf_counter() - t0), answers


def _drop(_answer: OfflineAnswer) -> None:
    return None


def _same(got: list[OfflineAnswer], want: list[OfflineAnswer]) -> int:
    assert len(got) == len(want)
    for n, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, f"swipe {n}: the timeline's answer differs from decide_check's"
    return len(got)


def bench_offline(
    ring: KeyRing,
    signed: bytes,
    key: bytes,
    swipes: int,
    commuters: int,
    rounds: int,
    eager: int,
    profile: bool = False,
) -> Offline:
    catalog = region_catalog()
    result = Offline()
    t0 = time.perf_counter()
    snapshot = OfflineSnapshot.load(
        signed, key, load_anchor(ring.trust_signer().record.public_key_pem), catalog
    )
    result.load_s = time.perf_counter() - t0
    assert len(snapshot) == commuters
    policy = builtin_policies().in_force(AS_OF)
    first_at, again_at = AS_OF + timedelta(hours=2), AS_OF + timedelta(hours=3)
    # half the swipes are people in the snapshot, half people it does not know, these with birth
    # dates spread over 44 years (they share a timeline per birth date, as strangers' do)
    numbers = [_id_number(n if n % 2 == 0 else commuters + n * 1009) for n in range(swipes)]
    # every answer of the timelines compared with the former path's, untimed: first swipes (no
    # timeline kept), then the same people an hour later
    for moment, fresh in ((first_at, True), (again_at, False)):
        want = _pass(snapshot, numbers, moment, catalog, policy, direct=True, keep=True)[1]
        if fresh:
            snapshot.forget_timelines()
        got = _pass(snapshot, numbers, moment, catalog, policy, direct=False, keep=True)[1]
        result.compared += _same(got, want)
    del got, want
    # timed rounds alternate the two paths, so that the machine's load falls on both alike: the
    # former path, the timelines on first swipes (none kept), the former path an hour later,
    # the timelines an hour later (the same people again)
    for _round in range(rounds):
        result.direct.append(_pass(snapshot, numbers, first_at, catalog, policy, direct=True)[0])
        snapshot.forget_timelines()
        result.first.append(_pass(snapshot, numbers, first_at, catalog, policy, direct=False)[0])
        result.direct.append(_pass(snapshot, numbers, again_at, catalog, policy, direct=True)[0])
        result.again.append(_pass(snapshot, numbers, again_at, catalog, policy, direct=False)[0])
    if profile:
        # where a swipe's time goes, first swipes then the same people again (to stderr)
        for label, moment in (("first swipes", first_at), ("the same people an hour later", again_at)):
            if moment is first_at:
                snapshot.forget_timelines()
            profiler = cProfile.Profile()
            profiler.runcall(_pass, snapshot, numbers, moment, catalog, policy, direct=False)
            print(f"--- profile of the timelines, {label}", file=sys.stderr)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    # what the timelines kept take: traced while the first swipes build them again
    snapshot.forget_timelines()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    _pass(snapshot, numbers, first_at, catalog, policy, direct=False)
    result.timelines = snapshot.timelines()
    result.timeline_bytes = (tracemalloc.get_traced_memory()[0] - before) / max(result.timelines, 1)
    tracemalloc.stop()
    # every interval of every timeline decided ahead (the road, with a smartphone), for a sample
    # of the people the snapshot holds: what deciding them all at load would cost
    sample = [parse_resident_id(_id_number(n)) for n in range(0, 2 * eager, 2)]
    end = AS_OF + timedelta(hours=policy.offline.snapshot_max_age_hours) + TICK
    start = AS_OF - timedelta(minutes=policy.offline.clock_skew_minutes)
    span = Span(policy, start, end)

    def decide_ahead() -> list[Timeline]:
        kept = []
        for resident in sample:
            facts = snapshot.facts(resident, pseudonym(key, resident.number), policy)
            timeline = Timeline(facts, span)
            timeline.fill(
                lambda moment, facts=facts: decide_check(
                    facts, policy, moment, snapshot.risk, catalog, mode=Mode.ROAD
                )
            )
            kept.append(timeline)
        return kept

    t0 = time.perf_counter()
    kept = decide_ahead()
    result.eager_s = time.perf_counter() - t0
    # and what they take, traced apart (tracing slows the deciding down several times)
    del kept
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = decide_ahead()
    result.eager_bytes = (tracemalloc.get_traced_memory()[0] - before) / max(eager, 1)
    tracemalloc.stop()
    result.eager_people = eager
    result.eager_intervals = sum(len(t.starts) for t in kept) / max(eager, 1)
    del kept
    t0 = time.perf_counter()
    for number in numbers[: swipes // 5]:
        resident = swiped_resident(number)
        answer = snapshot.decide(resident, policy, first_at, catalog, mode=Mode.ROAD)
        view(
            resident.masked,
            first_at,
            "燕郊检查站",
            Mode.ROAD,
            answer.outcome,
            answer.policy,
            role=Role.OFFICER,
        )
    result.rendered = _rate(swipes // 5, time.perf_counter() - t0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--codes", type=int, default=3000)
    parser.add_argument("--swipes", type=int, default=50_000)
    parser.add_argument("--commuters", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the offline paths, alternated")
    parser.add_argument(
        "--eager", type=int, default=20_000, help="people whose whole timelines are decided ahead (sample)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the timelines' passes (stderr)")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="commutepass-bench-") as tmp:
        ring = KeyRing(Path(tmp), b"bench")
        verified, answered, longest = bench_codes(ring, args.codes)
        signed, key, build_s = build_snapshot(ring, args.commuters)
        offline = bench_offline(
            ring, signed, key, args.swipes, args.commuters, args.rounds, args.eager, args.profile
        )
    size_mb = len(signed) / 1_000_000
    o = offline
    first_ratio = [f / d for f, d in zip(o.first, o.direct[0::2], strict=True)]
    again_ratio = [a / d for a, d in zip(o.again, o.direct[1::2], strict=True)]
    print(
        "rounds (swipes/s): former",
        [round(x) for x in o.direct],
        "first",
        [round(x) for x in o.first],
        "again",
        [round(x) for x in o.again],
        file=sys.stderr,
    )
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
            f"| offline ID decisions/s per core, the former path: stdnum ID check + pseudonym HMAC + facts from the snapshot + the core's `decide_check` on every swipe | {med(o.direct):,.0f} | — |",
            f"| offline ID decisions/s per core from the timelines, first swipes (no timeline kept yet): ID check + HMAC + the person's change instants + `decide_check` once for the interval | {med(o.first):,.0f} ({med(first_ratio):.2f}×) | ≥ 50,000 |",
            f"| offline ID decisions/s per core from the timelines, the same people an hour later: ID check + HMAC + lookup + bisect | {med(o.again):,.0f} ({med(again_ratio):.2f}×) | ≥ 50,000 |",
            f"| answers compared swipe by swipe, timelines against the former path (decision, status, reasons with their values, manual checks) | {o.compared:,} identical | all |",
            f"| the same plus the answer rendered in both languages (timelines, first swipes) | {o.rendered:,.0f} | — |",
            f"| kept per timeline after the first swipes ({o.timelines:,} people or birth dates) | {o.timeline_bytes / 1024:,.1f} KB | — |",
            f"| every interval decided ahead (road, smartphone), sample of {o.eager_people:,} snapshot people: {o.eager_intervals:.1f} intervals a person | {o.eager_s / o.eager_people * 1e6:,.0f} µs and {o.eager_bytes / 1024:,.1f} KB a person; for {args.commuters:,}: {o.eager_s / o.eager_people * args.commuters:,.0f} s and {o.eager_bytes * args.commuters / 1e9:,.1f} GB (extrapolated) | — |",
            f"| signed snapshot for {args.commuters:,} commuters | {size_mb:,.1f} MB | ≤ 50 MB |",
            f"| building it (encode + sign) / loading it at a checkpoint (verify + inflate + decode) | {build_s:,.1f} s / {o.load_s:,.1f} s | — |",
        ],
        write_docs=args.write_docs,
    )


if __name__ == "__main__":
    main()
