"""A case's life after routing: the team's card, the claim, the live handoff, closing, rating,
reminders and moving up when nobody claims it.

Synchronous SQLAlchemy (the gateway calls it through ``asyncio.to_thread``); the channel side
(cards, relaying, texts) is bot/teamdesk.py. Statuses of an escalation:

    open --claim--> claimed --close--> resolved --reopen (citizen, 24 h)--> claimed
    open --forward / unclaimed too long--> open (another team; a new card)
    any --erasure--> erased

A claim is one conditional UPDATE (``WHERE status = 'open' AND team_id = :team``): when
several members press at once exactly one row update succeeds, whatever the number of gateway
processes. Every change is a `case_events` row with who and when.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update

from core.db import session_scope
from core.models import CaseEvent, Escalation, PendingInput, Team, TeamMember
from core.redaction import redact
from teams.directory import Directory
from teams.routing import VIETNAM, is_open

REOPEN_HOURS = 24
PENDING_MINUTES = 30  # a question the gateway asked is forgotten after this
PHONE = re.compile(r"(?<!\d)(?:\+?84|0)[\s.\-]?([35789](?:[\s.\-]?\d){8})(?!\d)")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _utc(at: dt.datetime | None) -> dt.datetime:
    """Stored in UTC: SQLite keeps no offset, so anything else would be read back wrong."""
    return (at or utcnow()).astimezone(dt.UTC)


def find_phone(text: str) -> str | None:
    """A Vietnamese mobile number in the text, normalised to 0xxxxxxxxx; None without one."""
    match = PHONE.search(text or "")
    return "0" + re.sub(r"\D", "", match.group(1)) if match else None


@dataclass(frozen=True)
class TeamRef:
    id: int
    code: str
    name: str
    chat_id: str
    level: str  # commune | province | central


@dataclass
class CaseView:
    id: int
    sender_id: str
    status: str
    location: str
    topic: str | None
    step: int | None
    question: str
    transcript: list[dict[str, str]]
    created_at: dt.datetime
    team: TeamRef | None
    route_level: str | None
    claimed_by: int | None = None
    claimed_by_name: str = ""
    claimed_at: dt.datetime | None = None
    callback_phone: str = ""
    card_chat_id: str = ""
    card_message_id: int | None = None
    notified_at: dt.datetime | None = None
    resolution: str = ""
    rating: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def channel(self) -> str:
        """The citizen's channel, from the namespaced sender id (tg:, zalo:, web:)."""
        return {"tg": "telegram", "zalo": "zalo", "web": "web"}.get(self.sender_id.split(":", 1)[0], "")

    @property
    def chat_id(self) -> str:
        return self.sender_id.split(":", 1)[1] if ":" in self.sender_id else ""


def _level(team: Team) -> str:
    if team.is_central:
        return "central"
    return "commune" if team.commune_id is not None else "province"


def _ref(team: Team | None) -> TeamRef | None:
    if team is None:
        return None
    return TeamRef(team.id, team.code, team.name, team.telegram_chat_id, _level(team))


def _view(s, case: Escalation) -> CaseView:
    team = s.get(Team, case.team_id) if case.team_id else None
    return CaseView(
        id=case.id, sender_id=case.sender_id, status=case.status, location=case.location,
        topic=case.topic, step=case.step, question=case.question,
        transcript=list(case.transcript or []), created_at=_aware(case.created_at),
        team=_ref(team), route_level=case.route_level, claimed_by=case.claimed_by,
        claimed_by_name=case.claimed_by_name, claimed_at=_aware(case.claimed_at),
        callback_phone=case.callback_phone, card_chat_id=case.card_chat_id,
        card_message_id=case.card_message_id, notified_at=_aware(case.notified_at),
        resolution=case.resolution, rating=case.rating)


@dataclass(frozen=True)
class ClaimResult:
    outcome: str  # won | taken | not_member | gone
    case: CaseView | None


@dataclass(frozen=True)
class Move:
    """A case moved to another team (a member's forward or nobody claiming it in time)."""

    case: CaseView  # after the move
    old_team: TeamRef | None
    old_card: tuple[str, int | None]  # (chat id, message id) of the previous card
    reason: str  # forwarded | unclaimed | notify_failed


