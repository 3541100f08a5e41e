"""Timelines give exactly ``decide_check``'s outcome: property tests over generated facts and moments.

A timeline decides once per interval between the instants at which a decision can change; these
tests compare it with ``decide_check`` called at the moment itself — decision, status, reasons
(codes and values) and manual checks — at random moments and at every listed instant and its
neighbours one microsecond either side, where a missing instant would show first. The snapshot's
cached path is compared with its direct path the same way, swipe by swipe, with entries made at
the checkpoint in between.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from commutepass.checkpoints.snapshot import OfflineSnapshot, encode_person, pseudonym
from commutepass.domain.clock import local_date
from commutepass.domain.decisions import CheckOutcome, Mode, decide_check
from commutepass.domain.errors import InputError
from commutepass.domain.facts import Membership, NatResult, Override, PersonFacts, RiskMap, Source, Visit
from commutepass.domain.identity import parse_resident_id, swiped_resident
from commutepass.domain.policy import CommuterClass, Policy
from commutepass.domain.regions import region_catalog
from commutepass.domain.timeline import TICK, Span, Timeline, change_instants
from commutepass.policies import builtin_policies

from .conftest import risk_map

BOOK = builtin_policies()
P2021 = BOOK.by_version("2021-11-17")
P2020 = BOOK.by_version("2020-02-14")
# the same rules with other windows, so that more of them begin and end inside a timeline
P_SHORT = P2021.model_copy(
    update={
        "nat": P2021.nat.model_copy(
            update={"entry_window_from": "reported_at", "entry_window_hours": 20, "positive_red_days": 5}
        ),
        "commuters": P2021.commuters.model_copy(
            update={"application_grace_days": 2, "lapse_after_days_without_entry": 3}
        ),
    }
)
POLICIES = [P2021, P2020, P_SHORT]
CATALOG = region_catalog()
AS_OF = datetime(2021, 11, 28, 22, 0, tzinfo=UTC)  # 2021-11-29 06:00 in Beijing
RISK = risk_map(
    CATALOG,
    ("131028", "case", "2021-11-10", None),
    ("130802", "case", "2021-11-29", "2021-11-30"),  # begins and ends inside the span
    ("120116", "case", "2021-11-01", "2021-11-20"),  # ends as a recent trip leaves the window
    ("131082", "border_port", "2021-11-30", None),
    ("152501", "border_port", "2020-01-01", None),
)
COUNTIES = ["131028", "131082", "131024", "130802", "130803", "120116", "120114", "152501", "110105"]

# times to the microsecond, from 40 days before the snapshot to 3 days after, most of them one of
# the policies' durations before the snapshot (give or take 3 days): so that the windows they
# open end inside the timelines tested
DAY_US = 86_400_000_000
instants = st.builds(
    lambda before, us: AS_OF - before + timedelta(microseconds=us),
    st.sampled_from(
        [timedelta(hours=h) for h in (0, 20, 48)] + [timedelta(days=d) for d in (2, 3, 5, 14, 30)]
    ),
    st.integers(-3 * DAY_US, 3 * DAY_US),
) | st.builds(lambda us: AS_OF + timedelta(microseconds=us), st.integers(-40 * DAY_US, 3 * DAY_US))
minutes = st.builds(lambda m: AS_OF - timedelta(minutes=m), st.integers(-3 * 1440, 40 * 1440))


@st.composite
def nats(draw: st.DrawFn, times: st.SearchStrategy[datetime]) -> NatResult:
    sampled = draw(times)
    reported = sampled + timedelta(minutes=draw(st.integers(0, 60 * 48)))
    return NatResult(sampled, reported, draw(st.integers(0, 7)) == 0)


@st.composite
def person_facts(draw: st.DrawFn, times: st.SearchStrategy[datetime] = instants) -> PersonFacts:
    today = local_date(AS_OF)
    # ages around the infant, child and elderly limits, birthdays around the snapshot
    years = draw(st.sampled_from([0, 1, 2, 3, 6, 7, 30, 59, 60, 61, 70]))
    birth = today.replace(year=today.year - years) + timedelta(days=draw(st.integers(-3, 3)))
    membership = None
    if draw(st.booleans()):
        membership = Membership(
            draw(st.sampled_from(CommuterClass)), draw(st.sampled_from(Source)), draw(times)
        )
    visits = tuple(
        Visit(today - timedelta(days=draw(st.integers(-1, 16))), draw(st.sampled_from(COUNTIES)))
        for _ in range(draw(st.integers(0, 4)))
    )
    overrides: tuple[Override, ...] = ()
    if draw(st.integers(0, 5)) == 0:
        start = draw(times)
        overrides = (
            Override(
                draw(st.sampled_from(["color", "popup", "badge"])),
                start,
                start + timedelta(minutes=draw(st.integers(1, 5 * 1440))),
                "upheld",
            ),
        )
    return PersonFacts(
        birth_date=birth,
        membership=membership,
        nats=tuple(draw(st.lists(nats(times), max_size=5))),
        visits=visits,
        last_entry_at=draw(times) if draw(st.booleans()) else None,
        entered_under_policy=draw(st.booleans()),
        overrides=overrides,
    )


def _decider(facts: PersonFacts, policy: Policy, risk: RiskMap, mode: Mode, smartphone: bool):  # type: ignore[no-untyped-def]
    def decide(at: datetime) -> CheckOutcome:
        return decide_check(facts, policy, at, risk, CATALOG, mode=mode, smartphone=smartphone)

    return decide


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def ending_inside(start: datetime, end: datetime) -> st.SearchStrategy[datetime]:
    """Times one of the policies' durations before a moment of ``[start, end)``: whatever
    window they open, some end inside the span (where a missing instant would show)."""
    span_us = max(int((end - start) / TICK), 1)
    return st.builds(
        lambda before, us: start - before + timedelta(microseconds=us),
        st.sampled_from(DURATIONS),
        st.integers(0, span_us - 1),
    )


DURATIONS = [timedelta(hours=h) for h in (0, 20, 48)] + [timedelta(days=d) for d in (2, 3, 5, 14, 30)]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    policy=st.sampled_from(POLICIES),
    mode=st.sampled_from(Mode),
    smartphone=st.booleans(),
    start_us=st.integers(-2 * DAY_US, DAY_US),
    span_us=st.integers(1, 3 * DAY_US),
    risky=st.booleans(),
    moments=st.lists(st.floats(0, 1, exclude_max=True), max_size=8),
)
def test_a_timeline_gives_decide_checks_outcome_at_every_moment(
    data: st.DataObject,
    policy: Policy,
    mode: Mode,
    smartphone: bool,
    start_us: int,
    span_us: int,
    risky: bool,
    moments: list[float],
) -> None:
    risk = RISK if risky else RiskMap()
    start = AS_OF + timedelta(microseconds=start_us)
    end = start + timedelta(microseconds=span_us)
    facts = data.draw(person_facts(ending_inside(start, end) | instants))
    decide = _decider(facts, policy, risk, mode, smartphone)
    timeline = Timeline(facts, Span(policy, start, end))
    probes = [start + timedelta(microseconds=int(f * span_us)) for f in moments]
    # every listed instant and its neighbours: where a missing or misplaced instant shows
    probes += [m for s in timeline.starts for m in (s - TICK, s, s + TICK) if start <= m < end]
    probes.append(end - TICK)
    for at in probes:
        assert timeline.outcome(at, decide) == decide(at), at
    assert timeline.outcome(end, decide) is None
    assert timeline.outcome(start - TICK, decide) is None


@SETTINGS
@given(facts=person_facts(), policy=st.sampled_from(POLICIES))
def test_the_instants_include_every_fact_time_and_every_midnight(facts: PersonFacts, policy: Policy) -> None:
    start, end = AS_OF - timedelta(days=40), AS_OF + timedelta(days=3)
    found = set(change_instants(facts, policy, start, end))
    for nat in facts.nats:
        if start < nat.reported_at < end:
            assert nat.reported_at in found
        window = nat.sampled_at + timedelta(hours=policy.nat.entry_window_hours)
        if start < window + TICK < end:
            assert window + TICK in found  # "at <= until" turns false one microsecond after
    # Beijing midnights: where the day-counted rules (age, risk look-back, commuter NAT) move
    assert datetime(2021, 11, 28, 16, 0, tzinfo=UTC) in found
    assert datetime(2021, 11, 29, 16, 0, tzinfo=UTC) in found


# moments of swipes after the snapshot: the ends of the span it is usable in (24 h after, 5
# minutes before, with the policies here) and either side of them, or any second in 26 hours
afters = st.sampled_from(
    [timedelta(hours=24), timedelta(hours=24) + TICK, timedelta(minutes=-5), timedelta(minutes=-5) - TICK]
) | st.builds(lambda s: timedelta(seconds=s), st.integers(-600, 26 * 3600))


@st.composite
def swipes(draw: st.DrawFn) -> list[tuple[int, timedelta, Mode, bool, bool]]:
    """(person, time after the snapshot, mode, smartphone, let in) for up to 20 swipes."""
    return draw(
        st.lists(
            st.tuples(st.integers(0, 5), afters, st.sampled_from(Mode), st.booleans(), st.booleans()),
            max_size=20,
        )
    )


def _number(n: int, birth: date) -> str:
    body = f"131082{birth:%Y%m%d}{n:03d}"
    return body + ric.calc_check_digit(body + "0")


FIRST_CHECK = PersonFacts(
    birth_date=date(1988, 5, 5),
    membership=Membership(CommuterClass.DAILY, Source.APPLICATION, AS_OF - timedelta(days=1)),
    nats=(NatResult(AS_OF - timedelta(hours=20), AS_OF - timedelta(hours=12), False),),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(person_facts(minutes), min_size=5, max_size=5),
    held=st.lists(st.booleans(), min_size=5, max_size=5),
    policy=st.sampled_from(POLICIES),
    plan=swipes(),
)
@example(  # the commuter's first check, then their next swipe in the same interval
    people=[FIRST_CHECK] * 5,
    held=[False] * 5,
    policy=P2021,
    plan=[(5, timedelta(hours=1), Mode.ROAD, True, True), (5, timedelta(hours=2), Mode.ROAD, True, False)],
)
def test_the_snapshots_timelines_give_its_direct_decisions_swipe_by_swipe(
    people: list[PersonFacts],
    held: list[bool],
    policy: Policy,
    plan: list[tuple[int, timedelta, Mode, bool, bool]],
) -> None:
    """People the snapshot holds and people it does not (two of them share a birth date, so a
    timeline is shared), swiped at moments in and out of the usable span, some let in."""
    key = b"k" * 32
    # and a commuter yet to make their first check under the policy, with a valid NAT: letting
    # them in changes their next decision (their timeline must not outlive their entry)
    people = [*people, FIRST_CHECK]
    held = [*held, True]
    births = [p.birth_date for p in people]
    births[1] = births[0]
    numbers = [_number(n, b) for n, b in enumerate(births)]
    records = {
        pseudonym(key, numbers[n]): encode_person(p, AS_OF, policy, set(RISK.unit_of))
        for n, p in enumerate(people)
        if held[n]
    }
    cached = OfflineSnapshot(AS_OF, policy.version, key, records, RISK)
    direct = OfflineSnapshot(AS_OF, policy.version, key, records, RISK)
    for n, after, mode, smartphone, let_in in plan:
        resident = parse_resident_id(numbers[n])
        at = AS_OF + after
        got = cached.decide(resident, policy, at, CATALOG, mode=mode, smartphone=smartphone)
        want = direct.decide_each_time(resident, policy, at, CATALOG, mode=mode, smartphone=smartphone)
        assert got == want
        if let_in:
            cached.entered(resident, at)
            direct.entered(resident, at)


def test_people_the_snapshot_does_not_hold_share_a_timeline_per_birth_date() -> None:
    key = b"k" * 32
    snapshot = OfflineSnapshot(AS_OF, P2021.version, key, {}, RISK)
    birth = date(1985, 6, 1)
    for n in range(5):
        snapshot.decide(parse_resident_id(_number(n, birth)), P2021, AS_OF, CATALOG, mode=Mode.ROAD)
    assert snapshot.timelines() == 1
    first = parse_resident_id(_number(0, birth))
    snapshot.entered(first, AS_OF)
    snapshot.decide(first, P2021, AS_OF + timedelta(hours=1), CATALOG, mode=Mode.ROAD)
    assert snapshot.timelines() == 2  # their own entry makes their facts their own


def test_timelines_kept_are_bounded_and_answers_stay_the_same() -> None:
    key = b"k" * 32
    snapshot = OfflineSnapshot(AS_OF, P2021.version, key, {}, RISK, max_timelines=2)
    direct = OfflineSnapshot(AS_OF, P2021.version, key, {}, RISK)
    for n in range(5):
        resident = parse_resident_id(_number(n, date(1985, 6, 1) + timedelta(days=n)))
        got = snapshot.decide(resident, P2021, AS_OF, CATALOG, mode=Mode.ROAD)
        assert got == direct.decide_each_time(resident, P2021, AS_OF, CATALOG, mode=Mode.ROAD)
        assert 1 <= snapshot.timelines() <= 2


VALID = [_number(n, date(1990, 3, 7)) for n in range(3)] + ["11010519491231002X"]
noise = st.text(alphabet="0123456789Xx -\t١²", max_size=22)


@st.composite
def typed_numbers(draw: st.DrawFn) -> str:
    """What a reader or an officer might give: valid numbers, typos, separators, noise."""
    number = draw(st.sampled_from(VALID))
    change = draw(st.integers(0, 5))
    if change == 0:
        return number
    if change == 1:
        i = draw(st.integers(0, 17))
        return number[:i] + draw(st.sampled_from("0123456789Xx")) + number[i + 1 :]
    if change == 2:
        i = draw(st.integers(0, 18))
        return number[:i] + draw(st.sampled_from([" ", "-", "\t"])) + number[i:]
    if change == 3:
        return number.lower()
    if change == 4:  # a birth date that does not exist, or one in the future, or another region
        part = draw(st.sampled_from(["19900230", "20991231", "19900007", "19001301"]))
        region = draw(st.sampled_from(["131082", "999999", "110105"]))
        body = region + part + number[14:17]
        return body + ric.calc_check_digit(body + "0")
    return draw(noise)


def _read(read, text: str):  # type: ignore[no-untyped-def]
    try:
        return read(text)
    except InputError as exc:
        return ("error", exc.field, exc.en, exc.zh)
    except ValueError as exc:  # whatever parse_resident_id does with it, the swipe does the same
        return (type(exc).__name__, str(exc))


@settings(max_examples=400, deadline=None)
@given(typed_numbers())
def test_a_swiped_number_reads_as_parse_resident_id_reads_it(text: str) -> None:
    assert _read(swiped_resident, text) == _read(parse_resident_id, text)
    # a companion's number: the error names the field it came in
    assert _read(lambda t: swiped_resident(t, "companions"), text) == _read(
        lambda t: parse_resident_id(t, "companions"), text
    )
