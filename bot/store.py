"""The gateway's durable state: inbound deliveries, outbound replies, consents, erasure.

Every webhook delivery is written here before it is acknowledged; the worker processes from
here, so a crash or restart loses nothing, and the unique ``(channel, delivery_id)`` key drops
duplicate deliveries for as long as rows are kept (``dedupe_hours``, at least 24 h).
Synchronous SQLAlchemy: the async gateway calls it through ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from core.db import check_schema, session_scope
from core.models import (
    ButtonPayload,
    ChannelToken,
    Consent,
    ConversationTurn,
    DataRequest,
    Escalation,
    Feedback,
    GuideProgress,
    InboundUpdate,
    OutboundMessage,
    PendingInput,
)
from core.redaction import pseudonym, redact


@dataclass
class Incoming:
    """One citizen message as a channel delivered it (before processing)."""

    channel: str
    delivery_id: str
    sender_id: str  # channel-namespaced: tg:<chat id>, zalo:<user id>, web:<id>
    chat_id: str
    kind: str  # text|payload|command|unsupported
    text: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    attempts: int = 0


@dataclass
class Outgoing:
    id: int
    update_id: int | None
    channel: str
    chat_id: str
    body: dict[str, Any]
    attempts: int


def _now() -> datetime:
    return datetime.now(UTC)


class GatewayStore:
    def __init__(self, url: str):
        self.url = url
        self.on_added: Callable[[int, str], None] | None = None  # the worker's submit

    def added(self, update_id: int | None, sender_id: str) -> None:
        """Called on the event loop after `add` stored a delivery (not for duplicates)."""
        if update_id is not None and self.on_added is not None:
            self.on_added(update_id, sender_id)

    def check(self) -> None:
        """DatabaseError naming the fix when the database is down or not migrated."""
        from sqlalchemy import inspect

        from core.db import DatabaseError, get_engine, redact_url

        check_schema(self.url)
        with get_engine(self.url).connect() as conn:
            if not inspect(conn).has_table("inbound_updates"):
                raise DatabaseError(f"The database at {redact_url(self.url)} predates the gateway. "
                                    "Run `govbot db upgrade`.")

    # --- inbound ---------------------------------------------------------------------------

    def add(self, item: Incoming) -> int | None:
        """Store a delivery; None when this delivery id was seen already (a duplicate)."""
        row = InboundUpdate(channel=item.channel, delivery_id=item.delivery_id[:80],
                            sender_id=item.sender_id[:120], chat_id=item.chat_id[:80],
                            kind=item.kind, text=item.text, detail=item.detail)
        try:
            with session_scope(self.url) as s:
                s.add(row)
                s.flush()
                return row.id
        except IntegrityError:
            return None

    def pending(self, limit: int = 200) -> list[tuple[int, str]]:
        """(id, sender) of pending deliveries, oldest first."""
        with session_scope(self.url) as s:
            rows = s.execute(select(InboundUpdate.id, InboundUpdate.sender_id)
                             .where(InboundUpdate.status == "pending")
                             .order_by(InboundUpdate.id).limit(limit)).all()
        return [(r[0], r[1]) for r in rows]

    def claim(self, update_id: int) -> Incoming | None:
        """Atomically move a pending delivery to processing; None when someone else has it."""
        with session_scope(self.url) as s:
            claimed = s.execute(update(InboundUpdate)
                                .where(InboundUpdate.id == update_id,
                                       InboundUpdate.status == "pending")
                                .values(status="processing", attempts=InboundUpdate.attempts + 1))
            if claimed.rowcount != 1:
                return None
            row = s.get(InboundUpdate, update_id)
            return Incoming(channel=row.channel, delivery_id=row.delivery_id,
                            sender_id=row.sender_id, chat_id=row.chat_id, kind=row.kind,
                            text=row.text, detail=dict(row.detail or {}), id=row.id,
                            attempts=row.attempts)

    def save_replies(self, update_id: int, replies: list[dict[str, Any]], *,
                     status: str = "answered") -> list[Outgoing]:
        """Store the replies to send and redact the delivery's text, in one transaction;
        returns them as stored (ready to send)."""
        with session_scope(self.url) as s:
            row = s.get(InboundUpdate, update_id)
            rows = []
            for position, body in enumerate(replies):
                body = dict(body)  # "_channel"/"_chat": a reply to someone else (a relay)
                rows.append(OutboundMessage(update_id=update_id, channel=body.pop("_channel", row.channel),
                                            chat_id=str(body.pop("_chat", row.chat_id)),
                                            position=position, body=body))
            s.add_all(rows)
            row.status = status
            row.text = redact(row.text)[:4000]
            row.processed_at = _now()
            s.flush()
            return [Outgoing(r.id, update_id, r.channel, r.chat_id, dict(r.body), 0) for r in rows]

    def release(self, update_id: int, error: str, *, give_up: bool) -> None:
        """Processing failed: back to pending for a retry, or failed for good."""
        with session_scope(self.url) as s:
            row = s.get(InboundUpdate, update_id)
            row.status = "failed" if give_up else "pending"
            row.error = error[:2000]

    def unsent(self, update_id: int) -> list[Outgoing]:
        with session_scope(self.url) as s:
            rows = s.scalars(select(OutboundMessage)
                             .where(OutboundMessage.update_id == update_id,
                                    OutboundMessage.status == "pending")
                             .order_by(OutboundMessage.position)).all()
            return [Outgoing(r.id, r.update_id, r.channel, r.chat_id, dict(r.body), r.attempts)
                    for r in rows]

    def enqueue(self, messages: list[dict[str, Any]]) -> list[int]:
        """Store messages that answer no delivery (a reminder, a relay from the web chat);
        each carries "_channel" and "_chat". Returns their ids, in order."""
        ids = []
        with session_scope(self.url) as s:
            for position, body in enumerate(messages):
                body = dict(body)
                row = OutboundMessage(update_id=None, channel=body.pop("_channel"),
                                      chat_id=str(body.pop("_chat")), position=position, body=body)
                s.add(row)
                s.flush()
                ids.append(row.id)
        return ids

    def outgoing(self, ids: list[int]) -> list[Outgoing]:
        with session_scope(self.url) as s:
            rows = s.scalars(select(OutboundMessage).where(OutboundMessage.id.in_(ids),
                                                           OutboundMessage.status == "pending")
                             .order_by(OutboundMessage.id)).all()
            return [Outgoing(r.id, r.update_id, r.channel, r.chat_id, dict(r.body), r.attempts)
                    for r in rows]

    def unsent_loose(self, limit: int = 1000) -> list[int]:
        """Ids of pending messages that answer no delivery (after a restart), web excluded
        (the web chat collects its own)."""
        with session_scope(self.url) as s:
            return list(s.scalars(select(OutboundMessage.id)
                                  .where(OutboundMessage.update_id.is_(None),
                                         OutboundMessage.status == "pending",
                                         OutboundMessage.channel != "web")
                                  .order_by(OutboundMessage.id).limit(limit)).all())

    def take_web(self, user_id: str) -> list[dict[str, Any]]:
        """Messages waiting for a web chat user (a team member's replies): marked sent."""
        with session_scope(self.url) as s:
            rows = s.scalars(select(OutboundMessage)
                             .where(OutboundMessage.channel == "web",
                                    OutboundMessage.chat_id == user_id,
                                    OutboundMessage.status == "pending")
                             .order_by(OutboundMessage.id).with_for_update()).all()
            for row in rows:
                row.status, row.sent_at = "sent", _now()
            return [dict(r.body) for r in rows]

    def mark_sent(self, out_id: int, complete: int | None = None) -> None:
        """Record a send; with `complete`, also finish that delivery (its last reply)."""
        with session_scope(self.url) as s:
            s.execute(update(OutboundMessage).where(OutboundMessage.id == out_id)
                      .values(status="sent", sent_at=_now(), attempts=OutboundMessage.attempts + 1))
            if complete is not None:
                s.execute(update(InboundUpdate).where(InboundUpdate.id == complete,
                                                      InboundUpdate.status == "answered")
                          .values(status="done"))

    def mark_failed(self, out_id: int, error: str) -> None:
        with session_scope(self.url) as s:
            s.execute(update(OutboundMessage).where(OutboundMessage.id == out_id)
                      .values(status="failed", error=error[:2000],
                              attempts=OutboundMessage.attempts + 1))

    def complete(self, update_id: int) -> None:
        with session_scope(self.url) as s:
            s.execute(update(InboundUpdate).where(InboundUpdate.id == update_id,
                                                  InboundUpdate.status == "answered")
                      .values(status="done"))

    def recover(self) -> tuple[int, list[int]]:
        """After a restart: deliveries caught mid-processing go back to pending; returns
        (how many, ids of answered deliveries whose replies were not all sent)."""
        with session_scope(self.url) as s:
            reset = s.execute(update(InboundUpdate).where(InboundUpdate.status == "processing")
                              .values(status="pending")).rowcount
            answered = s.scalars(select(InboundUpdate.id).where(InboundUpdate.status == "answered")
                                 .order_by(InboundUpdate.id)).all()
        return reset, list(answered)

    def purge(self, older_than_hours: float) -> int:
        """Forget finished deliveries older than the de-duplication window."""
        cutoff = _now() - timedelta(hours=older_than_hours)
        with session_scope(self.url) as s:
            old = select(InboundUpdate.id).where(InboundUpdate.received_at < cutoff,
                                                 InboundUpdate.status.in_(["done", "failed", "limited"]))
            s.execute(delete(OutboundMessage).where(OutboundMessage.update_id.in_(old)))
            # Messages that answer no delivery: once sent or failed, and web chat ones never
            # collected (the page was not opened again within the window).
            s.execute(delete(OutboundMessage).where(
                OutboundMessage.update_id.is_(None), OutboundMessage.created_at < cutoff,
                (OutboundMessage.status != "pending") | (OutboundMessage.channel == "web")))
            return s.execute(delete(InboundUpdate).where(InboundUpdate.id.in_(old))).rowcount

    def failures(self, limit: int = 50) -> list[dict[str, Any]]:
        """Failed sends and deliveries, newest first: what an operator needs to see."""
        with session_scope(self.url) as s:
            outs = s.scalars(select(OutboundMessage).where(OutboundMessage.status == "failed")
                             .order_by(OutboundMessage.id.desc()).limit(limit)).all()
            ins = s.scalars(select(InboundUpdate).where(InboundUpdate.status == "failed")
                            .order_by(InboundUpdate.id.desc()).limit(limit)).all()
            return ([{"kind": "send", "id": o.id, "channel": o.channel, "at": o.created_at.isoformat(),
                      "error": o.error} for o in outs]
                    + [{"kind": "process", "id": i.id, "channel": i.channel,
                        "at": i.received_at.isoformat(), "error": i.error} for i in ins])

    def counts(self) -> dict[str, int]:
        with session_scope(self.url) as s:
            rows = s.execute(select(InboundUpdate.status, func.count())
                             .group_by(InboundUpdate.status)).all()
            sent = s.execute(select(OutboundMessage.status, func.count())
                             .group_by(OutboundMessage.status)).all()
        return {**{f"inbound_{k}": v for k, v in rows}, **{f"outbound_{k}": v for k, v in sent}}

    # --- button payloads ---------------------------------------------------------------------

    def short_payload(self, payload: str) -> str:
        """A short stable key for a long payload ("#k:<16 hex>")."""
        key = hashlib.sha256(payload.encode()).hexdigest()[:16]
        with session_scope(self.url) as s:
            if s.get(ButtonPayload, key) is None:
                s.add(ButtonPayload(key=key, payload=payload))
        return f"#k:{key}"

    def resolve_payload(self, short: str) -> str | None:
        with session_scope(self.url) as s:
            row = s.get(ButtonPayload, short.removeprefix("#k:"))
            return row.payload if row else None

    # --- channel tokens ----------------------------------------------------------------------

    def token(self, name: str) -> tuple[str, str, datetime] | None:
        with session_scope(self.url) as s:
            row = s.get(ChannelToken, name)
            if row is None:
                return None
            expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
            return row.access_token, row.refresh_token, expires

    def save_token(self, name: str, access: str, refresh: str, expires_at: datetime) -> None:
        with session_scope(self.url) as s:
            row = s.get(ChannelToken, name)
            if row is None:
                s.add(ChannelToken(name=name, access_token=access, refresh_token=refresh,
                                   expires_at=expires_at))
            else:
                row.access_token, row.refresh_token = access, refresh
                row.expires_at, row.updated_at = expires_at, _now()

    # --- consent and erasure -----------------------------------------------------------------

    def set_consent(self, sender_id: str, granted: bool) -> None:
        who = pseudonym(sender_id)
        with session_scope(self.url) as s:
            row = s.get(Consent, who)
            if row is None:
                s.add(Consent(sender=who, granted=granted))
            else:
                row.granted, row.at = granted, _now()

    def consent(self, sender_id: str) -> bool | None:
        with session_scope(self.url) as s:
            row = s.get(Consent, pseudonym(sender_id))
            return None if row is None else row.granted

    def erase(self, sender_id: str) -> dict[str, int]:
        """Erase a citizen's conversation and personal data; record the request."""
        who = pseudonym(sender_id)
        with session_scope(self.url) as s:
            removed = {
                "feedback": s.execute(delete(Feedback).where(Feedback.sender == who)).rowcount,
                "conversation_turns": s.execute(
                    delete(ConversationTurn).where(ConversationTurn.sender == who)).rowcount,
                "guide_progress": s.execute(
                    delete(GuideProgress).where(GuideProgress.sender == who)).rowcount,
                # Cases stay countable for the team's statistics, without their content.
                "escalations": s.execute(
                    update(Escalation).where(Escalation.sender_id == sender_id)
                    .values(sender_id=f"erased:{who}", question="", transcript=[], location="",
                            callback_phone="", resolution="", status="erased")).rowcount,
                "pending_inputs": s.execute(
                    delete(PendingInput).where(PendingInput.sender_id == sender_id)).rowcount,
                "messages": s.execute(
                    update(InboundUpdate).where(InboundUpdate.sender_id == sender_id,
                                               InboundUpdate.status.notin_(["pending", "processing"]))
                    .values(text="")).rowcount,
                "consents": s.execute(delete(Consent).where(Consent.sender == who)).rowcount,
            }
            s.add(DataRequest(sender=who, kind="erasure", detail=removed))
        return removed