class Handoffs:
    def __init__(self, url: str):
        self.url = url

    # --- reading ---------------------------------------------------------------------------

    def get(self, case_id: int) -> CaseView | None:
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            return _view(s, case) if case else None

    def due_cards(self, limit: int = 50) -> list[CaseView]:
        """Open cases with a team whose card is not posted yet, oldest first."""
        with session_scope(self.url) as s:
            rows = s.scalars(select(Escalation)
                             .where(Escalation.status == "open", Escalation.team_id.is_not(None),
                                    Escalation.notified_at.is_(None))
                             .order_by(Escalation.id).limit(limit)).all()
            return [_view(s, r) for r in rows]

    def waiting(self) -> list[CaseView]:
        """Open cases whose card is posted: candidates for a reminder or a move."""
        with session_scope(self.url) as s:
            rows = s.scalars(select(Escalation)
                             .where(Escalation.status == "open",
                                    Escalation.notified_at.is_not(None))
                             .order_by(Escalation.id)).all()
            return [_view(s, r) for r in rows]

    def active_for_member(self, user_id: int) -> list[CaseView]:
        with session_scope(self.url) as s:
            rows = s.scalars(select(Escalation)
                             .where(Escalation.claimed_by == user_id,
                                    Escalation.status == "claimed")
                             .order_by(Escalation.claimed_at.desc())).all()
            return [_view(s, r) for r in rows]

    def member_name(self, user_id: int, team_id: int | None) -> str | None:
        with session_scope(self.url) as s:
            q = select(TeamMember.name).where(TeamMember.telegram_user_id == user_id)
            if team_id is not None:
                q = q.where(TeamMember.team_id == team_id)
            return s.scalar(q.limit(1))

    # --- pending inputs ----------------------------------------------------------------------

    def set_pending(self, sender_id: str, kind: str, case_id: int) -> None:
        with session_scope(self.url) as s:
            row = s.get(PendingInput, (sender_id, kind))
            if row is None:
                s.add(PendingInput(sender_id=sender_id, kind=kind, case_id=case_id))
            else:
                row.case_id, row.created_at = case_id, utcnow()

    def pending(self, sender_id: str) -> dict[str, int]:
        """{kind: case id} of the sender's pending inputs still fresh (a member's focus
        does not expire)."""
        with session_scope(self.url) as s:
            return _pending(s, sender_id)

    def clear_pending(self, sender_id: str, kind: str) -> None:
        with session_scope(self.url) as s:
            s.execute(delete(PendingInput).where(PendingInput.sender_id == sender_id,
                                                 PendingInput.kind == kind))

    def citizen_state(self, sender_id: str) -> tuple[CaseView | None, dict[str, int]]:
        """What the gateway must know before a citizen's message goes to Rasa, in one
        transaction: the case in live handoff (if any), and pending questions."""
        with session_scope(self.url) as s:
            case = s.scalars(select(Escalation)
                             .where(Escalation.sender_id == sender_id,
                                    Escalation.status == "claimed")
                             .order_by(Escalation.claimed_at.desc()).limit(1)).first()
            return (_view(s, case) if case else None), _pending(s, sender_id)

    # --- the card ----------------------------------------------------------------------------

    def mark_notified(self, case_id: int, chat_id: str, message_id: int | None,
                      at: dt.datetime | None = None) -> None:
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            case.notified_at, case.card_chat_id, case.card_message_id = _utc(at), chat_id, message_id
            s.add(CaseEvent(case_id=case_id, kind="notified", actor="system",
                            detail={"team_id": case.team_id, "chat_id": chat_id,
                                    "message_id": message_id}))

    def mark_reminded(self, case_id: int, at: dt.datetime) -> None:
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            case.reminded_at = _utc(at)
            s.add(CaseEvent(case_id=case_id, kind="reminded", actor="system",
                            detail={"team_id": case.team_id}))

    # --- claim -------------------------------------------------------------------------------

    def claim(self, case_id: int, user_id: int, chat_id: str, at: dt.datetime | None = None) -> ClaimResult:
        """One member wins; the others learn who did. `chat_id` is where the button was
        pressed: a card left in a team's group after the case moved on cannot claim it."""
        at = _utc(at)
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            if case is None or case.team_id is None:
                return ClaimResult("gone", None)
            team = s.get(Team, case.team_id)
            if case.status == "open" and str(team.telegram_chat_id) != str(chat_id):
                return ClaimResult("gone", _view(s, case))
            name = s.scalar(select(TeamMember.name).where(TeamMember.team_id == case.team_id,
                                                          TeamMember.telegram_user_id == user_id))
            if name is None:
                return ClaimResult("not_member" if case.status == "open" else "taken", _view(s, case))
            won = s.execute(update(Escalation)
                            .where(Escalation.id == case_id, Escalation.status == "open",
                                   Escalation.team_id == team.id)
                            .values(status="claimed", claimed_by=user_id, claimed_by_name=name,
                                    claimed_at=at)).rowcount == 1
            if not won:
                s.expire(case)
                return ClaimResult("taken" if case.status in ("claimed", "resolved") else "gone",
                                   _view(s, case))
            s.add(CaseEvent(case_id=case_id, kind="claimed", actor=f"tg:{user_id} {name}",
                            detail={"team_id": team.id}))
            self._focus(s, user_id, case_id)
            s.flush()
            s.refresh(case)
            return ClaimResult("won", _view(s, case))

    @staticmethod
    def _focus(s, user_id: int, case_id: int) -> None:
        key = (f"tg:{user_id}", "focus")
        row = s.get(PendingInput, key)
        if row is None:
            s.add(PendingInput(sender_id=key[0], kind="focus", case_id=case_id))
        else:
            row.case_id, row.created_at = case_id, utcnow()

    def set_focus(self, user_id: int, case_id: int) -> CaseView | None:
        """The member's replies go to this case from now on (it must be theirs)."""
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            if case is None or case.status != "claimed" or case.claimed_by != user_id:
                return None
            self._focus(s, user_id, case_id)
            return _view(s, case)

    def focus(self, user_id: int) -> CaseView | None:
        """The case the member is talking in: the focused one when still theirs, else their
        most recently claimed active case."""
        with session_scope(self.url) as s:
            row = s.get(PendingInput, (f"tg:{user_id}", "focus"))
            if row is not None:
                case = s.get(Escalation, row.case_id)
                if case is not None and case.status == "claimed" and case.claimed_by == user_id:
                    return _view(s, case)
            case = s.scalars(select(Escalation)
                             .where(Escalation.claimed_by == user_id,
                                    Escalation.status == "claimed")
                             .order_by(Escalation.claimed_at.desc()).limit(1)).first()
            if case is None:
                return None
            self._focus(s, user_id, case.id)
            return _view(s, case)

    # --- close, reopen, rate -----------------------------------------------------------------

    def close(self, case_id: int, user_id: int, note: str, at: dt.datetime | None = None) -> CaseView | None:
        at = _utc(at)
        with session_scope(self.url) as s:
            done = s.execute(update(Escalation)
                             .where(Escalation.id == case_id, Escalation.status == "claimed",
                                    Escalation.claimed_by == user_id)
                             .values(status="resolved", resolution=redact(note)[:4000],
                                     resolved_at=at)).rowcount == 1
            if not done:
                return None
            case = s.get(Escalation, case_id)
            s.refresh(case)
            s.add(CaseEvent(case_id=case_id, kind="resolved",
                            actor=f"tg:{user_id} {case.claimed_by_name}",
                            detail={"note_chars": len(note)}))
            s.execute(delete(PendingInput).where(PendingInput.sender_id == f"tg:{user_id}",
                                                 PendingInput.case_id == case_id))
            return _view(s, case)

    def reopen(self, case_id: int, sender_id: str, at: dt.datetime | None = None) -> CaseView | None:
        """The citizen says it is not solved: back to the member who handled it."""
        at = _utc(at)
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            if (case is None or case.sender_id != sender_id or case.status != "resolved"
                    or case.claimed_by is None or case.resolved_at is None
                    or at - _aware(case.resolved_at) > dt.timedelta(hours=REOPEN_HOURS)):
                return None
            case.status, case.resolved_at = "claimed", None
            s.add(CaseEvent(case_id=case_id, kind="reopened", actor="citizen", detail={}))
            self._focus(s, case.claimed_by, case_id)
            s.flush()
            return _view(s, case)

    def rate(self, case_id: int, sender_id: str, stars: int) -> CaseView | None:
        if not 1 <= stars <= 5:
            return None
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            if case is None or case.sender_id != sender_id or case.status != "resolved":
                return None
            case.rating = stars
            s.add(CaseEvent(case_id=case_id, kind="rated", actor="citizen", detail={"rating": stars}))
            return _view(s, case)

    def set_callback(self, case_id: int, sender_id: str, phone: str) -> CaseView | None:
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            if case is None or case.sender_id != sender_id or case.status not in ("open", "claimed"):
                return None
            case.callback_phone = phone
            s.add(CaseEvent(case_id=case_id, kind="callback", actor="citizen",
                            detail={"consent": True}))  # the number itself stays on the case
            s.execute(delete(PendingInput).where(PendingInput.sender_id == sender_id,
                                                 PendingInput.kind == "callback_phone"))
            return _view(s, case)

    # --- moving a case -----------------------------------------------------------------------

    def forward_targets(self, case_id: int, limit: int = 8) -> list[TeamRef]:
        """Teams a member may forward to: the province's other teams (its default first),
        then the central team."""
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            if case is None:
                return []
            current = s.get(Team, case.team_id) if case.team_id else None
            q = select(Team).where(Team.id != (current.id if current else -1))
            if current is not None and current.province_id is not None:
                q = q.where((Team.province_id == current.province_id) | Team.is_central.is_(True))
            else:  # from the central queue: every province's default team
                q = q.where(Team.is_province_default.is_(True) | Team.is_central.is_(True))
            teams = s.scalars(q).all()
            teams.sort(key=lambda t: (t.is_central, not t.is_province_default, t.name))
            return [_ref(t) for t in teams[:limit]]

    def forward(self, case_id: int, team_id: int, actor: str) -> Move | None:
        """A member sends an open case to another team (a new card goes there)."""
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            target = s.get(Team, team_id)
            if case is None or target is None or case.status != "open" or case.team_id == team_id:
                return None
            return self._move(s, case, target, actor, "forwarded")

    def move_up(self, case_id: int, reason: str) -> Move | None:
        """Nobody claimed it in time (or the card could not be posted): the province's
        default team, then the central team."""
        with session_scope(self.url) as s:
            case = s.get(Escalation, case_id)
            if case is None or case.status != "open":
                return None
            current = s.get(Team, case.team_id) if case.team_id else None
            target = None
            if current is not None and not current.is_central and current.province_id is not None:
                target = s.scalars(select(Team).where(Team.province_id == current.province_id,
                                                      Team.is_province_default.is_(True),
                                                      Team.id != current.id)).first()
            if target is None and (current is None or not current.is_central):
                target = s.scalars(select(Team).where(Team.is_central.is_(True))).first()
            if target is None:
                return None
            return self._move(s, case, target, "system", reason)

    def _move(self, s, case: Escalation, target: Team, actor: str, reason: str) -> Move:
        old = _ref(s.get(Team, case.team_id)) if case.team_id else None
        old_card = (case.card_chat_id, case.card_message_id)
        case.team_id, case.route_level = target.id, _level(target)
        case.notified_at = case.reminded_at = None
        case.card_chat_id, case.card_message_id = "", None
        s.add(CaseEvent(case_id=case.id, kind="forwarded", actor=actor,
                        detail={"reason": reason, "from_team_id": old.id if old else None,
                                "to_team_id": target.id}))
        s.flush()
        return Move(_view(s, case), old, old_card, reason)

    # --- time --------------------------------------------------------------------------------

    def sweep(self, now: dt.datetime, directory: Directory, remind_after: dt.timedelta,
              move_after: dt.timedelta) -> tuple[list[CaseView], list[Move]]:
        """Reminders due and moves done at `now` (a parameter: tests control the clock).

        Waiting is counted in the team's working hours only: from the card, or from the
        start of today's working period when the card came in while the team was off.
        """
        hours = {t.code: t for t in directory.teams()}
        remind, moves = [], []
        for case in self.waiting():
            team = hours.get(case.team.code) if case.team else None
            if team is None or not is_open(team, now):
                continue
            since = max(case.notified_at, _period_start(team, now))
            waited = now - since
            if waited >= move_after:
                moved = self.move_up(case.id, "unclaimed")
                if moved is not None:
                    moves.append(moved)
                    continue  # else nowhere further: at least the reminder
            if waited >= remind_after:
                with session_scope(self.url) as s:
                    row = s.get(Escalation, case.id)
                    fresh = row.status == "open" and row.reminded_at is None
                if fresh:
                    self.mark_reminded(case.id, now)
                    case.extra["waited"] = waited
                    remind.append(case)
        return remind, moves


def _pending(s, sender_id: str) -> dict[str, int]:
    cutoff = utcnow() - dt.timedelta(minutes=PENDING_MINUTES)
    rows = s.scalars(select(PendingInput).where(PendingInput.sender_id == sender_id)).all()
    return {r.kind: r.case_id for r in rows if r.kind == "focus" or _aware(r.created_at) >= cutoff}


def _period_start(team, now: dt.datetime) -> dt.datetime:
    """Start of the working period `now` falls in (the team is open at `now`)."""
    local = now.astimezone(VIETNAM)
    minute = local.hour * 60 + local.minute
    for start, end in team.hours[local.weekday()]:
        if start <= minute < end:
            return dt.datetime.combine(local.date(), dt.time(start // 60, start % 60), VIETNAM)
    return now
