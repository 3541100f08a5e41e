"""The working calendar of mainland China: public holidays and make-up workdays (调休).

Commuters travel on *workdays*, and the State Council's holiday notices move workdays around:
a holiday can fall on a Wednesday and a Saturday can be a workday. Identification counts a
person's entries against this calendar, never against plain Monday–Friday.

The calendar is data: one file per year in ``domain/calendar/YYYY.toml`` (the days off and
the make-up workdays of the General Office of the State Council's notice for that year,
国务院办公厅关于YYYY年部分节假日安排的通知), validated when loaded. The years must follow one
another; a date outside them is an error (:class:`CalendarNotCovered`), never a silent workday.
Adding a year is adding its file (see docs/identification.md).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any

from commutepass.domain.errors import InputError


class CalendarNotCovered(InputError):
    """A date outside the years the calendar files cover."""

    def __init__(self, day: date, first: int, last: int) -> None:
        super().__init__(
            "calendar",
            f"{day.isoformat()} is outside the working calendar ({first}–{last}); add the file "
            f"domain/calendar/{day.year}.toml from the State Council's holiday notice for {day.year}",
            f"{day.isoformat()} 不在工作日历范围内（{first}—{last} 年）；请按国务院办公厅{day.year}年"
            f"节假日安排通知添加 domain/calendar/{day.year}.toml",
        )
        self.day = day


@dataclass(frozen=True, slots=True)
class YearCalendar:
    year: int
    source: str
    holidays: frozenset[date]
    makeup_workdays: frozenset[date]


def _error(name: str, message: str) -> InputError:
    return InputError("calendar", f"calendar file {name}: {message}", f"日历文件 {name}：{message}")


def parse_year(name: str, text: str) -> YearCalendar:
    """One year's file, checked: the year, its spans inside that year (a span may end the day
    before the next year's first day off, as 2022-12-31 does), make-up days on weekends only,
    no day both off and a workday."""
    try:
        raw: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(name, f"not valid TOML ({exc})") from exc
    year = raw.get("year")
    if not isinstance(year, int):
        raise _error(name, "field 'year' must be a whole number")
    if name != f"{year}.toml":
        raise _error(name, f"field 'year' is {year}; the file must be named {year}.toml")
    holidays: set[date] = set()
    for n, span in enumerate(raw.get("holidays", []), start=1):
        first, last = span.get("first"), span.get("last")
        if not isinstance(first, date) or not isinstance(last, date):
            raise _error(name, f"holidays[{n}]: 'first' and 'last' must be dates (YYYY-MM-DD)")
        if last < first or first.year != year or last.year != year:
            raise _error(name, f"holidays[{n}]: {first}–{last} must be an ordered span within {year}")
        extra = set(span) - {"first", "last", "name"}
        if extra:
            raise _error(
                name,
                f"holidays[{n}]: unknown field(s) {', '.join(sorted(extra))} (top-level keys go before the [[holidays]] tables)",
            )
        holidays.update(first + timedelta(days=k) for k in range((last - first).days + 1))
    makeup: set[date] = set()
    for n, day in enumerate(raw.get("makeup_workdays", []), start=1):
        if not isinstance(day, date) or day.year != year:
            raise _error(name, f"makeup_workdays[{n}]: {day!r} must be a date within {year}")
        if day.weekday() < 5:
            raise _error(name, f"makeup_workdays[{n}]: {day} is a weekday, not a weekend day made a workday")
        makeup.add(day)
    both = sorted(holidays & makeup)
    if both:
        raise _error(name, f"{both[0]} is both a day off and a make-up workday")
    unknown = set(raw) - {"year", "source", "holidays", "makeup_workdays"}
    if unknown:
        raise _error(name, f"unknown field(s): {', '.join(sorted(unknown))}")
    return YearCalendar(year, str(raw.get("source", "")), frozenset(holidays), frozenset(makeup))


def load_years() -> dict[int, YearCalendar]:
    """Every year file shipped with the package; the years must follow one another."""
    folder = resources.files("commutepass.domain") / "calendar"
    years: dict[int, YearCalendar] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            parsed = parse_year(entry.name, entry.read_text(encoding="utf-8"))
            years[parsed.year] = parsed
    if not years:
        raise _error("(none)", "no year files in domain/calendar/")
    missing = sorted(set(range(min(years), max(years) + 1)) - set(years))
    if missing:
        raise _error(
            f"{missing[0]}.toml", f"missing: the years must follow one another ({min(years)}–{max(years)})"
        )
    return years


YEARS = load_years()
FIRST_YEAR, LAST_YEAR = min(YEARS), max(YEARS)
HOLIDAYS: frozenset[date] = frozenset().union(*(y.holidays for y in YEARS.values()))
"""Days off by the State Council's notices (法定节假日及调休放假)."""
MAKEUP_WORKDAYS: frozenset[date] = frozenset().union(*(y.makeup_workdays for y in YEARS.values()))
"""Weekend days that are workdays (调休上班)."""


