"""The directory in the database (SQLite and PostgreSQL): idempotent import, --replace, CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db import DatabaseError
from core.migrate import upgrade
from teams.directory import load_directory, parse_yaml
from teams.routing import Router
from teams.store import TeamStore
from tests.teams.sample import DIRECTORY_YAML, sample_directory, write

DEMO = Path(__file__).parents[2] / "teams" / "demo_directory.yml"


def test_import_is_idempotent_and_loads_back(db_url: str) -> None:
    store = TeamStore(db_url)
    store.check()
    assert store.team_count() == 0
    first = store.import_directory(sample_directory())
    assert (len(first.provinces.added), len(first.communes.added), len(first.teams.added)) == (4, 6, 8)
    assert not first.unchanged
    before = store.load().as_dict()
    again = store.import_directory(sample_directory())
    assert again.unchanged and again.summary()[0] == "provinces: 0 added, 0 changed, 0 removed"
    assert store.load().as_dict() == before

    loaded = store.load()
    original = sample_directory()
    assert {t.code: t for t in loaded.teams()} == {t.code: t for t in original.teams()}
    tn = loaded.province("thai-nguyen")
    assert tn.default_team.code == "thai-nguyen/default"
    assert [m.name for m in tn.communes[0].team.members] == ["Nguyễn Văn An", "Trần Thị Bình"]
    assert loaded.province("phu-tho").communes[1].team is None
    # The router works the same on what was stored.
    assert Router(loaded).route("xa tan lap phu tho").team.code == "phu-tho/xa-tan-lap"


def test_a_changed_file_updates_and_replace_removes(db_url: str, tmp_path: Path) -> None:
    store = TeamStore(db_url)
    store.import_directory(sample_directory())
    changed = (DIRECTORY_YAML
               .replace('phone: "0912 345 101"', 'phone: "0912 999 101"')
               .replace("            - {telegram_id: 2102, name: Trần Thị Bình}\n", "")
               .replace("aliases: [Phú Xá, Cam Giá]", "aliases: [Phú Xá, Cam Giá, Tân Thành]")
               .replace("{telegram_id: 3101, name: Phạm Thị Dung}",
                        "{telegram_id: 3101, name: Phạm Thị Dung, role: leader}"))
    result = store.import_directory(parse_yaml(changed, "d.yml"))
    assert result.teams.changed == {
        "Tổ CNSCĐ xã Tân Lập (Thái Nguyên) [thai-nguyen/xa-tan-lap]": ["phone", "members"],
        "Tổ CNSCĐ xã Tân Lập (Phú Thọ) [phu-tho/xa-tan-lap]": ["members"]}
    assert result.communes.changed == {"phường Tích Lương (Thái Nguyên)": ["aliases"]}
    assert store.import_directory(parse_yaml(changed, "d.yml")).unchanged
    team = store.load().province("thai-nguyen").communes[0].team
    assert team.phone == "0912 999 101" and [m.telegram_id for m in team.members] == [2101]

    # A file with only Thái Nguyên: the rest is kept, unless --replace.
    only_tn = changed.split("  - name: Phú Thọ")[0]
    partial = store.import_directory(parse_yaml(only_tn, "d.yml"))
    assert partial.unchanged
    assert len(partial.provinces.kept) == 3 and len(partial.teams.kept) == 4
    assert store.team_count() == 8
    replaced = store.import_directory(parse_yaml(only_tn, "d.yml"), replace=True)
    assert sorted(replaced.provinces.removed) == ["thành phố Hồ Chí Minh", "tỉnh Phú Thọ",
                                                  "tỉnh Tuyên Quang"]
    assert len(replaced.teams.removed) == 4 and not replaced.communes.removed  # went with provinces
    assert store.team_count() == 4
    assert [p.code for p in store.load().provinces] == ["thai-nguyen"]
    assert store.import_directory(parse_yaml(only_tn, "d.yml"), replace=True).unchanged

    # A commune dropped from a province still in the file.
    fewer = only_tn.replace("      - name: Phường Tích Lương", "      - name: Phường Gia Sàng")
    result = store.import_directory(parse_yaml(fewer, "d.yml"), replace=True)
    assert result.communes.added == ["phường Gia Sàng (Thái Nguyên)"]
    assert result.communes.removed == ["phường Tích Lương (Thái Nguyên)"]
    assert [c.name for c in store.load().province("thai-nguyen").communes] == ["Gia Sàng", "Tân Lập"]


def test_the_default_team_moves(db_url: str) -> None:
    store = TeamStore(db_url)
    store.import_directory(sample_directory())
    moved = DIRECTORY_YAML.replace("          holidays: [2026-12-24]\n",
                                   "          holidays: [2026-12-24]\n          province_default: true\n")
    head, rest = moved.split("    communes:\n", 1)  # drop Thái Nguyên's province-level team
    head = head.split("    default_team:")[0]
    result = store.import_directory(parse_yaml(head + "    communes:\n" + rest, "d.yml"))
    assert result.teams.changed == {
        "Tổ CNSCĐ phường Tích Lương [thai-nguyen/phuong-tich-luong]": ["is_province_default"],
        "Tổ hỗ trợ tỉnh Thái Nguyên [thai-nguyen/default]": ["is_province_default"]}
    tn = store.load().province("thai-nguyen")
    assert tn.default_team.code == "thai-nguyen/phuong-tich-luong"
    assert [t.code for t in tn.other_teams] == ["thai-nguyen/default"]  # kept, no longer routed to
    assert Router(store.load()).route("Thái Nguyên").team.code == "thai-nguyen/phuong-tich-luong"


def test_csv_and_yaml_of_the_same_directory_agree(db_url: str, tmp_path: Path) -> None:
    store = TeamStore(db_url)
    yaml_text = """\
