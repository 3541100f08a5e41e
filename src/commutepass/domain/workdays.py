"""The working calendar of mainland China: public holidays and make-up workdays (调休).

Commuters travel on *workdays*, and the State Council's holiday notices move workdays around:
a holiday can fall on a Wednesday and a Saturday can be a workday. Identification counts a
person's entries against this calendar, never against plain Monday–Friday.
Source: the General Office of the State Council's notices on the 2020, 2021 and 2022 holidays
(国务院办公厅关于2020/2021/2022年部分节假日安排的通知; 2020 with the Spring Festival extension).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


def _span(first: str, last: str) -> frozenset[date]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return frozenset(a + timedelta(days=n) for n in range((b - a).days + 1))


HOLIDAYS: frozenset[date] = frozenset().union(
    # 2020
    _span("2020-01-01", "2020-01-01"),
    _span("2020-01-24", "2020-02-02"),  # 春节, extended to 2 February (新冠疫情)
    _span("2020-04-04", "2020-04-06"),
    _span("2020-05-01", "2020-05-05"),
    _span("2020-06-25", "2020-06-27"),
    _span("2020-10-01", "2020-10-08"),
    # 2021
    _span("2021-01-01", "2021-01-03"),
    _span("2021-02-11", "2021-02-17"),
    _span("2021-04-03", "2021-04-05"),
    _span("2021-05-01", "2021-05-05"),
    _span("2021-06-12", "2021-06-14"),
    _span("2021-09-19", "2021-09-21"),
    _span("2021-10-01", "2021-10-07"),
    # 2022
    _span("2022-01-01", "2022-01-03"),
    _span("2022-01-31", "2022-02-06"),
    _span("2022-04-03", "2022-04-05"),
    _span("2022-04-30", "2022-05-04"),
    _span("2022-06-03", "2022-06-05"),
    _span("2022-09-10", "2022-09-12"),
    _span("2022-10-01", "2022-10-07"),
)
"""Days off by the State Council's notices (法定节假日及调休放假)."""

MAKEUP_WORKDAYS: frozenset[date] = frozenset(
    date.fromisoformat(d)
    for d in (
        "2020-01-19",
        "2020-04-26",
        "2020-05-09",
        "2020-06-28",
        "2020-09-27",
        "2020-10-10",
        "2021-02-07",
        "2021-02-20",
        "2021-04-25",
        "2021-05-08",
        "2021-09-18",
        "2021-09-26",
        "2021-10-09",
        "2022-01-29",
        "2022-01-30",
        "2022-04-02",
        "2022-04-24",
        "2022-05-07",
        "2022-10-08",
        "2022-10-09",
    )
)
"""Weekend days that are workdays (调休上班)."""


def is_workday(day: date) -> bool:
    if day in MAKEUP_WORKDAYS:
        return True
    return day.weekday() < 5 and day not in HOLIDAYS


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: date
    workday: bool
    week: int
    """Monday-based week number counted from the first day of the calendar span."""
    first_workday_of_week: bool
    last_workday_of_week: bool
    workdays_so_far: int
    """Workdays from the span's first day up to and including this day."""


def calendar(first: date, last: date) -> list[CalendarDay]:
    """Every day in [first, last] with what identification needs to know about it."""
    monday = first - timedelta(days=first.weekday())
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    # whole weeks, so that "the first workday of the week" is right at the span's edges
    week_start = monday
    week_end = last + timedelta(days=6 - last.weekday())
    workdays_by_week: dict[int, list[date]] = {}
    n = 0
    while week_start + timedelta(days=n) <= week_end:
        d = week_start + timedelta(days=n)
        if is_workday(d):
            workdays_by_week.setdefault((d - monday).days // 7, []).append(d)
        n += 1
    out: list[CalendarDay] = []
    so_far = 0
    for d in days:
        week = (d - monday).days // 7
        workday = is_workday(d)
        so_far += workday
        in_week = workdays_by_week.get(week, [])
        out.append(
            CalendarDay(
                day=d,
                workday=workday,
                week=week,
                first_workday_of_week=bool(in_week) and d == in_week[0],
                last_workday_of_week=bool(in_week) and d == in_week[-1],
                workdays_so_far=so_far,
            )
        )
    return out


def workdays_between(first: date, last: date) -> int:
    """Workdays in [first, last] by the holiday calendar."""
    return sum(1 for n in range((last - first).days + 1) if is_workday(first + timedelta(days=n)))
