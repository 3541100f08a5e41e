"""The queue model (M/M/c, Erlang C) against textbook values and against a simulated queue."""

from __future__ import annotations

import heapq
import math
import random

import pytest

from commutepass.domain.queueing import erlang_c, estimate, fluid_backlog, mmc


def simulate_mmc(
    arrival_rate: float, service_rate: float, servers: int, customers: int, seed: int = 1
) -> tuple[float, float]:
    """A discrete-event simulation of an M/M/c queue: mean wait in queue and the share of
    arrivals that waited. Each arrival takes the lane that frees first (first come, first served)."""
    rng = random.Random(seed)
    free_at = [0.0] * servers
    clock = 0.0
    total_wait = 0.0
    waited = 0
    warmup = customers // 10
    for i in range(customers + warmup):
        clock += rng.expovariate(arrival_rate)
        earliest = heapq.heappop(free_at)
        start = max(clock, earliest)
        heapq.heappush(free_at, start + rng.expovariate(service_rate))
        if i >= warmup:
            total_wait += start - clock
            waited += start > clock
    return total_wait / customers, waited / customers


def test_erlang_c_matches_textbook_values() -> None:
    # M/M/1: P(wait) = ρ
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    # c = 2, a = 1: C = 1/3 (closed form a²/(a² + 2·(1+a)·(1-ρ)·... ) = 1/3)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # a classic call-centre table value: 10 agents, 8 Erlangs → 0.409
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=1e-3)
    assert erlang_c(3, 3.0) == 1.0
    assert erlang_c(3, 0.0) == 0.0


def test_mm1_wait_is_rho_over_mu_minus_lambda() -> None:
    got = mmc(0.8, 1.0, 1)
    assert got.wait_minutes == pytest.approx(0.8 / (1.0 - 0.8))
    assert got.queue == pytest.approx(0.8**2 / (1 - 0.8))


def test_overloaded_queue_is_infinite_in_the_stationary_model() -> None:
    assert math.isinf(mmc(5.0, 1.0, 4).wait_minutes)


@pytest.mark.parametrize(
    ("arrival_rate", "service_rate", "servers"),
    [(0.8, 1.0, 1), (3.0, 1.0, 4), (9.0, 2.0, 6)],
)
def test_erlang_c_agrees_with_a_simulated_queue(
    arrival_rate: float, service_rate: float, servers: int
) -> None:
    simulated_wait, simulated_share = simulate_mmc(arrival_rate, service_rate, servers, 200_000, seed=7)
    model = mmc(arrival_rate, service_rate, servers)
    assert simulated_wait == pytest.approx(model.wait_minutes, rel=0.08)
    assert simulated_share == pytest.approx(erlang_c(servers, arrival_rate / service_rate), rel=0.05)


def test_fluid_backlog_builds_in_a_rush_and_drains() -> None:
    assert fluid_backlog([10, 10, 10, 0, 0], capacity=6) == [4, 8, 12, 6, 0]


def test_estimate_keeps_the_rush_backlog_while_it_clears() -> None:
    rush = [20] * 10 + [2] * 5  # 4 lanes × 1/min: capacity 4
    got = estimate(rush, 1.0, 4)
    assert got.arrival_rate == pytest.approx(2.0)
    assert got.queue == pytest.approx(160 - 10)  # 16 over capacity for 10 minutes, 2 cleared × 5
    assert got.wait_minutes == pytest.approx(150 / 4)
    quiet = estimate([1] * 15, 1.0, 4)
    assert quiet.wait_minutes == pytest.approx(mmc(1.0, 1.0, 4).wait_minutes)
    overloaded = estimate([8] * 5, 1.0, 4)
    assert overloaded.queue == pytest.approx(20)
    assert overloaded.wait_minutes == pytest.approx(5)
