"""A synthetic Beijing-ring region: people, their passages, NAT results, itineraries, risk areas.

Deterministic by seed. Writes the load formats (CSV) plus ``truth.csv`` with each person's
behaviour and the class identification should find. This first version serves the demo and
the tests (a few thousand people); the Beijing-scale generator is its own issue.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from stdnum.cn import ric

from commutepass.domain.clock import BEIJING

if TYPE_CHECKING:
    import _csv


@dataclass(frozen=True)
class Site:
    name: str
    mode: str
    county: str
    """The county outside Beijing the site serves."""


ROAD_SITES = (
    Site("西集检查站", "road", "131024"),  # 京哈高速, from 香河
    Site("白庙检查站", "road", "131082"),  # from 燕郊 (三河)
    Site("潮白河检查站", "road", "131028"),  # 京秦, from 大厂
    Site("琉璃河检查站", "road", "130681"),  # 京港澳, from 涿州
    Site("榆垡检查站", "road", "131022"),  # 京开, from 固安
    Site("台湖检查站", "road", "120114"),  # 京津, from 武清
)
RAIL_SITES = (
    Site("武清站", "rail", "120114"),
    Site("天津站", "rail", "120102"),
    Site("廊坊站", "rail", "131002"),
    Site("涿州东站", "rail", "130681"),
    Site("保定东站", "rail", "130602"),
    Site("张家口站", "rail", "130702"),
    Site("承德南站", "rail", "130802"),
)
FAR_SITES = (
    Site("石家庄站", "rail", "130102"),
    Site("济南西站", "rail", "370102"),
    Site("郑州东站", "rail", "410105"),
)

SIDE_TRIPS = ("130821", "120116", "152501", "131028", "110105")
"""Counties of side trips: a case county, a Tianjin district with a case, a border port,
a county with no risk, and a Beijing district (ignored by the entry rules)."""

BEHAVIOURS: tuple[tuple[str, float, str | None], ...] = (
    # behaviour, share, class identification should find
    ("daily_road", 0.26, "daily"),
    ("daily_rail", 0.14, "daily"),
    ("weekly_mon_fri", 0.08, "weekly"),
    ("weekly_fri_sun", 0.06, "weekly"),
    ("business", 0.14, None),
    ("tourist", 0.12, None),
    ("far_weekly", 0.06, None),
    ("stopped", 0.05, None),
    ("new_joiner", 0.05, "daily"),
    ("stay_home", 0.04, None),
)


@dataclass
class Person:
    id_number: str
    behaviour: str
    expected: str | None
    home: Site
    birth: date
    nat_every: int
    """Days between NAT tests (0: tests only before a trip)."""
    travel: list[tuple[datetime, str, Site]] = field(default_factory=list)


def _id_number(county: str, birth: date, serial: int) -> str:
    """A valid number: county, birth date, serial, check digit (computed from the first 17)."""
    body = f"{county}{birth:%Y%m%d}{serial % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def _birth(rng: random.Random, start: date) -> date:
    roll = rng.random()
    if roll < 0.03:
        years = rng.randint(0, 3)  # infants
    elif roll < 0.08:
        years = rng.randint(60, 80)
    else:
        years = rng.randint(20, 59)
    return start - timedelta(days=years * 365 + rng.randint(0, 364))


def _at(day: date, hour: float, rng: random.Random) -> datetime:
    minutes = int(hour * 60 + rng.gauss(0, 12))
    minutes = max(0, min(minutes, 23 * 60 + 59))
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=BEIJING)


def _plan(person: Person, rng: random.Random, start: date, days: int) -> None:
    b = person.behaviour
    site = person.home
    all_days = [start + timedelta(days=n) for n in range(days)]
    half = start + timedelta(days=days // 2)

    def commute(day: date, in_hour: float, out_hour: float) -> None:
        person.travel.append((_at(day, in_hour, rng), "enter", site))
        if rng.random() > 0.03:  # an exit swipe is sometimes missing
            person.travel.append((_at(day, out_hour, rng), "exit", site))

    if b in ("daily_road", "daily_rail", "stopped", "new_joiner"):
        attendance = rng.uniform(0.8, 0.97)
        for day in all_days:
            if day.weekday() >= 5 or rng.random() > attendance:
                continue
            if b == "stopped" and day >= half - timedelta(days=4):
                continue
            if b == "new_joiner" and day < half - timedelta(days=2):
                continue
            commute(day, 7.2, 19.0)
    elif b in ("weekly_mon_fri", "far_weekly"):
        for day in all_days:
            if day.weekday() == 0 and rng.random() < 0.93:
                person.travel.append((_at(day, 7.0, rng), "enter", site))
            if day.weekday() == 4 and rng.random() < 0.93:
                person.travel.append((_at(day, 18.5, rng), "exit", site))
    elif b == "weekly_fri_sun":
        for day in all_days:
            if day.weekday() == 4 and rng.random() < 0.93:
                person.travel.append((_at(day, 19.0, rng), "enter", site))
            if day.weekday() == 6 and rng.random() < 0.93:
                person.travel.append((_at(day, 17.0, rng), "exit", site))
    elif b == "business":
        for _ in range(rng.randint(1, 4)):
            day = rng.choice(all_days)
            stay = rng.randint(0, 2)
            person.travel.append((_at(day, 9.0, rng), "enter", site))
            person.travel.append((_at(day + timedelta(days=stay), 17.0, rng), "exit", site))
    elif b == "tourist":
        day = rng.choice(all_days)
        person.travel.append((_at(day, 11.0, rng), "enter", site))
        person.travel.append((_at(day + timedelta(days=rng.randint(1, 4)), 15.0, rng), "exit", site))
    if person.travel and rng.random() < 0.05:  # a duplicate swipe
        person.travel.append(person.travel[0])


def generate(people: int, days: int, start: date, seed: int = 7) -> Iterator[Person]:
    rng = random.Random(seed)
    shares = [share for _b, share, _e in BEHAVIOURS]
    for serial in range(people):
        behaviour, _share, expected = rng.choices(BEHAVIOURS, weights=shares)[0]
        if behaviour in ("daily_road",):
            home = rng.choice(ROAD_SITES)
        elif behaviour in (
            "daily_rail",
            "weekly_mon_fri",
            "weekly_fri_sun",
            "stopped",
            "new_joiner",
            "stay_home",
        ):
            home = rng.choice(RAIL_SITES if behaviour != "stopped" else ROAD_SITES + RAIL_SITES)
        elif behaviour == "far_weekly":
            home = rng.choice(FAR_SITES)
        else:
            home = rng.choice(ROAD_SITES + RAIL_SITES + FAR_SITES)
        birth = _birth(rng, start)
        person = Person(
            id_number=_id_number(home.county, birth, serial),
            behaviour=behaviour,
            expected=expected,
            home=home,
            birth=birth,
            nat_every=rng.choice((7, 7, 10, 14, 0)) if expected else 0,
        )
        _plan(person, rng, start, days)
        yield person


@dataclass
class SynthResult:
    directory: Path
    people: int
    travel_rows: int
    files: dict[str, Path]


def write_region(out: Path, *, people: int, days: int, start: date, seed: int = 7) -> SynthResult:
    """Write travel.csv, nat.csv, itinerary.csv, risk.csv and truth.csv into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + 1)
    files = {k: out / f"{k}.csv" for k in ("travel", "nat", "itinerary", "risk", "truth")}
    end = start + timedelta(days=days - 1)
    travel_rows = 0
    handles = {k: p.open("w", encoding="utf-8", newline="") for k, p in files.items()}
    try:
        w = {k: csv.writer(h) for k, h in handles.items()}
        w["travel"].writerow(["id_number", "event_time", "direction", "mode", "site", "county"])
        w["nat"].writerow(["id_number", "sampled_at", "reported_at", "result", "lab"])
        w["itinerary"].writerow(["id_number", "date", "county"])
        w["risk"].writerow(["county", "level", "start", "end"])
        w["truth"].writerow(["id_number", "behaviour", "expected_class", "home_county", "site", "mode"])
        count = 0
        for person in generate(people, days, start, seed):
            count += 1
            w["truth"].writerow(
                [
                    person.id_number,
                    person.behaviour,
                    person.expected or "",
                    person.home.county,
                    person.home.name,
                    person.home.mode,
                ]
            )
            for moment, direction, site in sorted(person.travel, key=lambda t: t[0]):
                w["travel"].writerow(
                    [
                        person.id_number,
                        moment.strftime("%Y-%m-%dT%H:%M"),
                        direction,
                        site.mode,
                        site.name,
                        site.county,
                    ]
                )
                travel_rows += 1
            _nats(w["nat"], person, rng, start, end)
            _itinerary(w["itinerary"], person, rng, start, end)
        for county, level, first, last in _risk(start, days):
            w["risk"].writerow([county, level, first.isoformat(), last.isoformat() if last else ""])
    finally:
        for handle in handles.values():
            handle.close()
    return SynthResult(out, count, travel_rows, files)


