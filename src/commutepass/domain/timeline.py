"""When a person's checkpoint decision can change, and the decision between those instants.

``decide_check`` (without companions or a pledge) reads the moment ``at`` only by comparing it,
or its Beijing calendar date, with instants of the form *a time in the facts plus a duration of
the policy*: a NAT's entry window ends 48 h after its sampling (``at <= until``), a positive
result stops counting ``positive_red_days`` after sampling, the application grace ends
``application_grace_days`` after the entry's start, the badge lapses
``lapse_after_days_without_entry`` after the last entry (``at - last > N days``), a result is
read once reported (``reported_at <= at``); and everything that counts in days (the commuter
NAT window, the risk look-back window, risk periods, age) changes at a Beijing midnight.

So between two consecutive instants of the set built here (every fact time plus every policy
duration, each also one microsecond later so that ``<`` and ``<=`` comparisons both change at a
listed instant, plus every Beijing midnight) the outcome cannot change, and ``decide_check``
called once at an interval's first instant gives the outcome for the whole interval. The rules
stay stated once, in ``decide_check``: this module only says *where* to call it, and the set
is deliberately larger than needed. Property tests (``tests/unit/test_timeline.py``) compare the
two over generated facts and moments, the instants themselves and their neighbours included.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime, timedelta

from commutepass.domain.clock import local_date, local_midnight
from commutepass.domain.decisions import CheckOutcome
from commutepass.domain.facts import PersonFacts
from commutepass.domain.policy import Policy

TICK = timedelta(microseconds=1)
"""The resolution of ``datetime``: ``at <= t`` and ``at < t + TICK`` are the same test."""


def policy_durations(policy: Policy) -> tuple[timedelta, ...]:
    """Every duration the check rules add to a fact's time (zero: the time itself)."""
    return (
        timedelta(0),
        timedelta(hours=policy.nat.entry_window_hours),
        timedelta(days=policy.nat.positive_red_days),
        timedelta(days=policy.commuters.application_grace_days),
        timedelta(days=policy.commuters.lapse_after_days_without_entry),
    )


def fact_times(facts: PersonFacts) -> list[datetime]:
    """Every instant in the facts a rule can compare a moment with."""
    times = [t for nat in facts.nats for t in (nat.sampled_at, nat.reported_at)]
    if facts.membership is not None:
        times.append(facts.membership.valid_from)
    if facts.last_entry_at is not None:
        times.append(facts.last_entry_at)
    times += [t for o in facts.overrides for t in (o.valid_from, o.valid_to)]
    return times


class Span:
    """``[start, end)`` under one policy, with what does not depend on the person: the policy's
    durations and the Beijing midnights inside (computed once, shared by every timeline)."""

    __slots__ = ("durations", "end", "longest", "midnights", "policy", "start")

    def __init__(self, policy: Policy, start: datetime, end: datetime) -> None:
        self.policy = policy
        self.start = start
        self.end = end
        self.durations = policy_durations(policy)
        self.longest = max(self.durations)
        midnights = []
        day = local_date(start)
        while (midnight := local_midnight(day)) < end:
            if midnight > start:
                midnights.append(midnight)
            day += timedelta(days=1)
        self.midnights = tuple(midnights)

    def change_instants(self, facts: PersonFacts) -> list[datetime]:
        """The sorted instants in ``(start, end)`` at which ``decide_check``'s outcome for
        ``facts`` under the span's policy can change (a superset: at some nothing changes)."""
        start, end = self.start, self.end
        earliest = start - self.longest - TICK
        found = set(self.midnights)
        for time in fact_times(facts):
            if time >= end or time <= earliest:
                continue  # no duration brings it inside
            for duration in self.durations:
                instant = time + duration
                if start < instant < end:
                    found.add(instant)
                instant += TICK
                if start < instant < end:
                    found.add(instant)
        return sorted(found)


def change_instants(facts: PersonFacts, policy: Policy, start: datetime, end: datetime) -> list[datetime]:
    """``Span(policy, start, end).change_instants(facts)``."""
    return Span(policy, start, end).change_instants(facts)


class Timeline:
    """One person's outcomes over a span, for one kind of swipe.

    ``starts[i]`` opens the i-th interval (``starts[0]`` is the span's start); an interval's
    outcome is decided on first need, by ``decide_check`` at the interval's first instant (the
    caller's ``decide``), then kept.
    """

    __slots__ = ("end", "outcomes", "starts")

    def __init__(self, facts: PersonFacts, span: Span) -> None:
        self.starts = [span.start, *span.change_instants(facts)]
        self.end = span.end
        self.outcomes: list[CheckOutcome | None] = [None] * len(self.starts)

    def find(self, at: datetime) -> int:
        """The interval holding ``at``: its index, or -1 outside the span."""
        if at >= self.end or at < self.starts[0]:
            return -1
        return bisect_right(self.starts, at) - 1

    def outcome(self, at: datetime, decide: Callable[[datetime], CheckOutcome]) -> CheckOutcome | None:
        """The outcome at ``at`` (None: outside the span, decide it directly)."""
        i = self.find(at)
        if i < 0:
            return None
        found = self.outcomes[i]
        if found is None:
            found = self.outcomes[i] = decide(self.starts[i])
        return found

    def fill(self, decide: Callable[[datetime], CheckOutcome]) -> None:
        """Decide every interval now (a timeline computed ahead rather than on first swipe)."""
        for i, start in enumerate(self.starts):
            if self.outcomes[i] is None:
                self.outcomes[i] = decide(start)
