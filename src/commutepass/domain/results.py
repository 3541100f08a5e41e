"""A person's test results and what each one is good for ("my test results", 核酸检测结果).

The Health Kit's remedy texts tell people to check whether their result reached the system
(核酸疫苗服务查询); this lists, for one result, which rule of the policy in force it satisfies
and until when, in plain words — the same windows the decisions use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from commutepass.domain.clock import fmt_local
from commutepass.domain.decisions import commuter_nat_window, entry_nat_window
from commutepass.domain.facts import NatResult
from commutepass.domain.policy import Policy


@dataclass(frozen=True, slots=True)
class ResultUse:
    rule: str
    """``entry`` (the ordinary 48 h entry rule), ``commuter`` (the commuter's 14 days from the
    report date) or ``red`` (a positive result turns the code red)."""
    until: datetime
    in_force: bool
    zh: str
    en: str


def uses_of(nat: NatResult, policy: Policy, at: datetime) -> list[ResultUse]:
    """What ``nat`` does under ``policy`` at ``at`` (a result not yet reported does nothing)."""
    if nat.reported_at > at:
        return []
    if nat.positive:
        until = nat.sampled_at + timedelta(days=policy.nat.positive_red_days)
        return [
            ResultUse(
                "red",
                until,
                at < until,
                f"阳性：健康码为红码，至少到 {fmt_local(until)}",
                f"positive: the code is red at least until {fmt_local(until)}",
            )
        ]
    if not policy.nat.required_for_entry:
        return []
    hours, days = policy.nat.entry_window_hours, policy.nat.commuter_valid_days
    frm_zh, frm_en = (
        ("采样", "sampling") if policy.nat.entry_window_from == "sampled_at" else ("报告", "the report")
    )
    entry = entry_nat_window(nat, policy)
    commuter = commuter_nat_window(nat, policy)
    return [
        ResultUse(
            "entry",
            entry,
            at <= entry,
            f"进（返）京 {hours} 小时内核酸（自{frm_zh}起）：有效至 {fmt_local(entry)}",
            f"entry test within {hours} hours (from {frm_en}): counts until {fmt_local(entry)}",
        ),
        ResultUse(
            "commuter",
            commuter,
            at < commuter,
            f"通勤人员 {days} 日内核酸（自报告日期起）：有效至 {fmt_local(commuter)}",
            f"commuter test within {days} days (from the report date): counts until {fmt_local(commuter)}",
        ),
    ]
