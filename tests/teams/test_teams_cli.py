"""`govbot teams import|list|route` through typer's test runner, as an admin uses them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from govbot.cli import app
from tests.teams.sample import DIRECTORY_YAML, write

DEMO = Path(__file__).parents[2] / "teams" / "demo_directory.yml"
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_import_list_route(env_settings, tmp_path: Path) -> None:
    r = run("teams", "import", str(DEMO), "--if-empty")
    assert r.exit_code == 0, r.output
    assert "teams: 13 added, 0 changed, 0 removed" in r.output
    assert "+ phường Tích Lương (Thái Nguyên)" in r.output
    r = run("teams", "import", str(DEMO), "--if-empty")
    assert r.exit_code == 0 and "already has 13 teams: nothing imported" in r.output
    r = run("teams", "import", str(DEMO))
    assert r.exit_code == 0 and "no changes" in r.output

    r = run("teams", "list")
    assert r.exit_code == 0, r.output
    assert "tỉnh Thái Nguyên (3 communes/wards)" in r.output
    assert "đặc khu Côn Đảo" in r.output and "no team: goes to the province's default team" in r.output
    assert r.output.startswith("central: Tổ hỗ trợ trung tâm")
    data = json.loads(run("teams", "list", "--json", "--province", "tp hcm").output)
    assert [p["code"] for p in data["provinces"]] == ["ho-chi-minh"] and "central" not in data
    assert {c["name"] for c in data["provinces"][0]["communes"]} >= {"Sài Gòn", "An Khánh"}
    data = json.loads(run("teams", "list", "--json", "--province", "Bắc Kạn").output)
    assert [p["code"] for p in data["provinces"]] == ["thai-nguyen"]  # former province name
    r = run("teams", "list", "--province", "Atlantis")
    assert r.exit_code == 1 and "not one of the 34" in r.output

    # Monday 7/12/2026 09:00 in Vietnam: open. "Tân Lập" is a former ward of Tích Lương.
    r = run("teams", "route", "xa tan lap thai nguyen", "--at", "2026-12-07T09:00", "--json")
    data = json.loads(r.output)
    assert data["level"] == "commune" and data["team"] == "thai-nguyen/phuong-tich-luong"
    assert data["open"] is True and data["next_opening"] == "2026-12-07T09:00:00+07:00"
    r = run("teams", "route", "Phường Tân Lập, tỉnh Thái Nguyên", "--at", "2026-12-05T10:00+07:00")
    assert r.exit_code == 0, r.output
    assert "level:    commune" in r.output and "phường Tích Lương" in r.output
    assert "open:     no; next opening lúc 07:30 thứ Hai, 07/12" in r.output
    r = run("teams", "route", "Bình Dương")
    assert "level:    province" in r.output and "Thành phố Hồ Chí Minh" in r.output
    r = run("teams", "route", "Cần Thơ", "--json")
    assert json.loads(r.output)["team"] == "central"
    r = run("teams", "route", "x", "--at", "hôm qua")
    assert r.exit_code == 1 and "not an ISO time" in r.output


def test_invalid_file_changes_nothing(env_settings, tmp_path: Path) -> None:
    assert run("teams", "import", str(DEMO)).exit_code == 0
    bad = write(tmp_path, DIRECTORY_YAML.replace('phone: "0912 345 101"', 'phone: "12"'))
    r = run("teams", "import", str(bad), "--replace")
    assert r.exit_code == 1
    line = DIRECTORY_YAML.splitlines().index('          phone: "0912 345 101"') + 1
    assert f"{bad}:{line}: provinces[0].communes[0].team.phone:" in r.output
    assert "teams: 13" not in r.output
    data = json.loads(run("teams", "list", "--json").output)
    assert len(data["provinces"]) == 3


def test_replace_and_csv(env_settings, tmp_path: Path) -> None:
    assert run("teams", "import", str(DEMO)).exit_code == 0
    csv = write(tmp_path, "province,commune,team,telegram_chat_id,phone,members\n"
                          "Thái Nguyên,phường Tích Lương,Tổ mới,-1000000000102,0912 345 102,"
                          "1:Nguyễn Văn A\n", "d.csv")
    r = run("teams", "import", str(csv))
    assert r.exit_code == 0, r.output
    assert "teams: 0 added, 1 changed" in r.output and "not in the file were kept" in r.output
    assert ("~ Tổ mới [thai-nguyen/phuong-tich-luong]: name, telegram_chat_id, phone, holidays, "
            "members") in r.output
    assert "~ phường Tích Lương (Thái Nguyên): aliases" in r.output  # the file has none
    r = run("teams", "route", "tinh thai nguyen", "--json")  # the default team was kept
    assert json.loads(r.output)["team"] == "thai-nguyen/default"
    r = run("teams", "import", str(csv), "--replace")
    assert r.exit_code == 0, r.output
    assert "teams: 0 added, 0 changed, 12 removed" in r.output
    assert "provinces: 0 added, 0 changed, 2 removed" in r.output
    r = run("teams", "route", "tp hcm", "--json")
    assert json.loads(r.output)["team"] is None  # central removed too
    r = run("teams", "route", "tp hcm")
    assert "the directory has no central team" in r.output


def test_unmigrated_database_names_the_fix(monkeypatch, tmp_path: Path) -> None:
    from core.settings import get_settings

    monkeypatch.setenv("GOVBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    monkeypatch.setenv("GOVBOT_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        r = run("teams", "list")
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 1 and "govbot db upgrade" in r.output