def _nats(writer: _csv.Writer, person: Person, rng: random.Random, start: date, end: date) -> None:
    lab = rng.choice(("北京市疾控中心", "天津金域医学检验", "廊坊市人民医院", "保定市第一医院"))
    days_tested: set[date] = set()
    if person.nat_every:
        day = start + timedelta(days=rng.randint(0, person.nat_every - 1))
        while day <= end:
            if rng.random() > 0.08:  # sometimes a test is missed
                days_tested.add(day)
            day += timedelta(days=person.nat_every)
    for moment, direction, _site in person.travel:
        if direction == "enter" and rng.random() < 0.7:
            days_tested.add(moment.date() - timedelta(days=1))
    positive_day = max(days_tested) if days_tested and rng.random() < 0.004 else None
    for day in sorted(days_tested):
        sampled = datetime.combine(day, time(rng.randint(8, 20), rng.choice((0, 15, 30, 45))), tzinfo=BEIJING)
        reported = sampled + timedelta(hours=rng.randint(4, 20))
        result = "positive" if day == positive_day else "negative"
        writer.writerow(
            [
                person.id_number,
                sampled.strftime("%Y-%m-%dT%H:%M"),
                reported.strftime("%Y-%m-%dT%H:%M"),
                result,
                lab,
            ]
        )


def _itinerary(writer: _csv.Writer, person: Person, rng: random.Random, start: date, end: date) -> None:
    if not person.travel and person.behaviour != "stay_home":
        return
    days: set[tuple[date, str]] = set()
    day = start
    while day <= end:
        days.add((day, person.home.county))
        day += timedelta(days=1)
    if rng.random() < 0.05:  # a side trip in the last 12 days, sometimes to a risk county
        trip = end - timedelta(days=rng.randint(0, 11))
        days.add((trip, rng.choice(SIDE_TRIPS)))
    for day, county in sorted(days):
        writer.writerow([person.id_number, day.isoformat(), county])


def _risk(start: date, days: int) -> list[tuple[str, str, date, date | None]]:
    end = start + timedelta(days=days - 1)
    return [
        ("130821", "case", end - timedelta(days=8), None),  # 承德县: 承德 counts as a whole
        (
            "120116",
            "case",
            end - timedelta(days=20),
            end - timedelta(days=6),
        ),  # 滨海新区: by district
        ("152501", "border_port", date(2020, 1, 1), None),  # 二连浩特: a land border port
    ]
