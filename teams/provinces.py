"""The 34 provinces and centrally-run cities of Vietnam from 1/7/2025, and the former ones.

Resolutions 202/2025/QH15 merged 63 provinces into 34 and abolished the district tier.
Citizens still name their old province ("Bình Dương", "Bắc Kạn"), so every former name is
kept as an alias of the province that absorbed it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.text import fold_diacritics, normalize

CITY = "thành phố"
PROVINCE = "tỉnh"


def slug(text: str) -> str:
    """ASCII identifier of a name: "Phường Tích Lương" -> "phuong-tich-luong"."""
    return re.sub(r"[^a-z0-9]+", "-", fold_diacritics(text).lower()).strip("-")


def folded(text: str) -> str:
    """The form names are compared in (the project's one normaliser)."""
    return normalize(text)


@dataclass(frozen=True)
class ProvinceInfo:
    name: str  # "Hồ Chí Minh"
    kind: str  # tỉnh | thành phố
    aliases: tuple[str, ...] = ()  # common spellings, abbreviations
    former: tuple[str, ...] = ()  # provinces merged into it in 2025

    @property
    def code(self) -> str:
        return slug(self.name)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


PROVINCES: tuple[ProvinceInfo, ...] = (
    # The six centrally-run cities.
    ProvinceInfo("Hà Nội", CITY, ("HN", "Hanoi")),
    ProvinceInfo("Huế", CITY, ("Thừa Thiên Huế", "TT Huế")),
    ProvinceInfo("Hải Phòng", CITY, (), ("Hải Dương",)),
    ProvinceInfo("Đà Nẵng", CITY, ("Danang",), ("Quảng Nam",)),
    ProvinceInfo("Hồ Chí Minh", CITY, ("HCM", "TPHCM", "TP HCM", "Sài Gòn", "SG"),
                 ("Bình Dương", "Bà Rịa - Vũng Tàu", "BRVT")),
    ProvinceInfo("Cần Thơ", CITY, (), ("Sóc Trăng", "Hậu Giang")),
    # Provinces left as they were.
    ProvinceInfo("Cao Bằng", PROVINCE),
    ProvinceInfo("Điện Biên", PROVINCE),
    ProvinceInfo("Hà Tĩnh", PROVINCE),
    ProvinceInfo("Lai Châu", PROVINCE),
    ProvinceInfo("Lạng Sơn", PROVINCE),
    ProvinceInfo("Nghệ An", PROVINCE),
    ProvinceInfo("Quảng Ninh", PROVINCE),
    ProvinceInfo("Sơn La", PROVINCE),
    ProvinceInfo("Thanh Hóa", PROVINCE),
    # Provinces formed by merging.
    ProvinceInfo("Tuyên Quang", PROVINCE, (), ("Hà Giang",)),
    ProvinceInfo("Lào Cai", PROVINCE, (), ("Yên Bái",)),
    ProvinceInfo("Thái Nguyên", PROVINCE, (), ("Bắc Kạn",)),
    ProvinceInfo("Phú Thọ", PROVINCE, (), ("Vĩnh Phúc", "Hòa Bình")),
    ProvinceInfo("Bắc Ninh", PROVINCE, (), ("Bắc Giang",)),
    ProvinceInfo("Hưng Yên", PROVINCE, (), ("Thái Bình",)),
    ProvinceInfo("Ninh Bình", PROVINCE, (), ("Hà Nam", "Nam Định")),
    ProvinceInfo("Quảng Trị", PROVINCE, (), ("Quảng Bình",)),
    ProvinceInfo("Quảng Ngãi", PROVINCE, (), ("Kon Tum",)),
    ProvinceInfo("Gia Lai", PROVINCE, (), ("Bình Định",)),
    ProvinceInfo("Khánh Hòa", PROVINCE, (), ("Ninh Thuận",)),
    ProvinceInfo("Lâm Đồng", PROVINCE, (), ("Đắk Nông", "Bình Thuận")),
    ProvinceInfo("Đắk Lắk", PROVINCE, ("Daklak", "Đắc Lắc"), ("Phú Yên",)),
    ProvinceInfo("Đồng Nai", PROVINCE, (), ("Bình Phước",)),
    ProvinceInfo("Tây Ninh", PROVINCE, (), ("Long An",)),
    ProvinceInfo("Vĩnh Long", PROVINCE, (), ("Bến Tre", "Trà Vinh")),
    ProvinceInfo("Đồng Tháp", PROVINCE, (), ("Tiền Giang",)),
    ProvinceInfo("Cà Mau", PROVINCE, (), ("Bạc Liêu",)),
    ProvinceInfo("An Giang", PROVINCE, (), ("Kiên Giang",)),
)
assert len(PROVINCES) == 34

BY_CODE: dict[str, ProvinceInfo] = {p.code: p for p in PROVINCES}

# Words before a province name: "tỉnh", "thành phố", "TP." ("tp" expands to "thành phố").
_PROVINCE_PREFIXES = (("thanh", "pho"), ("tinh",))


def strip_province_prefix(tokens: list[str]) -> list[str]:
    for prefix in _PROVINCE_PREFIXES:
        if tuple(tokens[: len(prefix)]) == prefix and len(tokens) > len(prefix):
            return tokens[len(prefix):]
    return tokens


def _keys() -> tuple[dict[str, ProvinceInfo], dict[str, ProvinceInfo]]:
    current: dict[str, ProvinceInfo] = {}
    former: dict[str, ProvinceInfo] = {}
    for p in PROVINCES:
        for name in (p.name, *p.aliases):
            current[folded(name)] = p
        for name in p.former:
            former[folded(name)] = p
    return current, former


_CURRENT, _FORMER = _keys()


def resolve(name: str) -> tuple[ProvinceInfo | None, ProvinceInfo | None]:
    """(province, None) for a current name in any spelling ("TP. Hồ Chí Minh", "ha noi");
    (None, absorbing province) for a former one ("Bắc Kạn"); (None, None) otherwise."""
    tokens = strip_province_prefix(folded(name).split())
    key = " ".join(tokens)
    if key in _CURRENT:
        return _CURRENT[key], None
    return None, _FORMER.get(key)


def phrases(info: ProvinceInfo) -> list[str]:
    """Every name a citizen may use for the province, former provinces included."""
    return [info.name, *info.aliases, *info.former]
