"""Regions (GB/T 2260), the ring area, and policy files as validated, versioned data."""

from __future__ import annotations

from pathlib import Path

import pytest

from commutepass.domain.errors import InputError
from commutepass.domain.policy import Policy, PolicyBook
from commutepass.domain.regions import RegionCatalog
from commutepass.policies import PolicyFileError, builtin_policies, load_policy_dir, load_policy_file

POLICY_DIR = Path(__file__).resolve().parents[2] / "src" / "commutepass" / "policies"


def test_catalog_knows_counties_with_prefecture_and_province(catalog: RegionCatalog) -> None:
    sanhe = catalog.county("131082")
    assert (sanhe.name, sanhe.prefecture_name, sanhe.province_name) == ("三河市", "廊坊市", "河北省")
    assert sanhe.full_name == "河北省廊坊市三河市"
    assert len(catalog) > 3000


@pytest.mark.parametrize(
    ("county", "unit"),
    [
        ("131082", "131000"),  # ordinary prefecture: 廊坊 counts as a whole
        ("130602", "130600"),  # 保定
        ("120114", "120114"),  # municipality: Tianjin by district
        ("110105", "110105"),  # Beijing
        ("500101", "500101"),  # Chongqing
        ("370212", "370212"),  # sub-provincial: Qingdao by district
        ("440305", "440305"),  # Shenzhen
        ("210102", "210102"),  # Shenyang
    ],
)
def test_risk_units(catalog: RegionCatalog, county: str, unit: str) -> None:
    assert catalog.county(county).risk_unit == unit


def test_unknown_county_is_a_clear_error(catalog: RegionCatalog) -> None:
    with pytest.raises(InputError, match="GB/T 2260"):
        catalog.county("999999")


@pytest.mark.parametrize(
    ("county", "inside"),
    [
        ("120114", True),  # 武清: all of Tianjin
        ("131082", True),  # 三河 (廊坊)
        ("130681", True),  # 涿州 (保定)
        ("130702", True),  # 张家口
        ("130802", True),  # 承德
        ("130102", False),  # 石家庄: not ring area
        ("130202", False),  # 唐山
        ("110105", False),  # Beijing itself
    ],
)
def test_ring_area_is_explicit(p2021: Policy, p2020: Policy, county: str, inside: bool) -> None:
    assert p2021.ring_area.contains(county) is inside
    assert p2020.ring_area.contains(county) is inside  # the 2020 "等" made explicit, the same list


def test_builtin_versions_and_named_parameters() -> None:
    book = builtin_policies()
    assert [p.version for p in book.policies] == ["2020-02-14", "2021-11-17"]
    p = book.by_version("2021-11-17")
    assert p.nat.entry_window_hours == 48 and p.nat.entry_window_from == "sampled_at"
    assert p.nat.commuter_valid_days == 14
    assert p.special.infant_max_age == 3
    assert book.effective_to(book.policies[0]) == p.effective_from


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_broken_policy_file_names_file_and_field(tmp_path: Path) -> None:
    text = (POLICY_DIR / "2021-11-17.toml").read_text(encoding="utf-8")
    path = _write(
        tmp_path, "2021-11-17.toml", text.replace("entry_window_hours = 48", "entry_window_hours = -1")
    )
    with pytest.raises(PolicyFileError, match=r"2021-11-17\.toml: nat\.entry_window_hours"):
        load_policy_file(path)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    text = (POLICY_DIR / "2021-11-17.toml").read_text(encoding="utf-8")
    path = _write(tmp_path, "2021-11-17.toml", text.replace("[nat]\n", "[nat]\nentry_window_hourz = 24\n"))
    with pytest.raises(PolicyFileError, match="entry_window_hourz"):
        load_policy_file(path)


def test_file_name_must_be_the_version(tmp_path: Path) -> None:
    path = _write(tmp_path, "latest.toml", (POLICY_DIR / "2021-11-17.toml").read_text(encoding="utf-8"))
    with pytest.raises(PolicyFileError, match="file name must be the version"):
        load_policy_file(path)


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="not valid TOML"):
        load_policy_file(_write(tmp_path, "x.toml", "version = "))


def test_risk_rules_need_outcomes_when_enabled(tmp_path: Path) -> None:
    text = (
        (POLICY_DIR / "2020-02-14.toml")
        .read_text(encoding="utf-8")
        .replace("enabled = false", "enabled = true")
    )
    with pytest.raises(PolicyFileError, match="risk"):
        load_policy_file(_write(tmp_path, "2020-02-14.toml", text))


def test_a_new_version_is_just_a_new_file(tmp_path: Path) -> None:
    for source in POLICY_DIR.glob("*.toml"):
        _write(tmp_path, source.name, source.read_text(encoding="utf-8"))
    text = (POLICY_DIR / "2021-11-17.toml").read_text(encoding="utf-8")
    text = text.replace('version = "2021-11-17"', 'version = "2022-01-01"')
    text = text.replace(
        "effective_from = 2021-11-17T00:00:00+08:00", "effective_from = 2022-01-01T00:00:00+08:00"
    )
    text = text.replace("entry_window_hours = 48", "entry_window_hours = 72")
    _write(tmp_path, "2022-01-01.toml", text)
    book = load_policy_dir(tmp_path)
    assert isinstance(book, PolicyBook)
    assert book.latest().nat.entry_window_hours == 72


def test_two_versions_at_the_same_time_are_refused(p2021: Policy) -> None:
    twin = p2021.model_copy(update={"version": "twin"})
    with pytest.raises(ValueError, match="same time"):
        PolicyBook([p2021, twin])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("weekly_office_start_hour = 9", "weekly_office_start_hour = 18", "weekly_office_start_hour"),
        ("weekly_short_window_min_weeks = 2", "weekly_short_window_min_weeks = 4", "weekly_short_window"),
        ("weekly_full_week_min_workdays = 3", "weekly_full_week_min_workdays = 0", "full_week"),
    ],
)
def test_identification_thresholds_are_validated(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = (POLICY_DIR / "2021-11-17.toml").read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(PolicyFileError, match=message):
        load_policy_file(_write(tmp_path, "2021-11-17.toml", text.replace(old, new)))