provinces:
  - name: Thái Nguyên
    default_team:
      name: Tổ tỉnh
      telegram_chat_id: "-1000000000100"
      phone: "0208 3000 100"
      members: [{telegram_id: 2001, name: Cán bộ Tỉnh, role: leader}]
    communes:
      - name: Tích Lương
        kind: phường
        aliases: [Phú Xá, Cam Giá]
        team:
          name: Tổ Tích Lương
          telegram_chat_id: "-1000000000102"
          phone: "0912 345 102"
          hours: {mon-fri: ["07:30-11:30", "13:30-17:00"], sat: ["07:30-11:30"]}
          holidays: [2026-12-24]
          members:
            - {telegram_id: 2201, name: Lê Văn Cường, role: leader}
            - {telegram_id: 2202, name: Ma Thị Hằng}
      - {name: Tân Lập, kind: xã}
"""
    csv_text = (
        "province,commune,kind,aliases,team,telegram_chat_id,phone,members,hours,holidays\n"
        "Thái Nguyên,,,,Tổ tỉnh,-1000000000100,0208 3000 100,2001:Cán bộ Tỉnh:leader,,\n"
        'Thái Nguyên,Tích Lương,phường,Phú Xá;Cam Giá,Tổ Tích Lương,-1000000000102,0912 345 102,'
        '"2201:Lê Văn Cường:leader;2202:Ma Thị Hằng","mon-fri 07:30-11:30 13:30-17:00; sat 07:30-11:30",'
        "2026-12-24\n"
        "tinh thai nguyen,xã Tân Lập,,,,,,,,\n")
    first = store.import_directory(load_directory(write(tmp_path, yaml_text)))
    assert len(first.teams.added) == 2
    result = store.import_directory(load_directory(write(tmp_path, csv_text, "d.csv")))
    assert result.unchanged, result.summary()


def test_demo_directory_imports(db_url: str) -> None:
    store = TeamStore(db_url)
    result = store.import_directory(load_directory(DEMO))
    assert len(result.teams.added) == 13 and store.team_count() == 13
    assert store.import_directory(load_directory(DEMO)).unchanged


def test_missing_tables_name_the_fix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0003_gateway")
    with pytest.raises(DatabaseError, match="govbot db upgrade"):
        TeamStore(url).check()
