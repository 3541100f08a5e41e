"""Time parsing: ISO 8601 everywhere, a time without an offset means Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from commutepass.domain.errors import InputError

BEIJING = ZoneInfo("Asia/Shanghai")


def parse_time(text: str, field: str = "time") -> datetime:
    """Parse an ISO 8601 time; a bare date means 00:00 that day, no offset means Beijing time."""
    raw = (text or "").strip()
    if not raw:
        raise InputError(field, "a time is required (ISO 8601)", "缺少时间（ISO 8601 格式）")
    try:
        if len(raw) == 10:
            value = datetime.combine(date.fromisoformat(raw), time(0, 0))
        else:
            value = datetime.fromisoformat(raw.replace(" ", "T", 1) if "T" not in raw else raw)
    except ValueError:
        raise InputError(
            field,
            f"'{raw}' is not an ISO 8601 time such as 2021-11-20T07:30 or 2021-11-20T07:30+08:00",
            f"“{raw}”不是 ISO 8601 时间，例如 2021-11-20T07:30 或 2021-11-20T07:30+08:00",
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=BEIJING)
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise InputError(
            field,
            f"'{raw}' is outside the range of times that can be stored",
            f"“{raw}”超出可存储的时间范围",
        ) from None
    return value


def parse_date(text: str, field: str = "date") -> date:
    raw = (text or "").strip()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError(
            field,
            f"'{raw}' is not a date in the form YYYY-MM-DD",
            f"“{raw}”不是 YYYY-MM-DD 格式的日期",
        ) from None


def local_date(moment: datetime) -> date:
    """The Beijing calendar date of a moment."""
    return moment.astimezone(BEIJING).date()


def local_midnight(day: date) -> datetime:
    """00:00 Beijing time on ``day``."""
    return datetime.combine(day, time(0, 0), tzinfo=BEIJING)


def to_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BEIJING)
    return moment.astimezone(UTC)


def fmt_local(moment: datetime) -> str:
    """A moment as Beijing time, minutes precision: 2021-11-20 07:30."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
