"""Routing a created case to a team, what the citizen is told, and the recorded events."""

from __future__ import annotations

import datetime as dt

from actions.records import ConversationRecords
from core.settings import PROJECT_ROOT
from teams.cases import Cases
from teams.directory import load_directory
from teams.routing import VIETNAM
from teams.store import TeamStore

MONDAY_10 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=VIETNAM)
SUNDAY_21 = dt.datetime(2026, 12, 6, 21, 0, tzinfo=VIETNAM)


def _case(url: str, location: str) -> int:
    return ConversationRecords(url).create_escalation(
        "zalo:u1", location=location, topic="EID03", step=2, question="không kích hoạt được",
        transcript=[], consent_at=dt.datetime.now(dt.UTC))


def test_cases_route_by_level_and_hours(db_url: str) -> None:
    TeamStore(db_url).import_directory(load_directory(PROJECT_ROOT / "teams" / "demo_directory.yml"))
    cases = Cases(db_url)
    open_case = cases.route(_case(db_url, "p ben thanh tp hcm"), "p ben thanh tp hcm", at=MONDAY_10)
    assert open_case.level == "commune" and open_case.open_now
    assert "phường Bến Thành" in open_case.citizen_text("p ben thanh") and "đang làm việc" in \
        open_case.citizen_text("p ben thanh")
    night = cases.route(_case(db_url, "phuong ben thanh"), "phuong ben thanh, hcm", at=SUNDAY_21)
    assert not night.open_now and "07:30 ngày mai" in night.citizen_text("x")
    zone = cases.route(_case(db_url, "dac khu con dao"), "đặc khu Côn Đảo", at=MONDAY_10)
    assert zone.level == "province" and "tổ của tỉnh" in zone.citizen_text("đặc khu Côn Đảo")
    unknown_id = _case(db_url, "o nha")
    unknown = cases.route(unknown_id, "ở nhà", at=MONDAY_10)
    assert unknown.level == "central" and unknown.team.central
    history = cases.history(unknown_id)
    assert [e["kind"] for e in history] == ["created", "routed"]
    assert history[1]["detail"]["level"] == "central" and history[1]["actor"] == "system"
