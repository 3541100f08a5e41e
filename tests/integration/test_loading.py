"""Loading travel, NAT, itinerary and risk files, CSV and Parquet, into both stores."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Connection, func, select

from commutepass.domain.clock import BEIJING
from commutepass.domain.errors import LoadError
from commutepass.kit.context import App
from commutepass.loads.service import COLUMNS, load_file, rejects_path
from commutepass.store import repositories as repo
from commutepass.store.tables import itinerary, loads, nat_results, people, risk_periods, travel
from tests.helpers import (
    make_id,
    masked,
    read_rejects,
    row_counts,
    with_wrong_check_digit,
    write_csv,
    write_parquet,
)

A = make_id("131024", date(1988, 5, 17), 11)  # 香河
B = make_id("120114", date(1992, 12, 1), 22)  # 武清
C = make_id("130681", date(1975, 2, 28), 33)  # 涿州

GOOD: dict[str, list[tuple[str, ...]]] = {
    "travel": [
        (A, "2021-11-22T07:30", "enter", "road", "西集检查站", "131024"),
        (A, "2021-11-22T19:05", "exit", "road", "西集检查站", "131024"),
        (B, "2021-11-22T08:10+08:00", "enter", "rail", "武清站", "120114"),
        (C, "2021-11-23 06:55", "ENTER", "Road", "琉璃河检查站", "130681"),
    ],
    "nat": [
        (A, "2021-11-20T08:00", "2021-11-20T18:00", "negative", "廊坊市人民医院"),
        (B, "2021-11-21T09:15", "2021-11-21T21:00", "negative", "天津金域医学检验"),
        (C, "2021-11-21T10:00", "2021-11-22T02:00", "positive", "保定市第一医院"),
    ],
    "itinerary": [
        (A, "2021-11-20", "131024"),
        (A, "2021-11-21", "131024"),
        (B, "2021-11-20", "120114"),
        (B, "2021-11-21", "120116"),
    ],
    "risk": [
        ("130821", "case", "2021-11-12", ""),
        ("120116", "case", "2021-11-01", "2021-11-20"),
        ("152501", "border_port", "2020-01-01", ""),
    ],
}

BAD_ID = with_wrong_check_digit(make_id("131082", date(1990, 3, 7), 44))


@dataclass(frozen=True)
class Bad:
    row: tuple[str, ...]
    field: str
    says: str
    """A piece of the English reason."""


BAD: dict[str, list[Bad]] = {
    "travel": [
        Bad(
            (BAD_ID, "2021-11-22T07:30", "enter", "road", "西集检查站", "131024"), "id_number", "check digit"
        ),
        Bad((A, "2021-13-40T07:00", "enter", "road", "西集检查站", "131024"), "event_time", "ISO 8601"),
        Bad((A, "2021-11-23T07:30", "in", "road", "西集检查站", "131024"), "direction", "enter, exit"),
        Bad((B, "2021-11-23T08:00", "enter", "rail", "武清站", "999999"), "county", "GB/T 2260"),
    ],
    "nat": [
        Bad((A, "2021-11-22T08:00", "2021-11-22T07:00", "negative", "lab"), "reported_at", "earlier than"),
        Bad((BAD_ID, "2021-11-22T08:00", "2021-11-22T18:00", "negative", "lab"), "id_number", "check digit"),
        Bad((B, "yesterday", "2021-11-22T18:00", "negative", "lab"), "sampled_at", "ISO 8601"),
    ],
    "itinerary": [
        Bad((A, "2021-11-22", "999999"), "county", "GB/T 2260"),
        Bad((B, "2021/11/22", "120114"), "date", "YYYY-MM-DD"),
        Bad((BAD_ID, "2021-11-22", "120114"), "id_number", "check digit"),
    ],
    "risk": [
        Bad(("130102", "case", "2021-11-20", "2021-11-10"), "end", "earlier than start"),
        Bad(("999999", "case", "2021-11-20", ""), "county", "GB/T 2260"),
        Bad(("130102", "outbreak", "2021-11-20", ""), "level", "case, border_port"),
    ],
}

KINDS = tuple(COLUMNS)


@dataclass(frozen=True)
class Format:
    suffix: str
    write: Callable[[Path, Sequence[str], list[tuple[str, ...]]], Path]
    first_row: int
    """The row number of the first data row: a CSV counts its header as row 1."""


FORMATS = {
    "csv": Format(".csv", write_csv, 2),
    "parquet": Format(".parquet", write_parquet, 1),
}


@pytest.fixture(params=list(FORMATS))
def fmt(request: pytest.FixtureRequest) -> Format:
    return FORMATS[request.param]


def _count(app: App, kind: str) -> int:
    table = {"travel": travel, "nat": nat_results, "itinerary": itinerary, "risk": risk_periods}[kind]
    with app.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


SEEDED = {"alembic_version", "policy_versions"}
"""Tables the app fills when it opens (the schema's revision; the built-in policy versions)."""


def _empty(app: App) -> bool:
    return all(n == 0 for name, n in row_counts(app.engine).items() if name not in SEEDED)


@pytest.mark.parametrize("kind", KINDS)
def test_good_file_loads_and_loading_again_adds_nothing(
    app: App, tmp_path: Path, fmt: Format, kind: str
) -> None:
    path = fmt.write(tmp_path / f"{kind}{fmt.suffix}", COLUMNS[kind], GOOD[kind])
    rows = len(GOOD[kind])

    first = load_file(app, kind, path)

    assert (first.rows, first.added, first.duplicate, first.rejected) == (rows, rows, 0, 0)
    assert first.rejects_file is None and not rejects_path(path).exists()
    assert _count(app, kind) == rows
    with app.engine.connect() as conn:
        recorded = conn.execute(select(loads)).one()
    assert (recorded.kind, recorded.file_name, recorded.rows_total, recorded.rows_added) == (
        kind,
        str(path),
        rows,
        rows,
    )
    assert (recorded.rows_duplicate, recorded.rows_rejected) == (0, 0)
    assert len(recorded.sha256) == 64

    again = load_file(app, kind, path)

    assert (again.rows, again.added, again.duplicate, again.rejected) == (rows, 0, rows, 0)
    assert _count(app, kind) == rows


def test_travel_times_are_stored_as_instants(app: App, tmp_path: Path, fmt: Format) -> None:
    load_file(app, "travel", fmt.write(tmp_path / f"travel{fmt.suffix}", COLUMNS["travel"], GOOD["travel"]))
    with app.engine.connect() as conn:
        stored = conn.execute(
            select(travel.c.event_time, travel.c.direction, travel.c.mode, travel.c.site).order_by(
                travel.c.event_time
            )
        ).all()
    assert [tuple(r) for r in stored] == [
        (datetime(2021, 11, 21, 23, 30, tzinfo=UTC), "enter", "road", "西集检查站"),
        (datetime(2021, 11, 22, 0, 10, tzinfo=UTC), "enter", "rail", "武清站"),
        (datetime(2021, 11, 22, 11, 5, tzinfo=UTC), "exit", "road", "西集检查站"),
        (datetime(2021, 11, 22, 22, 55, tzinfo=UTC), "enter", "road", "琉璃河检查站"),  # "ENTER", "Road"
    ]


def test_people_are_stored_once_each_without_raw_numbers(app: App, tmp_path: Path, fmt: Format) -> None:
    for kind in ("travel", "nat", "itinerary"):
        load_file(app, kind, fmt.write(tmp_path / f"{kind}{fmt.suffix}", COLUMNS[kind], GOOD[kind]))
    with app.engine.connect() as conn:
        stored = conn.execute(select(people.c.id_masked, people.c.birth_date, people.c.person_key)).all()
    assert sorted((r.id_masked, r.birth_date) for r in stored) == sorted(
        [(masked(A), date(1988, 5, 17)), (masked(B), date(1992, 12, 1)), (masked(C), date(1975, 2, 28))]
    )
    assert all(r.person_key not in (A, B, C) and len(r.person_key) == 64 for r in stored)


def test_risk_file_sets_the_risk_map(app: App, tmp_path: Path, fmt: Format) -> None:
    assert app.risk_map().by_county == {}
    load_file(app, "risk", fmt.write(tmp_path / f"risk{fmt.suffix}", COLUMNS["risk"], GOOD["risk"]))
    with app.engine.connect() as conn:
        periods = {(p.county, p.level.value, p.start, p.end) for p in repo.all_risk_periods(conn)}
    assert periods == {
        ("130821", "case", date(2021, 11, 12), None),
        ("120116", "case", date(2021, 11, 1), date(2021, 11, 20)),
        ("152501", "border_port", date(2020, 1, 1), None),
    }
    assert set(app.risk_map().by_county) >= {"130821", "120116", "152501"}


def test_a_risk_period_takes_the_new_end_date_of_a_later_file(app: App, tmp_path: Path, fmt: Format) -> None:
    load_file(app, "risk", fmt.write(tmp_path / f"risk1{fmt.suffix}", COLUMNS["risk"], GOOD["risk"]))
    ended = [("130821", "case", "2021-11-12", "2021-11-30"), *GOOD["risk"][1:]]
    second = load_file(app, "risk", fmt.write(tmp_path / f"risk2{fmt.suffix}", COLUMNS["risk"], ended))
    assert (second.added, second.duplicate) == (1, 2)
    with app.engine.connect() as conn:
        periods = repo.all_risk_periods(conn)
        first_known = repo.all_risk_periods(conn, known_at=second_loaded_before(conn))
    ends = {p.county: p.end for p in periods}
    assert ends["130821"] == date(2021, 11, 30)
    assert len(periods) == 3
    # the new end is a new row (issue 11): the version known before the second file stays
    assert _count(app, "risk") == 4
    assert {p.county: p.end for p in first_known}["130821"] is None


def second_loaded_before(conn: Connection) -> datetime:
    """Just before the second risk load was recorded."""
    loaded = conn.execute(select(loads.c.loaded_at).order_by(loads.c.id.desc()).limit(1)).scalar_one()
    return loaded - timedelta(microseconds=1)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_rows_go_to_the_rejects_file_and_good_rows_load(
    app: App, tmp_path: Path, fmt: Format, kind: str
) -> None:
    # good and bad rows interleaved: good, bad, good, bad, ...
    good, bad = GOOD[kind], BAD[kind]
    rows: list[tuple[str, ...]] = []
    expected: list[tuple[int, str]] = []
    for i in range(max(len(good), len(bad))):
        if i < len(good):
            rows.append(good[i])
        if i < len(bad):
            rows.append(bad[i].row)
            expected.append((fmt.first_row + len(rows) - 1, bad[i].field))
    path = fmt.write(tmp_path / f"{kind}{fmt.suffix}", COLUMNS[kind], rows)

    summary = load_file(app, kind, path)

    assert (summary.rows, summary.added, summary.rejected) == (len(rows), len(good), len(bad))
    assert summary.rejects_file == str(rejects_path(path)) == str(path) + ".rejects.csv"
    rejects = read_rejects(rejects_path(path))
    assert list(rejects[0]) == ["row", "field", "reason", "reason_zh"]
    assert [(int(r["row"]), r["field"]) for r in rejects] == expected
    for reject, case in zip(rejects, bad, strict=True):
        assert case.says in reject["reason"]
        assert reject["reason_zh"].strip()
        assert BAD_ID not in reject["reason"] + reject["reason_zh"]  # the raw number is masked
    assert _count(app, kind) == len(good)
    with app.engine.connect() as conn:
        assert conn.execute(select(loads.c.rows_rejected)).scalar_one() == len(bad)


def test_a_clean_reload_removes_the_old_rejects_file(app: App, tmp_path: Path) -> None:
    path = tmp_path / "travel.csv"
    write_csv(path, COLUMNS["travel"], [*GOOD["travel"], BAD["travel"][0].row])
    load_file(app, "travel", path)
    assert rejects_path(path).exists()
    write_csv(path, COLUMNS["travel"], GOOD["travel"])
    load_file(app, "travel", path)
    assert not rejects_path(path).exists()


def test_blank_lines_are_skipped_but_counted_in_row_numbers(app: App, tmp_path: Path) -> None:
    header = ",".join(COLUMNS["itinerary"])
    good = ",".join(GOOD["itinerary"][0])
    bad = ",".join(BAD["itinerary"][0].row)
    path = tmp_path / "itinerary.csv"
    path.write_text(f"\ufeff{header}\r\n{good}\r\n\r\n,,\r\n{bad}\r\n", encoding="utf-8")
    summary = load_file(app, "itinerary", path)
    assert (summary.rows, summary.added, summary.rejected) == (2, 1, 1)
    assert [(r["row"], r["field"]) for r in read_rejects(rejects_path(path))] == [("5", "county")]


def test_parquet_with_typed_columns_loads(app: App, tmp_path: Path) -> None:
    """Timestamps and dates stored as such in Parquet read as the instants and days they are;
    a timestamp without a zone is Beijing time, as a time without an offset is in a CSV."""
    moments = [datetime(2021, 11, 22, 7, 30, tzinfo=BEIJING), datetime(2021, 11, 22, 19, 5, tzinfo=BEIJING)]
    travel_columns = {"id_number": [A, A], "direction": ["enter", "exit"], "mode": ["road", "road"]}
    travel_columns |= {"site": ["西集检查站", "西集检查站"], "county": ["131024", "131024"]}
    zoned = pa.array(moments, type=pa.timestamp("s", tz="Asia/Shanghai"))
    naive = pa.array([m.replace(tzinfo=None) + timedelta(days=1) for m in moments], type=pa.timestamp("s"))
    pq.write_table(pa.table({**travel_columns, "event_time": zoned}), tmp_path / "zoned.parquet")
    pq.write_table(pa.table({**travel_columns, "event_time": naive}), tmp_path / "naive.parquet")
    pq.write_table(
        pa.table(
            {"id_number": [A], "date": pa.array([date(2021, 11, 21)], type=pa.date32()), "county": ["131024"]}
        ),
        tmp_path / "itinerary.parquet",
    )

    assert load_file(app, "travel", tmp_path / "zoned.parquet").added == 2
    assert load_file(app, "travel", tmp_path / "naive.parquet").added == 2
    assert load_file(app, "itinerary", tmp_path / "itinerary.parquet").added == 1

    with app.engine.connect() as conn:
        times = conn.execute(select(travel.c.event_time).order_by(travel.c.event_time)).scalars().all()
        days = conn.execute(select(itinerary.c.day)).scalars().all()
    assert times == [
        datetime(2021, 11, 21, 23, 30, tzinfo=UTC),
        datetime(2021, 11, 22, 11, 5, tzinfo=UTC),
        datetime(2021, 11, 22, 23, 30, tzinfo=UTC),
        datetime(2021, 11, 23, 11, 5, tzinfo=UTC),
    ]
    assert days == [date(2021, 11, 21)]


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_column_stores_nothing(app: App, tmp_path: Path, fmt: Format, kind: str) -> None:
    dropped = COLUMNS[kind][1]
    keep = [i for i, name in enumerate(COLUMNS[kind]) if name != dropped]
    header = [COLUMNS[kind][i] for i in keep]
    path = fmt.write(
        tmp_path / f"{kind}{fmt.suffix}", header, [tuple(r[i] for i in keep) for r in GOOD[kind]]
    )

    with pytest.raises(LoadError) as caught:
        load_file(app, kind, path)

    assert f"missing: {dropped}" in caught.value.en
    assert dropped in caught.value.zh
    assert caught.value.path == path
    assert _empty(app)
    assert not rejects_path(path).exists()


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("travel.csv", b"", "empty"),
        ("travel.parquet", b"", "Parquet"),
        ("travel.parquet", b"id_number,event_time\n", "Parquet"),
    ],
)
def test_an_empty_or_unreadable_file_is_refused(
    app: App, tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError) as caught:
        load_file(app, "travel", path)
    assert says in caught.value.en
    assert caught.value.zh
    assert _empty(app)


