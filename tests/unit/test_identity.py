"""Resident ID numbers, pseudonymous keys and ages."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commutepass.domain.errors import InputError
from commutepass.domain.identity import age_on, parse_resident_id, person_key

from .conftest import make_id


def test_valid_number_parses_with_birth_date_and_region() -> None:
    rid = parse_resident_id(make_id("131082", date(1990, 3, 7)))
    assert rid.birth_date == date(1990, 3, 7)
    assert rid.region_code == "131082"
    assert rid.masked == rid.number[:3] + "*" * 11 + rid.number[-4:]
    assert rid.number not in repr(rid)


def test_lower_case_x_and_spaces_are_accepted() -> None:
    number = next(
        make_id("110101", date(1985, 1, 1), s)
        for s in range(1000)
        if make_id("110101", date(1985, 1, 1), s).endswith("X")
    )
    assert parse_resident_id(" " + number.lower() + " ").number == number


def test_region_code_newer_than_birth_is_accepted() -> None:
    """通州区 (110112) got its code in 1997; someone born in 1990 may first register there."""
    assert parse_resident_id(make_id("110112", date(1990, 1, 1))).region_code == "110112"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("13108219900307001", "17 characters"),
        ("1310821990030700123", "19 characters"),
        ("13108219900307A011", "17 digits"),
        ("131082199002300011", "impossible birth date"),
        (make_id("999999"), "no administrative division code"),
        ("", "0 characters"),
    ],
)
def test_invalid_numbers_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(InputError) as info:
        parse_resident_id(text)
    assert fragment in info.value.en
    assert info.value.field == "id_number"
    assert info.value.zh


def test_wrong_check_digit() -> None:
    good = make_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InputError, match="check digit"):
        parse_resident_id(bad)


def test_future_birth_date_is_refused() -> None:
    with pytest.raises(InputError, match="future"):
        parse_resident_id(make_id("131082", date(2099, 1, 1)))


def test_error_never_shows_the_whole_number() -> None:
    good = make_id()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InputError) as info:
        parse_resident_id(bad)
    assert bad not in info.value.en and bad not in info.value.zh


def test_person_key_is_keyed_and_stable() -> None:
    rid = parse_resident_id(make_id())
    assert person_key(rid, b"a") == person_key(rid, b"a")
    assert person_key(rid, b"a") != person_key(rid, b"b")
    assert rid.number not in person_key(rid, b"a")
    assert len(person_key(rid, b"a")) == 64


@pytest.mark.parametrize(
    ("birth", "day", "age"),
    [
        (date(2018, 11, 20), date(2021, 11, 20), 3),
        (date(2018, 11, 21), date(2021, 11, 20), 2),
        (date(2000, 2, 29), date(2021, 2, 28), 20),
        (date(2000, 2, 29), date(2021, 3, 1), 21),
    ],
)
def test_age_in_full_years(birth: date, day: date, age: int) -> None:
    assert age_on(birth, day) == age


@given(st.dates(min_value=date(1920, 1, 1), max_value=date(2021, 12, 31)), st.integers(0, 999))
def test_every_generated_number_round_trips(birth: date, serial: int) -> None:
    rid = parse_resident_id(make_id("120114", birth, serial))
    assert rid.birth_date == birth
