"""The synthetic region: deterministic, valid ID numbers, real holidays, every behaviour present."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from commutepass.domain.identity import parse_resident_id
from commutepass.domain.regions import region_catalog
from commutepass.domain.workdays import is_workday
from commutepass.policies import builtin_policies
from commutepass.synth import BEHAVIOURS, SITES, write_region


def test_the_same_seed_gives_the_same_files_and_another_seed_does_not(tmp_path: Path) -> None:
    kwargs = {"people": 700, "days": 14, "start": date(2021, 9, 27), "fmt": "parquet", "chunk_people": 300}
    a = write_region(tmp_path / "a", seed=5, **kwargs)  # type: ignore[arg-type]
    b = write_region(tmp_path / "b", seed=5, **kwargs)  # type: ignore[arg-type]
    c = write_region(tmp_path / "c", seed=6, **kwargs)  # type: ignore[arg-type]
    for kind in ("travel", "nat", "itinerary", "truth", "risk"):
        assert pq.read_table(a.files[kind]).equals(pq.read_table(b.files[kind])), kind
    assert not pq.read_table(a.files["travel"]).equals(pq.read_table(c.files["travel"]))


def test_people_rows_and_holidays(tmp_path: Path) -> None:
    # 2021-09-27 .. 2021-10-10: National Day (1–7 October) and two make-up workdays (26 Sep, 9 Oct)
    region = write_region(
        tmp_path, people=3000, days=14, start=date(2021, 9, 27), seed=3, fmt="csv", chunk_people=1000
    )
    truth = pacsv.read_csv(region.files["truth"]).to_pylist()
    travel = pacsv.read_csv(
        region.files["travel"], convert_options=pacsv.ConvertOptions(strings_can_be_null=False)
    ).to_pylist()
    ids = [str(row["id_number"]) for row in truth]
    assert len(set(ids)) == 3000
    # the loader's own rule (GB 11643 check digit, real date, a county code that ever existed)
    assert all(parse_resident_id(i).number == i for i in ids)
    assert {row["behaviour"] for row in truth} == {name for name, _share, _cls in BEHAVIOURS}
    catalog, ring = region_catalog(), builtin_policies().policies[-1].ring_area
    for site in SITES:
        assert all(code in catalog for code in site.counties), site
    homes = Counter((row["behaviour"], ring.contains(str(row["home_county"]))) for row in truth)
    assert homes[("far_weekly", True)] == 0 and homes[("daily_road", False)] == 0
    daily = {str(row["id_number"]) for row in truth if row["behaviour"] == "daily_road"}
    entry_days = Counter(
        date.fromisoformat(str(row["event_time"])[:10])
        for row in travel
        if row["direction"] == "enter" and str(row["id_number"]) in daily
    )
    on_holidays = sum(n for d, n in entry_days.items() if not is_workday(d))
    on_workdays = sum(n for d, n in entry_days.items() if is_workday(d))
    assert on_workdays > 20 * on_holidays  # daily commuters stay home on National Day
    assert entry_days[date(2021, 10, 9)] > 0.7 * len(daily)  # a Saturday, but a make-up workday
    assert region.travel_rows == len(travel)
