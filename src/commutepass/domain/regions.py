"""Administrative divisions (GB/T 2260) and how risk is counted over them.

The county list comes from python-stdnum's ``cn/loc`` database (GB/T 2260 codes with the
years each name was in force). A risk "unit" is what counts as one place when a case is
found: the county itself in the four municipalities and the 15 sub-provincial cities, the
whole prefecture city everywhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from stdnum import numdb

from commutepass.domain.errors import InputError

MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
"""Beijing, Tianjin, Shanghai, Chongqing: provinces whose counties count one by one."""

SUB_PROVINCIAL_CITIES = frozenset(
    {
        "2101",  # 沈阳
        "2102",  # 大连
        "2201",  # 长春
        "2301",  # 哈尔滨
        "3201",  # 南京
        "3301",  # 杭州
        "3302",  # 宁波
        "3502",  # 厦门
        "3701",  # 济南
        "3702",  # 青岛
        "4201",  # 武汉
        "4401",  # 广州
        "4403",  # 深圳
        "5101",  # 成都
        "6101",  # 西安
    }
)
"""The 15 sub-provincial cities (副省级城市): their districts and counties count one by one."""

_NAME_SPAN = re.compile(r"^\[(\d*)-(\d*)\](.*)$")


@dataclass(frozen=True, slots=True)
class County:
    code: str
    name: str
    prefecture_code: str
    prefecture_name: str
    province_code: str
    province_name: str
    current: bool
    """False for a code that GB/T 2260 has since withdrawn."""

    @property
    def risk_unit(self) -> str:
        """The code of the place a case here makes risky as a whole (see module doc)."""
        if self.province_code in MUNICIPALITIES or self.prefecture_code[:4] in SUB_PROVINCIAL_CITIES:
            return self.code
        return self.prefecture_code

    @property
    def full_name(self) -> str:
        parts = [self.province_name]
        if self.prefecture_name and self.prefecture_name not in {
            "市辖区",
            "县",
            self.province_name,
        }:
            parts.append(self.prefecture_name)
        if self.name not in {self.prefecture_name, "市辖区"}:
            parts.append(self.name)
        return "".join(parts)


def _latest_name(spec: str) -> tuple[str, bool]:
    """Pick the name in force now from stdnum's ``[1983-2014]桥东区,[2014-]…`` notation."""
    best = ""
    current = False
    for part in spec.split(","):
        match = _NAME_SPAN.match(part)
        if match is None:
            return part, True
        _start, end, name = match.groups()
        if not end:
            return name, True
        best = name
    return best, current


class RegionCatalog:
    """Every county-level code, with its prefecture and province."""

    def __init__(self, counties: dict[str, County]) -> None:
        self._counties = counties

    def __len__(self) -> int:
        return len(self._counties)

    def __contains__(self, code: object) -> bool:
        return code in self._counties

    def get(self, code: str) -> County | None:
        return self._counties.get(code)

    def county(self, code: str, field: str = "county") -> County:
        found = self._counties.get(code.strip())
        if found is None:
            raise InputError(
                field,
                f"'{code}' is not a county-level administrative division code (GB/T 2260)",
                f"“{code}”不是县级行政区划代码（GB/T 2260）",
            )
        return found

    def counties(self) -> list[County]:
        return list(self._counties.values())


@lru_cache(maxsize=1)
def region_catalog() -> RegionCatalog:
    """Build the catalog once from python-stdnum's GB/T 2260 data."""
    db = numdb.get("cn/loc")
    counties: dict[str, County] = {}
    # numdb rows are (length, low, high, properties, children); these rows are single codes
    for _len, province_code, _high, province_props, children in db.prefixes:
        province_name = province_props.get("province", "")
        names: dict[str, tuple[str, bool]] = {}
        for _clen, suffix, _chigh, props, _grand in children:
            names[suffix] = _latest_name(props.get("county", ""))
        for suffix, (name, current) in names.items():
            if suffix.endswith("00"):
                continue  # prefecture or province rows, not counties
            prefecture_suffix = suffix[:2] + "00"
            prefecture_name, _ = names.get(prefecture_suffix, ("", False))
            code = province_code + suffix
            counties[code] = County(
                code=code,
                name=name,
                prefecture_code=province_code + prefecture_suffix,
                prefecture_name=prefecture_name,
                province_code=province_code,
                province_name=province_name,
                current=current,
            )
    return RegionCatalog(counties)
