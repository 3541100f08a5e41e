"""A synthetic Beijing-ring region: people, their passages, NAT results, itineraries, risk areas.

Vectorised (numpy) and streamed: people are made in chunks, each chunk's rows are written and
dropped, so memory stays bounded at any size (1.5 M people × 28 days ≈ 40 M passages runs in a
few hundred MB). Deterministic by seed (and chunk size). Writes the load formats of the core
(CSV or Parquet, same columns) plus ``truth`` with each person's behaviour and the class
identification should find. Days off and make-up workdays follow the real holiday calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from tqdm import tqdm

from commutepass.domain.errors import InputError
from commutepass.domain.workdays import calendar

CHUNK_PEOPLE = 100_000
MAX_PEOPLE = 1_800_000
"""Serial (3 digits) × birth-date spread per age bucket keeps every ID number unique up to here."""


@dataclass(frozen=True)
class Site:
    name: str
    mode: str
    counties: tuple[str, ...]
    """Counties outside Beijing the site connects to (where its travellers live)."""


ROAD_SITES = (
    Site("西集检查站", "road", ("131024",)),  # 京哈高速, 香河
    Site("白庙检查站", "road", ("131082",)),  # 燕郊 (三河)
    Site("潮白河检查站", "road", ("131028",)),  # 京秦, 大厂
    Site("琉璃河检查站", "road", ("130681", "130684")),  # 京港澳, 涿州 / 高碑店
    Site("榆垡检查站", "road", ("131022", "131023")),  # 京开, 固安 / 永清
    Site("台湖检查站", "road", ("120114", "120113")),  # 京津, 武清 / 北辰
    Site("康庄检查站", "road", ("130730",)),  # 京藏, 怀来
    Site("高岭检查站", "road", ("130824", "130821")),  # 京承, 滦平 / 承德县
)
RAIL_SITES = (
    Site("武清站", "rail", ("120114",)),
    Site("天津站", "rail", ("120102", "120101", "120104")),
    Site("廊坊站", "rail", ("131002", "131003")),
    Site("涿州东站", "rail", ("130681",)),
    Site("保定东站", "rail", ("130602", "130606")),
    Site("张家口站", "rail", ("130702", "130703")),
    Site("承德南站", "rail", ("130802",)),
)
FAR_SITES = (
    Site("石家庄站", "rail", ("130102",)),
    Site("济南西站", "rail", ("370102",)),
    Site("郑州东站", "rail", ("410105",)),
)
SITES = ROAD_SITES + RAIL_SITES + FAR_SITES
_ROAD = np.arange(len(ROAD_SITES))
_RAIL = np.arange(len(RAIL_SITES)) + len(ROAD_SITES)
_RING = np.arange(len(ROAD_SITES) + len(RAIL_SITES))
_FAR = np.arange(len(FAR_SITES)) + len(ROAD_SITES) + len(RAIL_SITES)
_ANY = np.arange(len(SITES))

SIDE_TRIPS = ("130821", "120116", "152501", "131028", "110105")
"""Counties of side trips: a case county, a Tianjin district with a case, a border port,
a county with no risk, and a Beijing district (ignored by the entry rules)."""

LABS = ("北京市疾控中心", "天津金域医学检验", "廊坊市人民医院", "保定市第一医院")

BEHAVIOURS: tuple[tuple[str, float, str | None], ...] = (
    # behaviour, share of the default mix, class identification should find
    ("daily_road", 0.22, "daily"),
    ("daily_rail", 0.11, "daily"),
    ("daily_mixed", 0.03, "daily"),  # road some days, rail on others (李波: 高铁, 有时也会开车)
    ("shift", 0.05, "daily"),  # four days on, four off, workdays or not
    ("moved", 0.02, "daily"),  # a daily commuter who moved house (new county) mid-window
    # the weekly two-city rhythms (each with a missed week, a late return, a holiday week at home)
    ("weekly_mon_fri", 0.03, "weekly"),  # ring home: back on Monday morning, home on Friday
    (
        "weekly_sun_fri",
        0.05,
        "weekly",
    ),  # ring home: back on Sunday evening, home on Friday (工作日在京、周末回天津)
    (
        "weekly_sun_sat",
        0.02,
        "weekly",
    ),  # ring home: back on Sunday evening or Monday morning, home on Saturday
    (
        "weekly_fri_sun",
        0.03,
        "weekly",
    ),  # family in Beijing, work in Tianjin or Hebei: in Friday, out Sunday (吴浩)
    ("weekly_fri_mon", 0.02, "weekly"),  # family in Beijing: in on Friday evening, out on Monday at dawn
    ("business", 0.13, None),
    ("tourist", 0.11, None),
    ("far_weekly", 0.05, None),  # weekly, but from outside the ring area: never a commuter
    ("stopped", 0.05, None),
    ("new_joiner", 0.05, "daily"),
    ("stay_home", 0.05, None),
)
_NAMES = [b[0] for b in BEHAVIOURS]
_B = {name: i for i, name in enumerate(_NAMES)}
_DAILY_LIKE = [_B[n] for n in ("daily_road", "daily_rail", "daily_mixed", "moved", "stopped", "new_joiner")]
_WEEKLY = [_B[n] for n in _NAMES if n.startswith("weekly_")] + [_B["far_weekly"]]
NOISE = {"missed_week": 0.10, "late_return": 0.10, "holiday_home": 0.30, "entry_lost": 0.02}
"""Noise of the weekly rhythms: a person skips one week (share of people), comes back a day
late once, stays home through a week with at most two workdays (a long holiday), and each
entry record is lost with this chance."""

AGE_BUCKETS = np.array([1, 20, 25, 30, 35, 40, 45, 50, 55, 62, 67, 72, 77])
"""Ages (years) a birth date counts back from; 5 years apart, so (bucket, serial // 1000)
never repeats a birth date within a bucket up to MAX_PEOPLE."""
AGE_SHARES = np.array([0.03] + [0.92 / 8] * 8 + [0.05 / 4] * 4)

COLUMNS: dict[str, tuple[str, ...]] = {
    "travel": ("id_number", "event_time", "direction", "mode", "site", "county"),
    "nat": ("id_number", "sampled_at", "reported_at", "result", "lab"),
    "itinerary": ("id_number", "date", "county"),
    "risk": ("county", "level", "start", "end"),
    "truth": ("id_number", "behaviour", "expected_class", "home_county", "site", "mode"),
}

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_CHECK_CHARS = np.array(list("10X98765432"))


@dataclass
class SynthResult:
    directory: Path
    people: int
    travel_rows: int
    files: dict[str, Path]


def id_numbers(county: np.ndarray, birth: np.ndarray, serial: np.ndarray) -> np.ndarray:
    """Valid GB 11643 numbers: county, birth date (datetime64[D]), 3-digit serial, check digit."""
    births = np.datetime_as_string(birth, unit="D")
    body = np.char.add(
        np.char.add(county.astype("U6"), np.char.replace(births, "-", "")),
        np.char.zfill((serial % 1000).astype("U3"), 3),
    )
    digits = body.view("U1").reshape(len(body), 17).astype(np.int64)
    check = _CHECK_CHARS[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    result: np.ndarray = np.char.add(body, check)
    return result


class _Calendar:
    """The window's days plus two weeks after it, as arrays (what the behaviours need)."""

    def __init__(self, start: date, days: int) -> None:
        cal = calendar(start, start + timedelta(days=days + 13))
        self.days = days
        self.workday = np.array([c.workday for c in cal])
        # a working week is a run of consecutive workdays (a make-up Sunday opens one)
        self.first_wd = np.array([c.first_of_run for c in cal])[:days]
        self.last_wd = np.array([c.last_of_run for c in cal])[:days]
        # Friday-in people go home on the last day off after their last workday of the week
        back = np.zeros(days, dtype=np.int64)
        for d in range(days):
            n = d + 1
            while n + 1 < len(cal) and not self.workday[n + 1] and not self.workday[n]:
                n += 1
            back[d] = n
        self.return_day = back
        self.workday = self.workday[:days]
        window = cal[:days]
        self.eve = np.array([c.eve_of_week for c in window])
        self.after = np.array([c.after_week for c in window])
        self.week = np.array([c.work_week for c in window])
        self.short_week = np.array([c.run_workdays <= 2 for c in window])
        self.workdays_after = np.cumsum(self.workday[::-1])[::-1]
        """Workdays from each day to the window's end."""


def _minutes(rng: np.random.Generator, mean: np.ndarray, sd: float, shape: tuple[int, int]) -> np.ndarray:
    values = mean[:, None] + rng.normal(0, sd, size=shape)
    return np.clip(values, 0, 1439).astype(np.int32)


def _trips(
    rng: np.random.Generator, people: np.ndarray, trips: np.ndarray, days: int, stay: tuple[int, int]
) -> tuple[np.ndarray, ...]:
    """Occasional trips: (person, enter day, exit day) for ``trips[i]`` trips of each person."""
    who = np.repeat(people, trips)
    enter = rng.integers(0, days, size=len(who))
    leave = enter + rng.integers(stay[0], stay[1] + 1, size=len(who))
    return who, enter, leave


class _Chunk:
    """One chunk of people and every row they produce."""

    def __init__(
        self, rng: np.random.Generator, first_serial: int, size: int, start: date, cal: _Calendar
    ) -> None:
        self.rng = rng
        self.size = size
        self.days = cal.days
        self.cal = cal
        self.start = np.datetime64(start, "D")
        shares = np.array([b[1] for b in BEHAVIOURS])
        self.behaviour = rng.choice(len(BEHAVIOURS), size=size, p=shares / shares.sum())
        b = self.behaviour
        site = rng.choice(_ANY, size=size)
        site = np.where(
            np.isin(b, [_B["daily_road"], _B["daily_mixed"], _B["shift"], _B["moved"]]),
            rng.choice(_ROAD, size=size),
            site,
        )
        site = np.where(
            np.isin(
                b,
                [
                    _B["daily_rail"],
                    _B["weekly_mon_fri"],
                    _B["weekly_fri_sun"],
                    _B["new_joiner"],
                    _B["stay_home"],
                ],
            ),
            rng.choice(_RAIL, size=size),
            site,
        )
        site = np.where(
            np.isin(b, [_B[n] for n in ("stopped", "weekly_sun_fri", "weekly_sun_sat", "weekly_fri_mon")]),
            rng.choice(_RING, size=size),
            site,
        )
        self.site = np.where(b == _B["far_weekly"], rng.choice(_FAR, size=size), site)
        self.county = self._county_of(self.site)
        # a mixed commuter takes the train from the same home on some days
        self.alt_site = rng.choice(_RAIL, size=size)
        # a person who moved lives near another ring site from the move day on
        self.new_site = rng.choice(_RING, size=size)
        self.new_county = self._county_of(self.new_site)
        self.move_day = rng.integers(self.days // 3, max(self.days // 3 + 1, self.days - 7), size=size)
        serial = np.arange(first_serial, first_serial + size)
        age = rng.choice(AGE_BUCKETS, size=size, p=AGE_SHARES)
        # people who commute or travel weekly are of working age; infants and elders travel otherwise
        working = np.isin(
            b, [i for i, (_n, _s, cls) in enumerate(BEHAVIOURS) if cls] + [_B["far_weekly"], _B["stopped"]]
        )
        age = np.where(working & ((age < 20) | (age > 55)), rng.choice(AGE_BUCKETS[1:9], size=size), age)
        anchor = np.datetime64(start, "D") - (age * 365.25).astype("timedelta64[D]")
        birth = anchor - (serial // 1000).astype("timedelta64[D]")
        self.id_number = id_numbers(self.county, birth, serial)
        expected = np.array([b_[2] or "" for b_ in BEHAVIOURS])
        self.expected = expected[b]
        self.events: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        """(person, day, minute, entering) arrays."""

    def _county_of(self, site: np.ndarray) -> np.ndarray:
        pick = self.rng.integers(0, 1 << 30, size=len(site))
        options = [SITES[s].counties for s in range(len(SITES))]
        return np.array(
            [options[s][p % len(options[s])] for s, p in zip(site.tolist(), pick.tolist(), strict=True)]
        )

    def _add(self, mask: np.ndarray, minutes: np.ndarray, entering: bool) -> None:
        who, day = np.nonzero(mask)
        self.events.append((who, day, minutes[who, day], np.full(len(who), entering)))

    def plan(self) -> None:
        rng, size, days, cal = self.rng, self.size, self.days, self.cal
        shape = (size, days)
        b = self.behaviour
        rolls = rng.random(shape)
        day_index = np.arange(days)[None, :]
        # daily commuters: attendance below 100 %, a sick spell, now and then a Saturday
        attendance = rng.uniform(0.82, 0.98, size=size)
        present = (cal.workday[None, :] & (rolls < attendance[:, None])) | (
            ~cal.workday[None, :] & (rolls > 0.985)
        )
        sick_from = rng.integers(-2 * days, days, size=size)  # a third of the people are ill once
        sick_len = rng.integers(1, 5, size=size)
        present &= ~((day_index >= sick_from[:, None]) & (day_index < (sick_from + sick_len)[:, None]))
        stop_day = rng.integers(2, max(3, days // 2 - 4), size=size)
        # a new joiner starts with at least two weeks of workdays left, so there is a pattern to see
        join_choices = np.nonzero((np.arange(days) >= days // 3) & (cal.workdays_after >= 10))[0]
        join_day = rng.choice(join_choices if len(join_choices) else np.array([days // 3]), size=size)
        daily = np.isin(b, _DAILY_LIKE)[:, None] & present
        daily &= ~((b == _B["stopped"])[:, None] & (day_index >= stop_day[:, None]))
        daily &= ~((b == _B["new_joiner"])[:, None] & (day_index < join_day[:, None]))
        phase = rng.integers(0, 8, size=size)
        shift = (b == _B["shift"])[:, None] & (((day_index + phase[:, None]) % 8) < 4) & (rolls < 0.95)
        commute = daily | shift
        enter_at = _minutes(rng, rng.uniform(6 * 60 + 20, 8 * 60 + 40, size=size), 12, shape)
        leave_at = _minutes(rng, rng.uniform(17 * 60, 19 * 60 + 30, size=size), 15, shape)
        self._add(commute, enter_at, True)
        self._add(commute & (rng.random(shape) > 0.04), leave_at, False)  # exits go missing
        self._weekly(enter_at, leave_at)
        # occasional travel: business trips and tourists
        business = np.nonzero(b == _B["business"])[0]
        tourist = np.nonzero(b == _B["tourist"])[0]
        for people, trips, stay, hours in (
            (business, rng.integers(1, 5, size=len(business)), (0, 2), (9, 17)),
            (tourist, np.ones(len(tourist), dtype=np.int64), (1, 4), (11, 15)),
        ):
            who, enter, leave = _trips(rng, people, trips, days, stay)
            self.events.append(
                (
                    who,
                    enter,
                    rng.integers(hours[0] * 60 - 60, hours[0] * 60 + 60, size=len(who)),
                    np.ones(len(who), bool),
                )
            )
            gone = leave < days
            self.events.append(
                (
                    who[gone],
                    leave[gone],
                    rng.integers(hours[1] * 60 - 60, hours[1] * 60 + 60, size=int(gone.sum())),
                    np.zeros(int(gone.sum()), bool),
                )
            )

    def _weekly(self, enter_at: np.ndarray, leave_at: np.ndarray) -> None:
        """The weekly rhythms, by the holiday calendar (a Monday holiday moves "Sunday evening" to
        the holiday's last day), with their noise (NOISE)."""
        rng, size, days, cal = self.rng, self.size, self.days, self.cal
        b = self.behaviour
        shape = (size, days)
        weeks = int(cal.week.max()) + 1
        missed = np.where(rng.random(size) < NOISE["missed_week"], rng.integers(0, weeks, size=size), -1)
        late = np.where(rng.random(size) < NOISE["late_return"], rng.integers(0, weeks, size=size), -1)
        holiday_home = rng.random(size) < NOISE["holiday_home"]
        away = (cal.week[None, :] == missed[:, None]) | (holiday_home[:, None] & cal.short_week[None, :])
        seen = rng.random(shape) >= NOISE["entry_lost"]
        evening = _minutes(rng, rng.uniform(18 * 60, 21 * 60 + 30, size=size), 25, shape)
        dawn = _minutes(rng, rng.uniform(5 * 60, 6 * 60 + 30, size=size), 15, shape)
        sunday_person = rng.random(size) < 0.5
        none = np.zeros(days, dtype=bool)
        # behaviour: (entry days, entry minutes, exit days, exit minutes)
        plans = {
            "weekly_mon_fri": (cal.first_wd, enter_at, cal.last_wd, np.minimum(leave_at + 30, 1439)),
            "far_weekly": (cal.first_wd, enter_at, cal.last_wd, np.minimum(leave_at + 30, 1439)),
            "weekly_sun_fri": (cal.eve, evening, cal.last_wd, np.minimum(leave_at + 30, 1439)),
            "weekly_sun_sat": (None, evening, cal.after, enter_at + 120),
            "weekly_fri_sun": (cal.last_wd, np.minimum(leave_at + 60, 1439), none, leave_at),
            "weekly_fri_mon": (cal.last_wd, np.minimum(leave_at + 60, 1439), cal.first_wd, dawn),
        }
        for name, (in_days, in_min, out_days, out_min) in plans.items():
            people = (b == _B[name])[:, None]
            if in_days is None:  # half come back on Sunday evening, half on Monday morning
                entry = people & np.where(sunday_person[:, None], cal.eve[None, :], cal.first_wd[None, :])
                in_min = np.where(sunday_person[:, None], evening, enter_at)
            else:
                entry = people & in_days[None, :]
            entry &= ~away
            # a late return: that week's entry a day later (the next morning, or Saturday midday)
            late_now = entry & (cal.week[None, :] == late[:, None])
            late_now[:, -1] = False
            entry &= ~late_now
            who, day = np.nonzero(late_now)
            self.events.append(
                (who, day + 1, rng.integers(9 * 60, 13 * 60, size=len(who)), np.ones(len(who), bool))
            )
            self._add(entry & seen, in_min, True)
            self._add(people & out_days[None, :] & ~away & (rng.random(shape) < 0.96), out_min, False)
        # family in Beijing, out on Sunday: on the last day off after the week's last workday
        who, day = np.nonzero((b == _B["weekly_fri_sun"])[:, None] & cal.last_wd[None, :] & ~away)
        back = cal.return_day[day]
        keep = (back < days) & (rng.random(len(who)) < 0.96)
        self.events.append(
            (
                who[keep],
                back[keep],
                rng.integers(15 * 60, 19 * 60, size=int(keep.sum())),
                np.zeros(int(keep.sum()), bool),
            )
        )

    def travel(self) -> pa.Table:
        who = np.concatenate([e[0] for e in self.events])
        day = np.concatenate([e[1] for e in self.events]).astype(np.int64)
        minute = np.concatenate([e[2] for e in self.events]).astype(np.int64)
        entering = np.concatenate([e[3] for e in self.events])
        # duplicate swipes: a second swipe at the same gate a minute or two later, or the very same row
        dup = self.rng.random(len(who)) < 0.02
        who = np.concatenate([who, who[dup]])
        day = np.concatenate([day, day[dup]])
        minute = np.concatenate(
            [minute, np.minimum(minute[dup] + self.rng.integers(0, 3, int(dup.sum())), 1439)]
        )
        entering = np.concatenate([entering, entering[dup]])
        order = np.lexsort((minute, day, who))
        who, day, minute, entering = who[order], day[order], minute[order], entering[order]
        moved = (self.behaviour[who] == _B["moved"]) & (day >= self.move_day[who])
        site = np.where(moved, self.new_site[who], self.site[who])
        # a mixed commuter: rail on about two days in five, from the same home county
        mixed = (self.behaviour[who] == _B["daily_mixed"]) & (self.rng.random(len(who)) < 0.4)
        site = np.where(mixed, self.alt_site[who], site)
        county = np.where(moved, self.new_county[who], self.county[who])
        moment = self.start + day.astype("timedelta64[D]") + minute.astype("timedelta64[m]")
        names = np.array([s.name for s in SITES])
        modes = np.array([s.mode for s in SITES])
        return pa.table(
            {
                "id_number": self.id_number[who],
                "event_time": np.datetime_as_string(moment, unit="m"),
                "direction": np.where(entering, "enter", "exit"),
                "mode": modes[site],
                "site": names[site],
                "county": county,
            }
        )

    def nat(self) -> pa.Table:
        rng, size, days = self.rng, self.size, self.days
        every = rng.choice(np.array([7, 7, 10, 14, 0]), size=size)
        every = np.where(self.expected != "", every, 0)
        offset = rng.integers(0, 14, size=size)
        day_index = np.arange(days)[None, :]
        regular = (every[:, None] > 0) & ((day_index + offset[:, None]) % np.maximum(every, 1)[:, None] == 0)
        regular &= rng.random((size, days)) > 0.08  # sometimes a test is missed
        before_trip = np.zeros((size, days), dtype=bool)
        for who, day, _minute, entering in self.events:
            pick = entering & (day >= 1) & (rng.random(len(who)) < 0.7)
            before_trip[who[pick], day[pick] - 1] = True
        who, day = np.nonzero(regular | before_trip)
        sampled_min = rng.integers(8, 21, size=len(who)) * 60 + rng.choice(
            np.array([0, 15, 30, 45]), size=len(who)
        )
        sampled = self.start + day.astype("timedelta64[D]") + sampled_min.astype("timedelta64[m]")
        reported = sampled + (rng.integers(4, 21, size=len(who)) * 60).astype("timedelta64[m]")
        # now and then a person's last test is positive
        last = np.ones(len(who), dtype=bool)
        last[:-1] = who[1:] != who[:-1]
        positive = last & (rng.random(size)[who] < 0.004)
        lab = np.array(LABS)[rng.integers(0, len(LABS), size=size)][who]
        return pa.table(
            {
                "id_number": self.id_number[who],
                "sampled_at": np.datetime_as_string(sampled, unit="m"),
                "reported_at": np.datetime_as_string(reported, unit="m"),
                "result": np.where(positive, "positive", "negative"),
                "lab": lab,
            }
        )

    def itinerary(self) -> pa.Table:
        """A trip card: every day in the home county for people who travel (or stay home),
        and for a few a side trip in the last 12 days, sometimes to a county with risk."""
        rng, days = self.rng, self.days
        travels = np.zeros(self.size, dtype=bool)
        for who, *_rest in self.events:
            travels[who] = True
        carded = np.nonzero(travels | (self.behaviour == _B["stay_home"]))[0]
        who = np.repeat(carded, days)
        day = np.tile(np.arange(days), len(carded))
        county = self.county[who]
        side = carded[rng.random(len(carded)) < 0.05]
        side_day = days - 1 - rng.integers(0, min(12, days), size=len(side))
        side_county = np.array(SIDE_TRIPS)[rng.integers(0, len(SIDE_TRIPS), size=len(side))]
        who = np.concatenate([who, side])
        day = np.concatenate([day, side_day])
        county = np.concatenate([county, side_county])
        keep = np.ones(len(who), dtype=bool)
        order = np.lexsort((county, day, who))
        who, day, county = who[order], day[order], county[order]
        keep[1:] = (who[1:] != who[:-1]) | (day[1:] != day[:-1]) | (county[1:] != county[:-1])
        when = self.start + day[keep].astype("timedelta64[D]")
        return pa.table(
            {
                "id_number": self.id_number[who[keep]],
                "date": np.datetime_as_string(when, unit="D"),
                "county": county[keep],
            }
        )

    def truth(self) -> pa.Table:
        names = np.array([s.name for s in SITES])
        modes = np.array([s.mode for s in SITES])
        moved = self.behaviour == _B["moved"]
        site = np.where(moved, self.new_site, self.site)
        return pa.table(
            {
                "id_number": self.id_number,
                "behaviour": np.array(_NAMES)[self.behaviour],
                "expected_class": self.expected,
                "home_county": np.where(moved, self.new_county, self.county),
                "site": names[site],
                "mode": modes[site],
            }
        )


def _risk(start: date, days: int) -> pa.Table:
    end = start + timedelta(days=days - 1)
    rows = [
        ("130821", "case", end - timedelta(days=8), None),  # 承德县: 承德 counts as a whole
        ("120116", "case", end - timedelta(days=20), end - timedelta(days=6)),  # 滨海新区: by district
        ("152501", "border_port", date(2020, 1, 1), None),  # 二连浩特: a land border port
    ]
    return pa.table(
        {
            "county": [r[0] for r in rows],
            "level": [r[1] for r in rows],
            "start": [r[2].isoformat() for r in rows],
            "end": [r[3].isoformat() if r[3] else "" for r in rows],
        }
    )


class _Writers:
    """One streaming writer per kind, Parquet or CSV, all columns as text (the load formats)."""

    def __init__(self, out: Path, fmt: str) -> None:
        self.fmt = fmt
        self.files = {kind: out / f"{kind}.{fmt}" for kind in COLUMNS}
        self._open: dict[str, Any] = {}

    def write(self, kind: str, table: pa.Table) -> None:
        schema = pa.schema([(c, pa.string()) for c in COLUMNS[kind]])
        table = table.select(list(COLUMNS[kind])).cast(schema)
        writer = self._open.get(kind)
        if writer is None:
            if self.fmt == "parquet":
                writer = pq.ParquetWriter(self.files[kind], schema, compression="zstd")
            else:
                writer = pacsv.CSVWriter(
                    self.files[kind], schema, write_options=pacsv.WriteOptions(quoting_style="needed")
                )
            self._open[kind] = writer
        writer.write_table(table)

    def close(self) -> None:
        for writer in self._open.values():
            writer.close()


def write_region(
    out: Path,
    *,
    people: int,
    days: int,
    start: date,
    seed: int = 7,
    fmt: str = "csv",
    progress: bool = False,
    chunk_people: int = CHUNK_PEOPLE,
) -> SynthResult:
    """Write travel, nat, itinerary, risk and truth files (``fmt``: csv or parquet) into ``out``."""
    if not 1 <= people <= MAX_PEOPLE:
        raise InputError("people", f"must be between 1 and {MAX_PEOPLE:,}", f"须在 1 到 {MAX_PEOPLE:,} 之间")
    if not 7 <= days <= 366:
        raise InputError("days", "must be between 7 and 366", "须在 7 到 366 之间")
    if fmt not in ("csv", "parquet"):
        raise InputError("format", f"'{fmt}' is not one of csv, parquet", f"“{fmt}”不是 csv 或 parquet")
    out.mkdir(parents=True, exist_ok=True)
    cal = _Calendar(start, days)
    writers = _Writers(out, fmt)
    travel_rows = 0
    bar = tqdm(total=people, unit="person", desc="synth", disable=not progress or None)
    try:
        for number, first in enumerate(range(0, people, chunk_people)):
            size = min(chunk_people, people - first)
            chunk = _Chunk(np.random.default_rng([seed, number]), first, size, start, cal)
            chunk.plan()
            travel = chunk.travel()
            travel_rows += travel.num_rows
            writers.write("travel", travel)
            writers.write("nat", chunk.nat())
            writers.write("itinerary", chunk.itinerary())
            writers.write("truth", chunk.truth())
            bar.update(size)
        writers.write("risk", _risk(start, days))
    finally:
        writers.close()
        bar.close()
    return SynthResult(out, people, travel_rows, writers.files)
