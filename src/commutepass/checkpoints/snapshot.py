"""The offline snapshot: what an ID-card swipe needs, for a checkpoint cut off from the service.

Per person, keyed by a pseudonymous id (the first 8 bytes of HMAC-SHA256 of the ID number under
the snapshot key, which travels only to checkpoints, beside the snapshot): the commuter-database
entry, the NAT results that can matter (the latest positive, the negative that opens the latest
entry window, the latest-reported negative), the trip-card days in counties a risk period can
reach, and the last entry. Plus the risk periods and the snapshot's as-of time. The checkpoint
rebuilds ``PersonFacts`` and the core's ``decide_check`` decides, as the service would have
at the as-of time. A person's outcomes are kept between the instants at which they can change
(``domain/timeline.py``), so a later swipe in the same interval is a lookup.

Wire form: CBOR → zlib → COSE_Sign1 (ES256) signed by the trust-list key. Times are minutes
before the as-of time (small integers, so the snapshot stays small), cut to the minute.
"""

from __future__ import annotations

import base64
import binascii
import gc
import hmac
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from tomllib import TOMLDecodeError
from typing import Any

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cwt import COSE, COSEKey

from commutepass.credentials.keys import SigningKey, kid_of
from commutepass.domain.clock import local_date
from commutepass.domain.decisions import CheckOutcome, Mode, Reason, decide_check
from commutepass.domain.errors import InputError
from commutepass.domain.facts import (
    Membership,
    NatResult,
    PersonFacts,
    RiskLevel,
    RiskMap,
    RiskPeriod,
    Source,
    Visit,
)
from commutepass.domain.identity import ResidentId
from commutepass.domain.policy import CommuterClass, Decision, Policy, PolicyBook
from commutepass.domain.regions import RegionCatalog
from commutepass.domain.timeline import TICK, Span, Timeline
from commutepass.policies import policy_from_text

SNAPSHOT_VERSION = 1
MAX_SNAPSHOT_BYTES = 200 * 1024 * 1024
"""Cap on the inflated snapshot (1 M commuters take about 30 MB)."""
MAX_TIMELINES = 100_000
"""About 1.8 KB each (bench/bench_credentials.py): some 180 MB at most, a day of a busy checkpoint."""
_CLASSES = list(CommuterClass)
_SOURCES = list(Source)
_LEVELS = list(RiskLevel)
_COSE = COSE.new()


def pseudonym(key: bytes, number: str) -> bytes:
    """The id a checkpoint computes from a swiped ID card: HMAC-SHA256(snapshot key, number)[:8]."""
    return hmac.digest(key, number.encode("ascii"), "sha256")[:8]


