"""Loading directory files: the model, and clear errors naming file, line and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from teams.directory import load_directory, parse_yaml
from teams.errors import DirectoryInvalid
from teams.hours import describe_hours, parse_hours
from tests.teams.sample import DIRECTORY_YAML, sample_directory


def problems_of(text: str, name: str = "d.yml"):
    with pytest.raises(DirectoryInvalid) as exc:
        parse_yaml(text, name)
    return exc.value.problems


def line_of(text: str, fragment: str, nth: int = 1) -> int:
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    return lines[nth - 1]


def test_model_from_yaml() -> None:
    directory = sample_directory()
    assert [p.code for p in directory.provinces] == ["thai-nguyen", "phu-tho", "tuyen-quang",
                                                     "ho-chi-minh"]
    tn = directory.province("thai-nguyen")
    assert tn.label == "tỉnh Thái Nguyên" and tn.default_team.code == "thai-nguyen/default"
    tich_luong = tn.communes[1]
    # The kind comes from the name's prefix when it is not given.
    assert (tich_luong.kind, tich_luong.name, tich_luong.code) == ("phường", "Tích Lương",
                                                                   "phuong-tich-luong")
    assert tich_luong.aliases == ("Phú Xá", "Cam Giá")
    team = tich_luong.team
    assert team.code == "thai-nguyen/phuong-tich-luong"
    # The directory's holidays apply to every team, plus the team's own.
    assert team.holidays == {dt.date(2026, 9, 2), dt.date(2026, 12, 24)}
    assert describe_hours(team.hours) == "T2-T6 07:30-11:30, 13:30-17:00; T7 07:30-11:30"
    # Default hours for teams without their own; a role given in Vietnamese.
    first = tn.communes[0].team
    assert describe_hours(first.hours) == "T2-T6 07:30-11:30, 13:30-17:00"
    assert [(m.telegram_id, m.role) for m in first.members] == [(2101, "leader"), (2102, "member")]
    hcm = directory.province("ho-chi-minh")
    assert hcm.name == "Hồ Chí Minh" and hcm.kind == "thành phố" and hcm.default_team is None
    assert directory.province("phu-tho").communes[1].team is None
    assert directory.central.central and describe_hours(directory.central.hours) == \
        "T2-CN 00:00-24:00"
    assert directory.central.telegram_chat_id == "-1000000000001"  # unquoted number is fine
    assert len(list(directory.teams())) == 8


def test_demo_directory_is_valid() -> None:
    demo = load_directory(Path(__file__).parents[2] / "teams" / "demo_directory.yml")
    assert {p.name for p in demo.provinces} == {"Hà Nội", "Thái Nguyên", "Hồ Chí Minh"}
    assert demo.central is not None
    for p in demo.provinces:
        assert p.default_team is not None and len(p.communes) >= 3
        assert all(2 <= len(c.team.members) <= 3 for c in p.communes if c.team)


@pytest.mark.parametrize(
    ("old", "new", "anchor", "field", "message"),
    [
        ('phone: "0912 345 101"', 'phone: "12345"', 'phone: "12345"',
         "provinces[0].communes[0].team.phone", "not a Vietnamese phone number"),
        ("- name: Phú Thọ", "- name: Bắc Kạn", "- name: Bắc Kạn",
         "provinces[1].name", "part of tỉnh Thái Nguyên"),
        ("- name: Phú Thọ", "- name: Atlantis", "- name: Atlantis",
         "provinces[1].name", "not one of the 34 provinces"),
        ("        kind: phường\n", "        kind: thị trấn\n", "kind: thị trấn",
         "provinces[2].communes[0].kind", "no longer exists since 1/7/2025"),
        ("      - name: Xuân Lũng\n        kind: xã\n", "      - name: Thị trấn Xuân Lũng\n",
         "- name: Thị trấn Xuân Lũng", "provinces[1].communes[1].kind", "no longer exists"),
        ("      - name: Xuân Lũng\n        kind: xã\n", "      - name: Xuân Lũng\n", "- name: Xuân Lũng",
         "provinces[1].communes[1].kind", "give the kind"),
        ('sat: ["07:30-11:30"]', 'sat: ["07:30-25:00"]', 'sat: ["07:30-25:00"]',
         "provinces[0].communes[1].team.hours.sat", "end at most 24:00"),
        ('sat: ["07:30-11:30"]', 'fry: ["07:30-11:30"]', 'fry:',
         "provinces[0].communes[1].team.hours.fry", "unknown day 'fry'"),
        ("{telegram_id: 2102, name: Trần Thị Bình}", "{telegram_id: 2101, name: Trần Thị Bình}",
         "- {telegram_id: 2101, name: Trần", "provinces[0].communes[0].team.members[1]",
         "listed twice"),
        ("role: tổ trưởng", "role: boss", "role: boss",
         "provinces[0].communes[0].team.members[0].role", "role must be"),
        ('telegram_chat_id: "-1000000000201"', "telegram_chat_id: nhom-zalo", "nhom-zalo",
         "provinces[1].communes[0].team.telegram_chat_id", "Telegram chat id"),
        ('phone: "0912 345 201"', 'phon: "0912 345 201"', "phon:",
         "provinces[1].communes[0].team.phon", "Extra inputs are not permitted"),
    ],
)
def test_errors_name_line_and_field(old, new, anchor, field, message) -> None:
    assert old in DIRECTORY_YAML
    text = DIRECTORY_YAML.replace(old, new, 1)
    problems = problems_of(text)
    assert len(problems) >= 1
    problem = next(p for p in problems if p.field == field)
    assert message in problem.message, problem
    assert problem.line == line_of(text, anchor), (problem, text.splitlines()[problem.line - 1])
    assert str(problem).startswith(f"d.yml:{problem.line}: {field}: ")


def test_every_problem_is_reported_at_once() -> None:
    text = DIRECTORY_YAML.replace('phone: "0912 345 101"', 'phone: "1"').replace(
        "- name: Phú Thọ", "- name: Hà Tây")
    fields = {p.field for p in problems_of(text)}
    assert fields == {"provinces[0].communes[0].team.phone", "provinces[1].name"}


def test_cross_checks_duplicates_and_defaults() -> None:
    text = DIRECTORY_YAML.replace('telegram_chat_id: "-1000000000201"',
                                  'telegram_chat_id: "-1000000000101"')
    [p] = problems_of(text)
    assert p.field == "provinces[1].communes[0].team.telegram_chat_id"
    assert p.line == line_of(text, '"-1000000000101"', 2)
    assert f"line {line_of(text, '-1000000000101')}" in p.message

    twice = DIRECTORY_YAML.replace("      - name: Xuân Lũng\n", "      - name: Tân Lập\n")
    [p] = problems_of(twice)
    assert "xã Tân Lập is listed twice" in p.message and p.line == line_of(twice, "- name: Tân Lập", 3)

    two_defaults = DIRECTORY_YAML.replace("          holidays: [2026-12-24]\n",
                                          "          holidays: [2026-12-24]\n"
                                          "          province_default: true\n")
    [p] = problems_of(two_defaults)
    assert "another default team" in p.message and p.line == line_of(two_defaults, "province_default")


def test_yaml_syntax_error_and_empty_file(tmp_path: Path) -> None:
    [p] = problems_of("provinces:\n  - name: [Hà Nội\n")
    assert p.line is not None and "YAML" in p.message
    [p] = problems_of("")
    assert "expected a mapping" in p.message
    [p] = problems_of("provinces: []\n")
    assert "no provinces and no central team" in p.message
    with pytest.raises(DirectoryInvalid, match="no such file"):
        load_directory(tmp_path / "missing.yml")
    (tmp_path / "d.json").write_text("{}")
    with pytest.raises(DirectoryInvalid, match=r"\.yml, \.yaml or \.csv"):
        load_directory(tmp_path / "d.json")


def test_hours_parsing() -> None:
    hours = parse_hours({"t2-t6": "07:30-11:30, 13:30-17:00", "t7": ["08:00-11:00"], "cn": []})
    assert hours[0] == ((450, 690), (810, 1020)) and hours[5] == ((480, 660),) and hours[6] == ()
    with pytest.raises(ValueError, match="overlap"):
        parse_hours({"mon": ["07:00-12:00", "11:00-13:00"]})
    with pytest.raises(ValueError, match="given twice"):
        parse_hours({"mon-fri": ["07:00-12:00"], "fri": ["13:00-17:00"]})
    with pytest.raises(ValueError, match="quoted text"):
        parse_hours({"mon": [450]})  # what YAML makes of an unquoted 07:30
    with pytest.raises(ValueError, match="unknown day"):
        parse_hours({"fri-mon": ["07:00-12:00"]})


CSV_HEADER = ("province,commune,kind,aliases,team,telegram_chat_id,phone,members,hours,"
              "holidays,province_default\n")


def test_csv_model(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        "\ufeff" + CSV_HEADER
        + ",,,,Tổ trung tâm,-1000000000001,1900 1234,1001:Điều phối viên:leader,mon-sun 00:00-24:00,,\n"
        + "Thái Nguyên,,,,Tổ tỉnh,-1000000000100,0208 3000 100,2001:Cán bộ Tỉnh,,,\n"
        + "Thái Nguyên,Phường Tích Lương,,Phú Xá;Cam Giá,Tổ Tích Lương,-1000000000102,0912 345 102,"
        + '"2201:Lê Văn Cường:tổ trưởng; 2202:Ma Thị Hằng","mon-fri 07:30-11:30 13:30-17:00; sat 07:30-11:30",'
        + "2026-09-02;2026-12-24,\n"
        + "\n"
        + "tp hcm,Sài Gòn,phường,,Tổ Sài Gòn,-1000000000401,028 3000 401,5101:Lâm Văn Hải,,,yes\n"
        + "tp hcm,Côn Đảo,đặc khu,,,,,,,,\n", "utf-8")
    d = load_directory(path)
    assert d.central.code == "central" and describe_hours(d.central.hours) == "T2-CN 00:00-24:00"
    tn = d.province("thai-nguyen")
    assert tn.default_team.name == "Tổ tỉnh"
    team = tn.communes[0].team
    assert tn.communes[0].aliases == ("Phú Xá", "Cam Giá")
    assert [(m.telegram_id, m.name, m.role) for m in team.members] == [
        (2201, "Lê Văn Cường", "leader"), (2202, "Ma Thị Hằng", "member")]
    assert team.holidays == {dt.date(2026, 9, 2), dt.date(2026, 12, 24)}
    hcm = d.province("ho-chi-minh")
    assert hcm.default_team.code == "ho-chi-minh/phuong-sai-gon"
    assert hcm.communes[1].label == "đặc khu Côn Đảo" and hcm.communes[1].team is None


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("Thái Nguyên,Tân Lập,xã,,Tổ,-1000000000101,0912 345 101,Nguyễn Văn An,,,", "members",
         "telegram_id:name"),
        ("Thái Nguyên,Tân Lập,xã,,Tổ,-1000000000101,0912 345 101,abc:Nguyễn Văn An,,,", "members",
         "valid integer"),
        ("Thái Nguyên,Tân Lập,xã,,Tổ,-1000000000101,12,1:An,,,", "phone", "phone number"),
        ("Thái Nguyên,Tân Lập,,,Tổ,-1000000000101,0912 345 101,1:An,,,", "kind", "give the kind"),
        ("Bình Dương,Tân Lập,xã,,Tổ,-1000000000101,0912 345 101,1:An,,,", "province",
         "part of thành phố Hồ Chí Minh"),
        (",Tân Lập,xã,,Tổ,-1000000000101,0912 345 101,1:An,,,", "province", "required"),
        ("Thái Nguyên,Tân Lập,xã,,Tổ,-1000000000101,0912 345 101,1:An,mon 7h-11h,,", "hours",
         "not a time range"),
        ("Thái Nguyên,Tân Lập,xã,,Tổ,-1000000000101,0912 345 101,1:An,,,maybe", "province_default",
         "write yes"),
        ("Thái Nguyên,Tân Lập,xã,,,,,,,,yes", "province_default", "without a team"),
        ("Thái Nguyên,,,,,,,,,,", "team", "is a team"),
    ],
)
def test_csv_errors_name_line_and_column(tmp_path: Path, row, column, message) -> None:
    path = tmp_path / "d.csv"
    good = "Thái Nguyên,Tích Lương,phường,,Tổ,-1000000000102,0912 345 102,2:Bình,,,\n"
    path.write_text(CSV_HEADER + good + row + "\n", "utf-8")
    with pytest.raises(DirectoryInvalid) as exc:
        load_directory(path)
    [problem] = exc.value.problems
    assert (problem.line, problem.field) == (3, column), problem
    assert message in problem.message, problem


def test_csv_header_problems(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("province,commune,team,district\n", "utf-8")
    with pytest.raises(DirectoryInvalid) as exc:
        load_directory(path)
    [problem] = exc.value.problems
    assert (problem.line, problem.field) == (1, "district") and "unknown column" in problem.message
