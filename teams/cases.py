"""A case's way to a team, and its recorded history.

`Cases.route()` matches the location the citizen gave to a team (teams/routing.py), stores
the team and the level on the case and records a `routed` event; `describe()` is what the
citizen is told: which team, and how soon (now, or when the team next works).
Every state change of a case is a `case_events` row with who and when.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from core.db import session_scope
from core.models import CaseEvent, Escalation
from core.models import Team as TeamRow
from teams.directory import Directory, Team
from teams.routing import Router, describe_opening, is_open
from teams.store import TeamStore


@dataclass(frozen=True)
class RoutedCase:
    case_id: int
    level: str  # commune | province | central | none
    team: Team | None
    open_now: bool
    opening: str  # "ngay bây giờ", "lúc 07:30 ngày mai", ...

    def citizen_text(self, location: str) -> str:
        if self.team is None:  # no directory yet: the case waits in the central queue
            return (f"Mình đã ghi nhận yêu cầu của bạn (mã #{self.case_id}) cho tổ công nghệ số "
                    f"cộng đồng ở {location}. Cán bộ hỗ trợ sẽ nhắn cho bạn ngay trong cuộc trò "
                    "chuyện này.")
        where = {"commune": "", "province": f" (chưa có tổ riêng cho {location}, nên tổ của tỉnh "
                 "hỗ trợ bạn)", "central": " (mình chưa xác định được xã/phường của bạn)"}[self.level]
        when = ("Tổ đang làm việc, thành viên sẽ nhắn cho bạn ngay trong cuộc trò chuyện này."
                if self.open_now else
                f"Hiện đã ngoài giờ làm việc; tổ sẽ nhắn cho bạn {self.opening}.")
        return f"Mình đã chuyển yêu cầu của bạn (mã #{self.case_id}) đến {self.team.name}{where}. {when}"


class Cases:
    def __init__(self, url: str, directory_ttl: float = 60.0):
        self.url = url
        self.teams = TeamStore(url)
        self._ttl = directory_ttl
        self._directory: tuple[float, Directory] | None = None
        self._lock = threading.Lock()

    def directory(self) -> Directory:
        """The directory, re-read at most every `directory_ttl` seconds (imports show up)."""
        with self._lock:
            if self._directory is None or time.monotonic() - self._directory[0] > self._ttl:
                self._directory = (time.monotonic(), self.teams.load())
            return self._directory[1]

    def route(self, case_id: int, location: str, at: dt.datetime | None = None) -> RoutedCase:
        decision = Router(self.directory()).route(location)
        team = decision.team
        at = at or dt.datetime.now(dt.UTC)
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            team_id = None
            if team is not None:
                query = (select(TeamRow.id).where(TeamRow.is_central.is_(True)) if team.central
                         else select(TeamRow.id).where(TeamRow.code == team.code))
                team_id = s.scalar(query)
            case.team_id, case.route_level = team_id, decision.level if team else "none"
            s.add(CaseEvent(case_id=case_id, kind="routed", actor="system",
                            detail={**decision.as_dict(), "team_id": team_id}))
        if team is None:
            return RoutedCase(case_id, "none", None, False, "")
        return RoutedCase(case_id, decision.level, team, is_open(team, at), describe_opening(team, at))

    def event(self, case_id: int, kind: str, actor: str, **detail: Any) -> None:
        with session_scope(self.url) as s:
            s.add(CaseEvent(case_id=case_id, kind=kind, actor=actor, detail=detail))

    def history(self, case_id: int) -> list[dict[str, Any]]:
        with session_scope(self.url) as s:
            rows = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                             .order_by(CaseEvent.id)).all()
            return [{"at": r.at.isoformat(), "kind": r.kind, "actor": r.actor, "detail": r.detail}
                    for r in rows]
