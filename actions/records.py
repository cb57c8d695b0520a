"""What the assistant records: answers, guide progress, feedback, escalations.

Text is redacted before it is stored; senders are stored as pseudonyms except on an
escalation, which needs the real (channel-namespaced) id to reach the citizen again.
A citizen who declined the privacy notice (``consents``) gets turns recorded without text:
the status and topic still count for the analytics, their words are not kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.db import session_scope
from core.models import CaseEvent, Consent, ConversationTurn, Escalation, Feedback, GuideProgress, utcnow
from core.redaction import pseudonym, redact


class ConversationRecords:
    def __init__(self, url: str):
        self.url = url

    # --- turns --------------------------------------------------------------------------

    def record_turn(self, sender_id: str, text: str, *, status: str, intent: str | None = None,
                    confidence: float | None = None, topic: str | None = None,
                    aspect: str | None = None, detail: dict[str, Any] | None = None) -> int:
        who = pseudonym(sender_id)
        with session_scope(self.url) as s:
            consent = s.get(Consent, who)
            if consent is not None and not consent.granted:
                text = ""
            turn = ConversationTurn(sender=who, text=redact(text)[:2000],
                                    intent=intent, confidence=confidence, status=status,
                                    topic=topic, aspect=aspect, detail=detail or {})
            s.add(turn)
            s.flush()
            return turn.id

    def has_history(self, sender_id: str) -> bool:
        with session_scope(self.url) as s:
            return s.scalars(select(ConversationTurn.id).where(
                ConversationTurn.sender == pseudonym(sender_id)).limit(1)).first() is not None

    def last_answer(self, sender_id: str) -> ConversationTurn | None:
        with session_scope(self.url) as s:
            return s.scalars(select(ConversationTurn).where(
                ConversationTurn.sender == pseudonym(sender_id),
                ConversationTurn.status.in_(("answered", "clarified", "guided", "unresolved")),
            ).order_by(ConversationTurn.id.desc()).limit(1)).first()

    def turns(self, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        with session_scope(self.url) as s:
            q = select(ConversationTurn).order_by(ConversationTurn.id.desc()).limit(limit)
            if status:
                q = q.where(ConversationTurn.status == status)
            return [{"id": t.id, "at": t.at.isoformat(), "text": t.text, "intent": t.intent,
                     "status": t.status, "topic": t.topic, "aspect": t.aspect,
                     "detail": t.detail} for t in s.scalars(q)]

    # --- guide progress -----------------------------------------------------------------

    def save_progress(self, sender_id: str, topic: str, step: int, total: int) -> None:
        with session_scope(self.url) as s:
            row = s.get(GuideProgress, pseudonym(sender_id))
            if row is None:
                s.add(GuideProgress(sender=pseudonym(sender_id), topic=topic, step=step,
                                    total=total, updated_at=utcnow()))
            else:
                row.topic, row.step, row.total, row.updated_at = topic, step, total, utcnow()

    def progress(self, sender_id: str) -> tuple[str, int, int] | None:
        with session_scope(self.url) as s:
            row = s.get(GuideProgress, pseudonym(sender_id))
            return (row.topic, row.step, row.total) if row else None

    def clear_progress(self, sender_id: str) -> None:
        with session_scope(self.url) as s:
            row = s.get(GuideProgress, pseudonym(sender_id))
            if row is not None:
                s.delete(row)

    # --- feedback -----------------------------------------------------------------------

    def record_feedback(self, sender_id: str, positive: bool, text: str) -> int | None:
        last = self.last_answer(sender_id)
        with session_scope(self.url) as s:
            s.add(Feedback(sender=pseudonym(sender_id), turn_id=last.id if last else None,
                           positive=positive, text=redact(text)[:2000]))
        return last.id if last else None

    # --- escalations --------------------------------------------------------------------

    def create_escalation(self, sender_id: str, *, location: str, topic: str | None,
                          step: int | None, question: str, transcript: list[dict[str, str]],
                          consent_at: datetime) -> int:
        with session_scope(self.url) as s:
            case = Escalation(sender_id=sender_id, location=location.strip()[:200], topic=topic,
                              step=step, question=redact(question)[:2000],
                              transcript=[{"who": t["who"], "text": redact(t["text"])[:1000]}
                                          for t in transcript],
                              consent_at=consent_at, status="open")
            s.add(case)
            s.flush()
            s.add(CaseEvent(case_id=case.id, kind="created", actor="citizen",
                            detail={"consent_at": consent_at.isoformat()}))
            return case.id

    def escalations(self, status: str | None = None) -> list[dict[str, Any]]:
        with session_scope(self.url) as s:
            q = select(Escalation).order_by(Escalation.id)
            if status:
                q = q.where(Escalation.status == status)
            return [{"id": e.id, "created_at": e.created_at.isoformat(), "status": e.status,
                     "sender_id": e.sender_id, "location": e.location, "topic": e.topic,
                     "step": e.step, "question": e.question, "transcript": e.transcript,
                     "consent_at": e.consent_at.isoformat(), "team_id": e.team_id,
                     "route_level": e.route_level, "claimed_by_name": e.claimed_by_name,
                     "claimed_at": e.claimed_at.isoformat() if e.claimed_at else None,
                     "resolution": e.resolution, "rating": e.rating,
                     "callback": bool(e.callback_phone)} for e in s.scalars(q)]
