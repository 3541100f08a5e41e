"""Explanations follow the policy (issue 11): a candidate version with every parameter changed
(hours, days, ages, the ring area, the channel, grace periods) is explained with its own values,
in both languages, and none of the shipped version's values is left in any text."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from pathlib import Path

import pytest

from commutepass.domain.decisions import Mode, Reason
from commutepass.domain.policy import Policy
from commutepass.domain.reasons import CATALOG, TERM_MEANINGS, explain_check, policy_terms, render
from commutepass.domain.regions import RegionCatalog
from commutepass.policies import builtin_policies

from .conftest import Decide, codes, facts, member, negative

SHIPPED = Path(__file__).resolve().parents[2] / "src/commutepass/policies/2021-11-17.toml"
OLD_NUMBERS = ("14", "48", "12345")
OLD_PLACES = ("廊坊", "保定", "张家口", "承德", "天津")


@pytest.fixture(scope="module")
def candidate() -> Policy:
    data = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    data["version"] = "2021-12-01"
    # the title is the version's own text, written by whoever authors it
    data["title_zh"] = "进（返）京须持36小时内核酸阴性证明；环京通勤人员持7日内核酸阴性证明"
    data["title_en"] = "Entry needs a NAT within 36 h; ring-area commuters a NAT within 7 days"
    data["observation_days"] = 5
    data["ring_area"] = {"provinces": [], "prefectures": ["1309"], "note": "沧州市"}
    data["nat"].update(entry_window_hours=36, commuter_valid_days=7, positive_red_days=10)
    data["risk"]["lookback_days"] = 9
    data["commuters"].update(hotline="96156", lapse_after_days_without_entry=11, application_grace_days=21)
    data["special"].update(infant_max_age=2, elderly_min_age=65, child_max_age=12)
    return Policy.model_validate(data)


NEW = {
    "nat_hours": "36",
    "commuter_days": "7",
    "red_days": "10",
    "risk_days": "9",
    "observation_days": "5",
    "hotline": "96156",
    "ring_area": "沧州市",
}


def _person_values(code: str, policy: Policy) -> dict[str, object]:
    """Stand-ins for the person's values (letters, so no number slips in from them)."""
    text = CATALOG[code]
    names = set(re.findall(r"{(\w+)}", text.zh + text.en + text.remedy_zh + text.remedy_en))
    return {name: "X" for name in names - set(policy_terms(policy))}


def _has_number(text: str, number: str) -> bool:
    return re.search(rf"(?<!\d){number}(?!\d)", text) is not None


def test_every_term_is_documented(candidate: Policy) -> None:
    assert set(policy_terms(candidate)) == set(TERM_MEANINGS)


@pytest.mark.parametrize("code", sorted(c for c, t in CATALOG.items() if t.kind != "credential"))
def test_every_reason_shows_the_candidate_values_in_both_languages(candidate: Policy, code: str) -> None:
    text = CATALOG[code]
    rendered = render(Reason.of(code, **_person_values(code, candidate)), candidate)
    zh = rendered.zh + rendered.remedy_zh
    en = rendered.en + rendered.remedy_en
    for term, value in NEW.items():
        if "{" + term + "}" in text.zh + text.remedy_zh:
            assert value in zh, (code, term)
        if "{" + term + "}" in text.en + text.remedy_en:
            assert value in en, (code, term)
    for number in OLD_NUMBERS:
        assert not _has_number(zh, number) and not _has_number(en, number), (code, number, zh, en)
    for place in OLD_PLACES:
        assert place not in zh + en, (code, place)


def test_the_shipped_version_still_reads_as_before() -> None:
    p2021 = builtin_policies().by_version("2021-11-17")
    text = render(Reason.of("NOT_IN_COMMUTER_DB"), p2021)
    assert "天津市全域及河北省廊坊市、保定市、张家口市、承德市" in text.remedy_zh
    assert "12345" in text.remedy_zh and "48小时" in text.remedy_zh


def test_decisions_under_the_candidate_are_explained_with_its_numbers(
    candidate: Policy, catalog: RegionCatalog
) -> None:
    decide = Decide(candidate, catalog)
    # a commuter whose test is 8 days old: past the candidate's 7 days
    commuter = facts(
        membership=member("2021-11-01"),
        nats=[negative("2021-11-12T07:00", "2021-11-12T19:00")],
        last_entry="2021-11-18T07:00",
    )
    outcome = decide.check(commuter, "2021-11-20T09:00")
    text = explain_check(outcome, candidate)
    assert "7" in text["zh"] and "7" in text["en"]
    for language in ("zh", "en"):
        assert not _has_number(text[language].replace("2021-11-", ""), "14"), text[language]
    # an infant at the candidate's age limit travels alone: refused, with the candidate's age
    infant = facts(birth=date(2019, 11, 21))
    alone = decide.check(infant, "2021-11-20T09:00", mode=Mode.ROAD)
    assert "INFANT_NEEDS_COMPANION" in codes(alone)
    said = explain_check(alone, candidate)
    assert "2 岁" in said["zh"] and "of 2 or under" in said["en"]
