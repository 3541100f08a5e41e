"""Resident identity numbers (GB 11643-1999) and pseudonymous person keys.

Validation uses python-stdnum's ``cn.ric`` for length, format, birth date and check digit.
The region part is looked up without stdnum's "was this county assigned in the birth year"
test: a number is issued where the holder was first registered, which can be a county
created after the holder was born (someone born in 1990 and first registered in 通州区,
created 1997), and such numbers are real.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)

from commutepass.domain.errors import InputError


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A validated 18-character resident ID number. Never persisted in plain text."""

    number: str
    birth_date: date
    region_code: str

    @property
    def masked(self) -> str:
        """What may be shown to an officer or printed: 110***********123X."""
        return f"{self.number[:3]}{'*' * 11}{self.number[-4:]}"

    def __repr__(self) -> str:  # keep raw numbers out of logs and tracebacks
        return f"ResidentId({self.masked})"


def parse_resident_id(text: str, field: str = "id_number") -> ResidentId:
    """Validate a resident ID number, raising ``InputError`` that says exactly what is wrong."""
    # stdnum's compact() strips spaces and dashes character by character; this is the same
    # for the separators ID numbers are written with, and ten times faster on the check path
    number = (text or "").replace(" ", "").replace("-", "").strip().upper()
    shown = mask_raw(number)
    try:
        if len(number) != 18:
            raise InvalidLength()
        if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
            raise InvalidFormat()
        birth = ric.get_birth_date(number)
        if number[17] != ric.calc_check_digit(number):
            raise InvalidChecksum()
    except InvalidLength:
        raise InputError(
            field,
            f"ID number {shown} has {len(number)} characters; a resident ID has 18",
            f"身份证号 {shown} 有 {len(number)} 位，居民身份证号应为 18 位",
        ) from None
    except InvalidFormat:
        raise InputError(
            field,
            f"ID number {shown} must be 17 digits followed by a digit or X",
            f"身份证号 {shown} 应为 17 位数字加 1 位数字或 X",
        ) from None
    except InvalidChecksum:
        raise InputError(
            field,
            f"ID number {shown} fails its check digit: please re-type it from the card",
            f"身份证号 {shown} 校验位不符，请对照证件重新输入",
        ) from None
    except (InvalidComponent, ValidationError):
        raise InputError(
            field,
            f"ID number {shown} has an impossible birth date",
            f"身份证号 {shown} 中的出生日期无效",
        ) from None
    if birth > date.today():
        raise InputError(
            field,
            f"ID number {shown} has a birth date in the future",
            f"身份证号 {shown} 中的出生日期晚于今天",
        )
    if not region_code_ever_existed(number[:6]):
        raise InputError(
            field,
            f"ID number {shown} starts with {number[:6]}, which is no administrative division code",
            f"身份证号 {shown} 的前 6 位 {number[:6]} 不是有效的行政区划代码",
        )
    return ResidentId(number=number, birth_date=birth, region_code=number[:6])


_CHECK_DIGITS = "0123456789X"
_YEAR_STARTED = date.today().year
"""A birth year before this one is in the past whenever the check runs (no clock read)."""


def swiped_resident(text: str, field: str = "id_number") -> ResidentId:
    """``parse_resident_id`` on the path of every check (a swipe, a typed or uploaded check): the
    same answer, faster for a well-formed number (a property test holds the two equal).

    An ID-card reader gives the 18 characters as printed; for them the check digit (GB 11643),
    the birth date and the region code are tested here directly. Anything else (separators,
    a lower-case x, a wrong digit, a date that does not exist) goes to ``parse_resident_id``,
    which accepts it or says exactly what is wrong."""
    if len(text) == 18 and text.isascii() and text[:17].isdigit():
        last = text[17]
        if last == _CHECK_DIGITS[(1 - 2 * int(text[:17], 13)) % 11]:
            try:
                birth = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
            except ValueError:
                birth = None
            if (
                birth is not None
                and (birth.year < _YEAR_STARTED or birth <= date.today())
                and region_code_ever_existed(text[:6])
            ):
                return ResidentId(number=text, birth_date=birth, region_code=text[:6])
    return parse_resident_id(text, field)


@lru_cache(maxsize=1)
def _region_codes() -> frozenset[str]:
    """Every six-digit code GB/T 2260 has had, from python-stdnum's ``cn/loc`` database."""
    codes: set[str] = set()
    # numdb rows are (length, low, high, properties, children)
    for _len, province, _high, _props, children in numdb.get("cn/loc").prefixes:
        codes.update(province + suffix for _l, suffix, _h, props, _c in children if "county" in props)
    return frozenset(codes)


def region_code_ever_existed(code: str) -> bool:
    """True when GB/T 2260 has (or had) the code ``code``, in any year."""
    return code in _region_codes()


def mask_raw(number: str) -> str:
    if len(number) < 8:
        return "*" * len(number)
    return f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}"


def person_key(resident_id: ResidentId, secret: bytes) -> str:
    """The pseudonymous key a person is stored under: HMAC-SHA256 of the number, hex."""
    return hmac.new(secret, resident_id.number.encode("ascii"), hashlib.sha256).hexdigest()


def age_on(birth_date: date, day: date) -> int:
    """Full years of age on ``day``."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


_ID_IN_TEXT = re.compile(r"(?<!\d)(\d{3})\d{11}(\d{3}[\dXx])(?![\dXx])")


def mask_ids_in_text(text: str) -> str:
    """Free text (a reason, a statement, a message) with every 18-character ID number masked:
    no raw number is stored, whoever typed it where."""
    return _ID_IN_TEXT.sub(lambda m: m.group(1) + "*" * 11 + m.group(2), text)