def _minutes_before(as_of: datetime, moment: datetime) -> int:
    """Whole minutes, rounded so the moment read back is the moment cut to its minute (as shown)."""
    return -int(-(as_of - moment).total_seconds() // 60)


def _moment(as_of: datetime, minutes: int) -> datetime:
    return as_of - timedelta(minutes=minutes)


def relevant_nats(nats: Iterable[NatResult], policy: Policy) -> list[NatResult]:
    """The at most three results the rules can read at or after the as-of time (see module doc)."""
    negatives = [n for n in nats if not n.positive]
    positives = [n for n in nats if n.positive]
    picked: list[NatResult] = []
    if positives:
        picked.append(max(positives, key=lambda n: n.sampled_at))
    if negatives:
        by_start = "sampled_at" if policy.nat.entry_window_from == "sampled_at" else "reported_at"
        picked.append(max(negatives, key=lambda n: getattr(n, by_start)))
        latest = max(negatives, key=lambda n: n.reported_at)
        if latest not in picked:
            picked.append(latest)
    return picked


def encode_person(facts: PersonFacts, as_of: datetime, policy: Policy, risky_counties: set[str]) -> list[Any]:
    """One person's record: [membership, last entry, NATs (flat), visits (flat)]."""
    member: list[Any] = []
    if facts.membership is not None:
        m = facts.membership
        member = [
            _CLASSES.index(m.commuter_class) * 8 + _SOURCES.index(m.source),
            _minutes_before(as_of, m.valid_from),
        ]
    nats: list[int] = []
    for nat in relevant_nats(facts.nats, policy):
        nats += [
            _minutes_before(as_of, nat.sampled_at),
            _minutes_before(as_of, nat.reported_at),
            int(nat.positive),
        ]
    visits: list[int] = []
    for visit in facts.visits:
        if visit.county in risky_counties:
            visits += [(local_date(as_of) - visit.day).days, int(visit.county)]
    last = _minutes_before(as_of, facts.last_entry_at) if facts.last_entry_at else None
    return [member, last, nats, visits]


def encode_snapshot(
    people: Iterable[tuple[bytes, list[Any]]],
    as_of: datetime,
    policy_version: str,
    risk: Iterable[RiskPeriod],
    signer: SigningKey,
    policies: Sequence[tuple[str, datetime, str]] = (),
    withdrawn: Sequence[str] = (),
) -> bytes:
    """The signed snapshot. ``policies``: every version in the book (version, effective time,
    TOML text), so an offline checkpoint switches at the effective instant without a new
    download; ``withdrawn``: versions taken back (a checkpoint drops them at its next sync)."""
    body = {
        "v": SNAPSHOT_VERSION,
        "as_of": int(as_of.timestamp()),
        "policy": policy_version,
        "policies": [[v, at.timestamp(), text] for v, at, text in policies],
        "withdrawn": list(withdrawn),
        "risk": [
            [p.county, _LEVELS.index(p.level), p.start.toordinal(), p.end.toordinal() if p.end else None]
            for p in risk
        ],
        "people": dict(people),
    }
    pem = signer.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key = COSEKey.from_pem(pem, alg="ES256", kid=signer.kid)
    signed = _COSE.encode_and_sign(zlib.compress(cbor2.dumps(body), 6), key, protected={1: -7, 4: signer.kid})
    assert isinstance(signed, bytes)
    return signed


def _bad(en: str, zh: str) -> InputError:
    return InputError("snapshot", en, zh)


@dataclass(frozen=True, slots=True)
class OfflineAnswer:
    outcome: CheckOutcome
    policy: Policy
    age: timedelta
    usable: bool
    """False: the snapshot is older than the policy allows and was not used."""


@dataclass
class OfflineSnapshot:
    """A verified snapshot and its key, ready to decide swipes."""

    as_of: datetime
    policy_version: str
    key: bytes
    records: Mapping[bytes, Sequence[Any]]
    risk: RiskMap
    policies: PolicyBook | None = None
    """The policy book the snapshot carries (None: a snapshot from before books were carried)."""
    withdrawn: tuple[str, ...] = ()
    local_entries: dict[bytes, datetime] = field(default_factory=dict)
    """Entries the checkpoint itself let through since the snapshot (its own swipes)."""
    max_timelines: int = MAX_TIMELINES
    """At most this many people (or birth dates) keep timelines; beyond, all are dropped."""
    _timelines: dict[bytes | date, dict[tuple[int, Mode, bool], Timeline]] = field(
        default_factory=dict, repr=False
    )
    """Per person (pseudonym, or birth date for people the snapshot does not hold) and per
    (policy, mode, smartphone): the decisions between the instants they can change."""
    _spans: dict[int, Span] = field(default_factory=dict, repr=False)
    """Per policy (by id; the span holds the policy): where the snapshot is usable under it."""
    _catalog: RegionCatalog | None = field(default=None, repr=False)
    _offline_reasons: dict[int, Reason] = field(default_factory=dict, repr=False)

    @classmethod
    def load(
        cls, signed: bytes, key: bytes, anchor: ec.EllipticCurvePublicKey, catalog: RegionCatalog
    ) -> OfflineSnapshot:
        """Verify the signature with the pinned trust-list key, inflate (capped) and index."""
        pem = anchor.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        try:
            payload = _COSE.decode(signed, COSEKey.from_pem(pem, alg="ES256", kid=kid_of(anchor)))
        except Exception:
            raise _bad(
                "does not verify with the pinned trust-list key: changed or from elsewhere",
                "快照签名与固定的信任列表公钥不符：被改动或来源不明",
            ) from None
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(payload, MAX_SNAPSHOT_BYTES)
            if inflater.unconsumed_tail:
                raise _bad("is larger than the cap when inflated", "快照解压后超过上限")
            body = cbor2.loads(raw)
            as_of = datetime.fromtimestamp(int(body["as_of"]), UTC)
            periods = [
                RiskPeriod(
                    str(county),
                    _LEVELS[level],
                    date.fromordinal(start),
                    date.fromordinal(end) if end is not None else None,
                )
                for county, level, start, end in body["risk"]
            ]
            people = body["people"]
            if int(body["v"]) != SNAPSHOT_VERSION or not isinstance(people, dict):
                raise ValueError("unknown snapshot version")
            # tuples of numbers, which the cyclic garbage collector stops tracking (lists it
            # would walk, four a person)
            records: dict[bytes, Sequence[Any]] = {
                pid: (tuple(member), last, tuple(nats), tuple(visits))
                for pid, (member, last, nats, visits) in people.items()
            }
            carried = [
                policy_from_text(str(text), datetime.fromtimestamp(float(at), UTC))
                for _version, at, text in body.get("policies", [])
            ]
            book = PolicyBook(carried) if carried else None
            withdrawn = tuple(str(v) for v in body.get("withdrawn", []))
        except (
            zlib.error,
            cbor2.CBORDecodeError,
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            TOMLDecodeError,
        ) as exc:
            raise _bad(f"is signed but not well formed ({exc})", "快照签名有效但内容格式不正确") from None
        snapshot = cls(
            as_of, str(body["policy"]), key, records, RiskMap.build(periods, catalog), book, withdrawn
        )
        # The records live as long as the snapshot and hold no cycles: out of the cyclic
        # collector's sight, or each full collection reads every one of them (measured: 0.25 s
        # a collection for 1 M people, a third of a swipe's time once timelines accumulate).
        # A snapshot replaced later is still freed, by reference counting.
        gc.freeze()
        return snapshot

    def book(self, fallback: PolicyBook) -> PolicyBook:
        """The book to decide with: the one the snapshot carries, else the checkpoint's own."""
        return self.policies or fallback

    def __len__(self) -> int:
        return len(self.records)

    def facts(self, resident: ResidentId, pid: bytes, policy: Policy) -> PersonFacts:
        """The person's facts as the service would read them at the as-of time (plus this
        checkpoint's own entries since)."""
        record = self.records.get(pid)
        local = self.local_entries.get(pid)
        if record is None:
            return PersonFacts(
                birth_date=resident.birth_date,
                last_entry_at=local,
                entered_under_policy=local is not None and local >= policy.effective_from,
            )
        member_raw, last_raw, nats_raw, visits_raw = record
        as_of = self.as_of
        member = None
        if member_raw:
            packed, since = member_raw
            member = Membership(_CLASSES[packed // 8], _SOURCES[packed % 8], _moment(as_of, since))
        nats = tuple(
            NatResult(_moment(as_of, nats_raw[i]), _moment(as_of, nats_raw[i + 1]), bool(nats_raw[i + 2]))
            for i in range(0, len(nats_raw), 3)
        )
        today = local_date(as_of)
        visits = tuple(
            Visit(today - timedelta(days=visits_raw[i]), f"{visits_raw[i + 1]:06d}")
            for i in range(0, len(visits_raw), 2)
        )
        last = _moment(as_of, last_raw) if last_raw is not None else None
        if local is not None and (last is None or local > last):
            last = local
        return PersonFacts(
            birth_date=resident.birth_date,
            membership=member,
            nats=nats,
            visits=visits,
            last_entry_at=last,
            entered_under_policy=last is not None and last >= policy.effective_from,
        )

    def decide(
        self,
        resident: ResidentId,
        policy: Policy,
        at: datetime,
        catalog: RegionCatalog,
        *,
        mode: Mode,
        smartphone: bool = True,
    ) -> OfflineAnswer:
        """The core's decision from the snapshot; a snapshot older than the policy allows is not
        used: the officer checks the documents by hand.

        The outcome comes from the person's timeline (``domain/timeline.py``): the instants at
        which their decision can change, and ``decide_check``'s outcome between them, decided on
        the first swipe that falls in an interval and kept. People the snapshot does not hold
        (and who did not enter here) share one timeline per birth date. The answer is the one
        ``decide_each_time`` gives, which calls ``decide_check`` on every swipe."""
        age = at - self.as_of
        if catalog is not self._catalog:
            # the outcomes kept were decided with another catalog
            self._catalog = catalog
            self._timelines.clear()
        span = self._spans.get(id(policy))
        if span is None or span.policy is not policy:
            span = self._span(policy)
        if not span.start <= at < span.end:
            return self.decide_each_time(resident, policy, at, catalog, mode=mode, smartphone=smartphone)
        pid = pseudonym(self.key, resident.number)
        owner: bytes | date = pid if pid in self.records or pid in self.local_entries else resident.birth_date
        timelines = self._timelines.get(owner)
        if timelines is None:
            if len(self._timelines) >= self.max_timelines:
                self._timelines.clear()  # a bound on memory: they are rebuilt on the next swipes
            timelines = self._timelines[owner] = {}
        variant = (id(policy), mode, smartphone)
        timeline = timelines.get(variant)
        facts: PersonFacts | None = None
        if timeline is None:
            facts = self.facts(resident, pid, policy)
            timeline = timelines[variant] = Timeline(facts, span)
        i = timeline.find(at)
        outcome = timeline.outcomes[i]
        if outcome is None:
            if facts is None:
                facts = self.facts(resident, pid, policy)
            outcome = timeline.outcomes[i] = decide_check(
                facts, policy, timeline.starts[i], self.risk, catalog, mode=mode, smartphone=smartphone
            )
        return self._answer(outcome, policy, age)

    def decide_each_time(
        self,
        resident: ResidentId,
        policy: Policy,
        at: datetime,
        catalog: RegionCatalog,
        *,
        mode: Mode,
        smartphone: bool = True,
    ) -> OfflineAnswer:
        """``decide`` without timelines: the person's facts and ``decide_check`` on every swipe
        (what ``decide`` is checked against; also its path when the snapshot is not usable)."""
        age = at - self.as_of
        limit = timedelta(hours=policy.offline.snapshot_max_age_hours)
        pid = pseudonym(self.key, resident.number)
        facts = self.facts(resident, pid, policy)
        outcome = decide_check(facts, policy, at, self.risk, catalog, mode=mode, smartphone=smartphone)
        hours = max(int(age.total_seconds() // 3600), 0)
        if age > limit or age < -timedelta(minutes=policy.offline.clock_skew_minutes):
            refused = CheckOutcome(
                Decision.DOCUMENTS,
                outcome.status,
                (
                    Reason.of(
                        "SNAPSHOT_TOO_OLD",
                        as_of=self.as_of,
                        hours=hours,
                        limit=limit.days * 24 + limit.seconds // 3600,
                    ),
                ),
                (
                    Reason.of("CHECK_PAPER_NAT", hours=policy.nat.entry_window_hours),
                    Reason.of("CHECK_GREEN_CODE"),
                ),
            )
            return OfflineAnswer(refused, policy, age, usable=False)
        return self._answer(outcome, policy, age)

    def _answer(self, outcome: CheckOutcome, policy: Policy, age: timedelta) -> OfflineAnswer:
        hours = max(int(age.total_seconds() // 3600), 0)
        offline = self._offline_reasons.get(hours)
        if offline is None:
            offline = self._offline_reasons[hours] = Reason.of(
                "OFFLINE_DECISION", as_of=self.as_of, hours=hours
            )
        return OfflineAnswer(
            CheckOutcome(
                outcome.decision, outcome.status, (offline, *outcome.reasons), outcome.manual_checks
            ),
            policy,
            age,
            usable=True,
        )

    def _span(self, policy: Policy) -> Span:
        """The span in which the snapshot is usable under ``policy`` (``-skew <= age <= limit``),
        kept with the policy (so its id cannot be reused while timelines are keyed by it)."""
        start = self.as_of - timedelta(minutes=policy.offline.clock_skew_minutes)
        end = self.as_of + timedelta(hours=policy.offline.snapshot_max_age_hours) + TICK
        span = self._spans[id(policy)] = Span(policy, start, end)
        return span

    def forget_timelines(self) -> None:
        """Drop every timeline kept (they are rebuilt on the next swipes)."""
        self._timelines.clear()

    def timelines(self) -> int:
        """How many people (or birth dates, for people the snapshot does not hold) have a timeline."""
        return len(self._timelines)

    def entered(self, resident: ResidentId, at: datetime) -> None:
        """The checkpoint let this person in at ``at`` (counts as their last entry from now on)."""
        pid = pseudonym(self.key, resident.number)
        previous = self.local_entries.get(pid)
        if previous is None or at > previous:
            self.local_entries[pid] = at
            # their facts changed: the timeline is rebuilt on the next swipe (they no longer
            # share the timeline of their birth date, if the snapshot does not hold them)
            self._timelines.pop(pid, None)


def decode_b64(value: Any, field: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(field, "is not base64", "不是 base64 编码") from None