def covered(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


def is_workday(day: date) -> bool:
    """Whether ``day`` is a workday; :class:`CalendarNotCovered` outside the calendar's years."""
    if not covered(day):
        raise CalendarNotCovered(day, FIRST_YEAR, LAST_YEAR)
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
    first_of_run: bool = False
    """The first day of a run of consecutive workdays (a working week as people live it: after
    National Day 2021 the run is Friday 8 – Saturday 9 October; a make-up Sunday opens a run)."""
    last_of_run: bool = False
    eve_of_week: bool = False
    """A day off just before a run of workdays (usually Sunday; after a holiday, the holiday's
    last day): the evening a weekly commuter comes back for the working week."""
    after_week: bool = False
    """A day off just after a run of workdays (usually Saturday)."""
    work_week: int = 0
    """The run of workdays the day belongs to, numbered from the span's start: a workday's own
    run, the next run for the day off before it (Sunday evening back opens the week), else the
    previous run."""
    run_workdays: int = 5
    """Workdays in that run."""


def _workday_near(day: date) -> bool:
    """Near the calendar's edges (the weeks around a span) a day outside the data counts by
    Monday–Friday: only the flags of the span's edge weeks use it."""
    return is_workday(day) if covered(day) else day.weekday() < 5


def calendar(first: date, last: date) -> list[CalendarDay]:
    """Every day in [first, last] with what identification needs to know about it;
    :class:`CalendarNotCovered` when a day of the span is outside the calendar's years."""
    for end in (first, last):
        if not covered(end):
            raise CalendarNotCovered(end, FIRST_YEAR, LAST_YEAR)
    monday = first - timedelta(days=first.weekday())
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    # whole weeks, and two more on each side, so that "the first workday of the week", the runs
    # of workdays and the days off around them are right at the span's edges
    start = monday - timedelta(days=14)
    stop = last + timedelta(days=6 - last.weekday() + 14)
    span = [start + timedelta(days=n) for n in range((stop - start).days + 1)]
    work = {d: _workday_near(d) for d in span}
    workdays_by_week: dict[int, list[date]] = {}
    for d in span:
        if work[d]:
            workdays_by_week.setdefault((d - monday).days // 7, []).append(d)
    # runs of consecutive workdays
    run_of: dict[date, int] = {}
    run_size: dict[int, int] = {}
    run = 0
    for d in span:
        if work[d]:
            if not work.get(d - timedelta(days=1), False):
                run += 1
            run_of[d] = run
            run_size[run] = run_size.get(run, 0) + 1
    base = run_of.get(next((d for d in span if d >= first and work[d]), first), 1)
    previous_run: dict[date, int] = {}
    current = 0
    for d in span:
        current = run_of.get(d, current)
        previous_run[d] = current
    out: list[CalendarDay] = []
    so_far = 0
    one = timedelta(days=1)
    for d in days:
        week = (d - monday).days // 7
        workday = work[d]
        so_far += workday
        in_week = workdays_by_week.get(week, [])
        eve = not workday and work.get(d + one, False)
        after = not workday and work.get(d - one, False)
        belongs = run_of.get(d + one, 0) if eve else previous_run[d]
        out.append(
            CalendarDay(
                day=d,
                workday=workday,
                week=week,
                first_workday_of_week=bool(in_week) and d == in_week[0],
                last_workday_of_week=bool(in_week) and d == in_week[-1],
                workdays_so_far=so_far,
                first_of_run=workday and not work.get(d - one, False),
                last_of_run=workday and not work.get(d + one, False),
                eve_of_week=eve,
                after_week=after,
                work_week=belongs - base,
                run_workdays=run_size.get(belongs, 0),
            )
        )
    return out


def workdays_between(first: date, last: date) -> int:
    """Workdays in [first, last] by the holiday calendar."""
    return sum(1 for n in range((last - first).days + 1) if is_workday(first + timedelta(days=n)))
