"""Queue length and waiting time at an entry channel, from arrival and service rates.

The model is M/M/c (Poisson arrivals, exponential service, ``c`` lanes serving one queue, first
come first served) with the Erlang C formula for the probability that an arrival waits::

    a = λ/μ (offered load),  ρ = a/c (utilisation, must be < 1)
    C(c, a) = (a^c/c! · 1/(1-ρ)) / (Σ_{k<c} a^k/k! + a^c/c! · 1/(1-ρ))
    Wq = C(c, a) / (cμ − λ),   Lq = λ·Wq

A stationary model says nothing when arrivals exceed capacity (ρ ≥ 1: the queue grows without
bound) and forgets a backlog that builds during a rush. So the estimate also carries a fluid
backlog, minute by minute: ``B ← max(0, B + arrivals − cμ)``; the wait reported is the larger of
the Erlang C wait and the time to clear the backlog (``B / cμ``). Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def erlang_c(servers: int, offered: float) -> float:
    """The probability that an arrival has to wait (Erlang C), for ``servers`` lanes and an
    offered load ``offered`` = λ/μ. 1.0 when the load reaches the capacity."""
    if servers < 1:
        raise ValueError("servers must be at least 1")
    if offered <= 0:
        return 0.0
    if offered >= servers:
        return 1.0
    # Erlang B by its stable recursion, then C from B
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    rho = offered / servers
    return b / (1 - rho + rho * b)


@dataclass(frozen=True)
class Estimate:
    """What a channel looks like now: rates per minute, queue in people, wait in minutes."""

    arrival_rate: float
    capacity: float
    """cμ: how many people the open lanes clear per minute."""
    utilisation: float
    queue: float
    wait_minutes: float


def mmc(arrival_rate: float, service_rate: float, servers: int) -> Estimate:
    """The stationary M/M/c estimate (rates per minute). Infinite queue and wait at ρ ≥ 1."""
    if service_rate <= 0:
        raise ValueError("service_rate must be positive")
    capacity = servers * service_rate
    rho = arrival_rate / capacity
    if arrival_rate <= 0:
        return Estimate(0.0, capacity, 0.0, 0.0, 0.0)
    if rho >= 1:
        return Estimate(arrival_rate, capacity, rho, math.inf, math.inf)
    wait = erlang_c(servers, arrival_rate / service_rate) / (capacity - arrival_rate)
    return Estimate(arrival_rate, capacity, rho, arrival_rate * wait, wait)


def fluid_backlog(
    arrivals_per_minute: Sequence[int], capacity: float, start: float = 0.0, *, elapsed: float = 1.0
) -> list[float]:
    """The backlog after each minute: what arrived and could not be served yet. ``elapsed``: the
    share of the last minute that has passed (the current minute is served only that long)."""
    backlog = start
    out: list[float] = []
    last = len(arrivals_per_minute) - 1
    for i, arrived in enumerate(arrivals_per_minute):
        backlog = max(0.0, backlog + arrived - capacity * (elapsed if i == last else 1.0))
        out.append(backlog)
    return out


def estimate(
    arrivals_per_minute: Sequence[int],
    service_rate: float,
    servers: int,
    *,
    window: int = 5,
    elapsed: float = 1.0,
) -> Estimate:
    """The estimate at the end of a run of minutes (oldest first): λ from the last ``window``
    minutes, the queue the larger of the Erlang C queue and the fluid backlog of the whole run
    (so a rush's backlog is still there while it clears). ``elapsed``: the share of the last
    (current) minute that has passed."""
    recent = arrivals_per_minute[-window:] if arrivals_per_minute else []
    rate = sum(recent) / max(window - 1 + elapsed, 1.0)
    stationary = mmc(rate, service_rate, servers)
    capacity = stationary.capacity
    backlog = (
        fluid_backlog(arrivals_per_minute, capacity, elapsed=elapsed)[-1] if arrivals_per_minute else 0.0
    )
    if math.isinf(stationary.wait_minutes):
        # overloaded: the queue is what has piled up (at least one minute's excess)
        queue = max(backlog, rate - capacity)
        return Estimate(rate, capacity, stationary.utilisation, queue, queue / capacity)
    queue = max(stationary.queue, backlog)
    wait = max(stationary.wait_minutes, backlog / capacity)
    return Estimate(rate, capacity, stationary.utilisation, queue, wait)
