"""What each test result counts for ("my test results")."""

from __future__ import annotations

from commutepass.domain.policy import Policy
from commutepass.domain.results import uses_of

from .conftest import T, negative, positive


def test_a_negative_result_counts_48_hours_for_entry_and_14_days_for_commuters(p2021: Policy) -> None:
    nat = negative("2021-11-21T10:00", "2021-11-21T18:00")
    uses = {u.rule: u for u in uses_of(nat, p2021, T("2021-11-22T09:00"))}
    assert uses["entry"].until == T("2021-11-23T10:00") and uses["entry"].in_force
    assert uses["commuter"].until == T("2021-12-05T00:00") and uses["commuter"].in_force
    assert "2021-11-23 10:00" in uses["entry"].zh and "2021-12-05 00:00" in uses["commuter"].en
    later = {u.rule: u.in_force for u in uses_of(nat, p2021, T("2021-11-24T09:00"))}
    assert later == {"entry": False, "commuter": True}


def test_a_result_not_yet_reported_counts_for_nothing(p2021: Policy) -> None:
    assert uses_of(negative("2021-11-21T10:00", "2021-11-22T18:00"), p2021, T("2021-11-22T09:00")) == []


def test_a_positive_result_is_red_for_14_days_from_sampling(p2021: Policy) -> None:
    (use,) = uses_of(positive("2021-11-20T08:00"), p2021, T("2021-11-22T09:00"))
    assert (use.rule, use.until, use.in_force) == ("red", T("2021-12-04T08:00"), True)


def test_no_entry_test_rules_in_2020(p2020: Policy) -> None:
    assert uses_of(negative("2020-03-01T10:00"), p2020, T("2020-03-02T09:00")) == []