def test_a_header_only_file_loads_nothing(app: App, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "nat.csv", COLUMNS["nat"], [])
    summary = load_file(app, "nat", path)
    assert (summary.rows, summary.added, summary.rejected) == (0, 0, 0)
    assert row_counts(app.engine)["loads"] == 1


def test_a_missing_file_and_an_unknown_kind_are_refused(app: App, tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no such file"):
        load_file(app, "travel", tmp_path / "nowhere.csv")
    path = write_csv(tmp_path / "travel.csv", COLUMNS["travel"], GOOD["travel"])
    with pytest.raises(LoadError, match="unknown kind"):
        load_file(app, "vaccinations", path)
    assert _empty(app)


def _gbk_travel_line() -> bytes:
    return f"{A},2021-11-22T07:30,enter,road,西集检查站,131024\n".encode("gbk")


def test_a_non_utf8_file_is_refused(app: App, tmp_path: Path) -> None:
    path = tmp_path / "travel.csv"
    path.write_bytes((",".join(COLUMNS["travel"]) + "\n").encode() + _gbk_travel_line())
    with pytest.raises(LoadError) as caught:
        load_file(app, "travel", path)
    assert "UTF-8" in caught.value.en and "UTF-8" in caught.value.zh
    assert _empty(app)


def test_a_non_utf8_row_deep_in_a_file_is_named_and_nothing_is_stored(app: App, tmp_path: Path) -> None:
    """The bad row lies well past the first block the reader decodes: its number must still be right."""
    good = [
        f"{A},2021-11-{1 + n // 100:02d}T07:{n % 60:02d},enter,road,site {n},131024\n" for n in range(2000)
    ]
    path = tmp_path / "travel.csv"
    path.write_bytes(
        (",".join(COLUMNS["travel"]) + "\n" + "".join(good)).encode() + _gbk_travel_line() + good[0].encode()
    )
    with pytest.raises(LoadError) as caught:
        load_file(app, "travel", path)
    assert caught.value.en == "row 2002 is not UTF-8 text"
    assert "2002" in caught.value.zh
    assert _empty(app)
