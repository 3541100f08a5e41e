"""Who may do what: the roles of the people who use commutepass (pure data, no I/O)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"  # 市民: own data, plus up to 4 family members they add (为他人查询)
    OFFICER = "officer"  # 检查站民警/查验人员: checks only — the decision and a masked identity
    HOTLINE = "hotline"  # 12345 话务员: registers requests; looks a person up only with a stated reason
    REVIEWER = "reviewer"  # 公安审核人员: decides applications and appeals, runs the commuter database
    ADMIN = "admin"  # 管理员: policy versions, risk areas and data feeds, users, retention
    ANALYST = "analyst"  # 分析人员: aggregates only, never a person's rows
    COMMUNITY = "community"  # 社区工作人员: submits applications for residents; sees only its own submissions


ALL_ROLES: frozenset[Role] = frozenset(Role)
STAFF: frozenset[Role] = frozenset({Role.HOTLINE, Role.REVIEWER, Role.ADMIN})
"""Who answers on the feedback board."""

MAX_FAMILY = 4
"""A citizen may add up to this many family members (健康宝“为他人查询”)."""


def parse_role(text: str) -> Role:
    from commutepass.domain.errors import InputError

    try:
        return Role(text.strip().lower())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InputError(
            "role", f"'{text}' is not one of {names}", f"“{text}”不是角色 {names} 之一"
        ) from None
