"""Routing a citizen's free-text location: commune, province default, central queue."""

from __future__ import annotations

import pytest

from teams.routing import Router, route
from tests.teams.sample import sample_directory

ROUTER = Router(sample_directory())
TN, PT, TQ, HCM = "thai-nguyen", "phu-tho", "tuyen-quang", "ho-chi-minh"


@pytest.mark.parametrize(
    ("text", "level", "team", "commune", "province"),
    [
        # Diacritics, case, extra words, prefixes.
        ("xa tan lap thai nguyen", "commune", f"{TN}/xa-tan-lap", "xã Tân Lập", TN),
        ("Tôi ở xã Tân Lập, tỉnh Thái Nguyên ạ", "commune", f"{TN}/xa-tan-lap", "xã Tân Lập", TN),
        ("XÃ TÂN LẬP - THÁI NGUYÊN", "commune", f"{TN}/xa-tan-lap", "xã Tân Lập", TN),
        ("X.Tân Lập, T.Nguyên... Thái Nguyên", "commune", f"{TN}/xa-tan-lap", "xã Tân Lập", TN),
        ("p tich luong", "commune", f"{TN}/phuong-tich-luong", "phường Tích Lương", TN),
        ("P.Tích Lương", "commune", f"{TN}/phuong-tich-luong", "phường Tích Lương", TN),
        ("F. tích lương nha", "commune", f"{TN}/phuong-tich-luong", "phường Tích Lương", TN),
        ("phường tichluong", "commune", f"{TN}/phuong-tich-luong", "phường Tích Lương", TN),
        ("TÍCH LƯƠNG", "commune", f"{TN}/phuong-tich-luong", "phường Tích Lương", TN),
        ("mình ở phú xá", "commune", f"{TN}/phuong-tich-luong", "phường Tích Lương", TN),  # alias
        ("tp sai gon", "central", "central", None, HCM),  # the city (no default team), not the ward
        ("phuong ben nghe, quan 1, tphcm", "commune", f"{HCM}/phuong-sai-gon", "phường Sài Gòn", HCM),
        ("phường Sài Gòn", "commune", f"{HCM}/phuong-sai-gon", "phường Sài Gòn", HCM),
        ("Sài Gòn, TP. Hồ Chí Minh", "commune", f"{HCM}/phuong-sai-gon", "phường Sài Gòn", HCM),
        # The same name in several provinces: the province named decides ...
        ("Tân Lập, Phú Thọ", "commune", f"{PT}/xa-tan-lap", "xã Tân Lập", PT),
        ("xa tan lap tinh phu tho", "commune", f"{PT}/xa-tan-lap", "xã Tân Lập", PT),
        ("xã Tân Lập, Vĩnh Phúc", "commune", f"{PT}/xa-tan-lap", "xã Tân Lập", PT),  # former province
        ("tan lap tuyen quang", "commune", f"{TQ}/phuong-tan-lap", "phường Tân Lập", TQ),
        ("Tân Lập, Hà Giang", "commune", f"{TQ}/phuong-tan-lap", "phường Tân Lập", TQ),
        # ... or the kind typed ("phường" exists only in Tuyên Quang).
        ("phuong tan lap", "commune", f"{TQ}/phuong-tan-lap", "phường Tân Lập", TQ),
        # Province only, or a commune the directory has in another province: the province's team.
        ("Thái Nguyên", "province", f"{TN}/default", None, TN),
        ("tỉnh thái nguyên ạ", "province", f"{TN}/default", None, TN),
        ("Bắc Kạn", "province", f"{TN}/default", None, TN),
        ("Tích Lương, Tuyên Quang", "province", f"{TQ}/default", None, TQ),
        # A province without a default team, one not in the directory, nothing known: central.
        ("xã Xuân Lũng, Phú Thọ", "central", "central", "xã Xuân Lũng", PT),
        ("Phú Thọ", "central", "central", None, PT),
        ("xa tan lap, ha noi", "central", "central", None, None),
        ("Cần Thơ", "central", "central", None, None),
        ("không biết", "central", "central", None, None),
        ("", "central", "central", None, None),
    ],
)
def test_route_table(text, level, team, commune, province) -> None:
    r = ROUTER.route(text)
    assert r.level == level, r
    assert r.team.code == team, r
    assert (r.commune.label if r.commune else None) == commune, r
    assert (r.province.code if r.province else None) == province, r


def test_ambiguous_name_without_province_goes_to_central_with_candidates() -> None:
    r = ROUTER.route("tôi ở xã tân lập")
    assert r.level == "central" and r.commune is None and r.province is None
    assert [(c.province_code, c.label) for c in r.candidates] == [(PT, "xã Tân Lập"), (TN, "xã Tân Lập")]
    r = ROUTER.route("Tân Lập")
    assert len(r.candidates) == 3


def test_matched_text_is_what_the_citizen_typed() -> None:
    r = ROUTER.route("Tôi ở X. Tân Lập, tỉnh Thái Nguyên ạ")
    assert r.matched_text == "X. Tân Lập, Thái Nguyên"
    assert ROUTER.route("Sài Gòn, TP HCM").matched_text == "Sài Gòn, TP HCM"
    assert ROUTER.route("abc").matched_text == ""


def test_diacritics_typed_break_ties_between_folded_names() -> None:
    directory = sample_directory()
    # "Tấn Lập" and "Tân Lập" fold to the same syllables: typed marks choose.
    from dataclasses import replace

    tq = directory.province(TQ)
    twin = replace(tq.communes[0], code="phuong-tan-lap-2", name="Tấn Lập",
                   team=replace(tq.communes[0].team, code=f"{TQ}/phuong-tan-lap-2"))
    directory = replace(directory, provinces=tuple(
        replace(p, communes=p.communes + (twin,)) if p.code == TQ else p
        for p in directory.provinces))
    router = Router(directory)
    assert router.route("phường Tấn Lập, Tuyên Quang").commune.name == "Tấn Lập"
    assert router.route("phường Tân Lập, Tuyên Quang").commune.name == "Tân Lập"
    # Without marks both fit: the province's team, with both as candidates.
    r = router.route("phuong tan lap tuyen quang")
    assert r.level == "province" and r.team.code == f"{TQ}/default" and len(r.candidates) == 2


def test_route_without_central_team() -> None:
    from dataclasses import replace

    r = route("Cần Thơ", replace(sample_directory(), central=None))
    assert r.level == "central" and r.team is None


def test_as_dict() -> None:
    d = ROUTER.route("xa tan lap thai nguyen").as_dict()
    assert d == {"level": "commune", "team": f"{TN}/xa-tan-lap",
                 "team_name": "Tổ CNSCĐ xã Tân Lập (Thái Nguyên)", "commune": "xã Tân Lập",
                 "province": "tỉnh Thái Nguyên", "matched_text": "xa tan lap, thai nguyen",
                 "candidates": []}
