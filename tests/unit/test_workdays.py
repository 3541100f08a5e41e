"""The working calendar as data: one validated file per year, a clear error past its end."""

from __future__ import annotations

from datetime import date

import pytest

from commutepass.domain.errors import InputError
from commutepass.domain.workdays import (
    FIRST_YEAR,
    LAST_YEAR,
    CalendarNotCovered,
    calendar,
    is_workday,
    parse_year,
)


def test_the_calendar_covers_2020_through_2026_with_real_notices() -> None:
    assert (FIRST_YEAR, LAST_YEAR) == (2020, 2026)
    # 2026: 春节 15–23 Feb off, Saturday 14 Feb and Saturday 28 Feb worked; 1 Jan–3 Jan off, Sunday 4 Jan worked
    assert (
        not is_workday(date(2026, 2, 16)) and is_workday(date(2026, 2, 14)) and is_workday(date(2026, 2, 28))
    )
    assert is_workday(date(2026, 1, 4)) and not is_workday(date(2026, 1, 2))
    # 2024: 国庆 1–7 Oct off, Sunday 29 Sep and Saturday 12 Oct worked
    assert (
        not is_workday(date(2024, 10, 7)) and is_workday(date(2024, 9, 29)) and is_workday(date(2024, 10, 12))
    )
    assert is_workday(date(2023, 6, 25)) and not is_workday(date(2023, 6, 23))


def test_a_date_past_the_calendar_is_an_error_not_a_workday() -> None:
    with pytest.raises(CalendarNotCovered) as caught:
        is_workday(date(2027, 1, 4))
    assert "2027-01-04" in caught.value.en and "2027.toml" in caught.value.en
    assert "不在工作日历范围内" in caught.value.zh
    with pytest.raises(CalendarNotCovered):
        calendar(date(2026, 12, 10), date(2027, 1, 6))
    with pytest.raises(CalendarNotCovered):
        is_workday(date(2019, 12, 31))


def test_the_last_weeks_of_the_calendar_still_work() -> None:
    days = calendar(date(2026, 12, 4), date(2026, 12, 31))
    assert days[-1].workday and days[-1].day == date(2026, 12, 31)


def test_sunday_evening_is_the_eve_of_the_working_week() -> None:
    days = {d.day: d for d in calendar(date(2021, 9, 13), date(2021, 10, 17))}
    assert not days[date(2021, 9, 19)].eve_of_week  # Monday 20 is off (中秋)
    assert days[date(2021, 9, 21)].eve_of_week  # Mid-Autumn: back on Tuesday for Wednesday 22
    assert days[date(2021, 10, 7)].eve_of_week  # National Day: back on Thursday 7 for Friday 8
    assert days[date(2021, 10, 10)].eve_of_week and days[date(2021, 10, 10)].after_week
    assert days[date(2021, 10, 10)].work_week == days[date(2021, 10, 11)].work_week
    assert days[date(2021, 10, 8)].run_workdays == 2 and days[date(2021, 10, 8)].first_of_run
    # a make-up Sunday opens the working week: Saturday evening is the way back
    assert days[date(2021, 9, 26)].first_of_run and days[date(2021, 9, 25)].eve_of_week
    assert days[date(2021, 9, 25)].work_week == days[date(2021, 9, 30)].work_week


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [
        ("2030.toml", "year = 2031\n", "must be named 2031.toml"),
        ("2030.toml", "year = 2030\nmakeup_workdays = [2030-01-02]\n", "is a weekday"),
        ("2030.toml", "year = 2030\n[[holidays]]\nfirst = 2030-01-03\nlast = 2030-01-01\n", "ordered span"),
        (
            "2030.toml",
            "year = 2030\n[[holidays]]\nfirst = 2030-01-01\nlast = 2030-01-01\nmakeup_workdays = []\n",
            "unknown field",
        ),
        ("2030.toml", "year = 2030\n[[holidays]]\nfirst = 2030-01-05\nlast = 2030-01-05\n", ""),
        ("2030.toml", "year = = 2030", "not valid TOML"),
    ],
)
def test_a_bad_year_file_is_refused_saying_where(name: str, text: str, says: str) -> None:
    if not says:
        assert parse_year(name, text).holidays == frozenset({date(2030, 1, 5)})
        return
    with pytest.raises(InputError) as caught:
        parse_year(name, text)
    assert name in caught.value.en and says in caught.value.en
