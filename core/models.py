"""ORM models (SQLAlchemy 2 typed style). Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class KbVersion(Base):
    """One complete snapshot of the knowledge base: draft, published or archived."""

    __tablename__ = "kb_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft|published|archived
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("kb_versions.id"), nullable=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    entries: Mapped[list[KbEntry]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="KbEntry.topic_id"
    )


class KbEntry(Base):
    """One topic inside one version; `data` is the validated entry as JSON."""

    __tablename__ = "kb_entries"
    __table_args__ = (UniqueConstraint("version_id", "topic_id", name="uq_entry_version_topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("kb_versions.id", ondelete="CASCADE"))
    topic_id: Mapped[str] = mapped_column(String(16), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    version: Mapped[KbVersion] = relationship(back_populates="entries")


class KbAudit(Base):
    """Audit trail of knowledge-base changes: who, when, what."""

    __tablename__ = "kb_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(32))  # import|publish|rollback|export
    version_id: Mapped[int | None] = mapped_column(ForeignKey("kb_versions.id"), nullable=True)
    topic_id: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    change: Mapped[str] = mapped_column(String(16), default="")  # added|changed|removed
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ConversationTurn(Base):
    """One bot answer: what was asked (redacted), how it was understood, what was answered.
    The analytics and the unresolved queue are queries on this table."""

    __tablename__ = "conversation_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    sender: Mapped[str] = mapped_column(String(40), index=True)  # pseudonym of the sender id
    text: Mapped[str] = mapped_column(Text, default="")  # redacted
    intent: Mapped[str | None] = mapped_column(String(40), nullable=True)
    confidence: Mapped[float | None] = mapped_column(nullable=True)
    # answered|clarified|guided|unresolved|out_of_scope|escalated|rephrase|small_talk|safety
    status: Mapped[str] = mapped_column(String(16), index=True)
    topic: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    aspect: Mapped[str | None] = mapped_column(String(24), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # scores, kb version


class GuideProgress(Base):
    """Where a citizen is in a step-by-step guide; kept across sessions and days."""

    __tablename__ = "guide_progress"

    sender: Mapped[str] = mapped_column(String(40), primary_key=True)
    topic: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(Base):
    """A citizen's judgement of the last answer."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sender: Mapped[str] = mapped_column(String(40), index=True)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("conversation_turns.id"), nullable=True)
    positive: Mapped[bool]
    text: Mapped[str] = mapped_column(Text, default="")  # redacted


class Escalation(Base):
    """A case for the community digital technology team, created after consent."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sender_id: Mapped[str] = mapped_column(String(120), index=True)  # channel-namespaced
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    location: Mapped[str] = mapped_column(String(200), default="")
    topic: Mapped[str | None] = mapped_column(String(16), nullable=True)
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    question: Mapped[str] = mapped_column(Text, default="")  # redacted
    transcript: Mapped[list[Any]] = mapped_column(JSON, default=list)  # redacted excerpt
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Routing and the case's life (issue 5); every change is also a CaseEvent.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"),
                                                nullable=True, index=True)
    route_level: Mapped[str | None] = mapped_column(String(16), nullable=True)  # commune|province|central
    claimed_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)  # Telegram user id
    claimed_by_name: Mapped[str] = mapped_column(String(120), default="")
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolution: Mapped[str] = mapped_column(Text, default="")  # the member's note, redacted
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1-5 from the citizen
    callback_phone: Mapped[str] = mapped_column(String(40), default="")  # given with consent
    # The team's side (bot/teamdesk.py): the card in the team's group chat, the reminder.
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    card_chat_id: Mapped[str] = mapped_column(String(40), default="")
    card_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PendingInput(Base):
    """The next message of a sender answers a question the gateway asked: a call-back number
    (citizen) or a case's resolution note (team member)."""

    __tablename__ = "pending_inputs"

    sender_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)  # callback_phone|resolution_note
    case_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseEvent(Base):
    """Who changed a case and when: created, notified, claimed, forwarded, resolved, reopened..."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(160))  # system | citizen | tg:<member id> name
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InboundUpdate(Base):
    """A delivery from a channel, stored before the webhook is acknowledged.

    Processing runs from this table, so a crash loses nothing; ``(channel, delivery_id)`` is
    unique, so a duplicate delivery is dropped. The text is redacted once it is processed.
    """

    __tablename__ = "inbound_updates"
    __table_args__ = (UniqueConstraint("channel", "delivery_id", name="uq_inbound_delivery"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # telegram|zalo|web
    delivery_id: Mapped[str] = mapped_column(String(80))  # update_id, msg_id, client id
    sender_id: Mapped[str] = mapped_column(String(120), index=True)  # tg:<chat>, zalo:<uid>
    chat_id: Mapped[str] = mapped_column(String(80))  # where replies go
    kind: Mapped[str] = mapped_column(String(16))  # text|payload|command|unsupported
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # callback id, names
    # pending|processing|answered|done|limited|failed
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class OutboundMessage(Base):
    """A reply waiting to be sent (or sent) on a channel; send errors stay visible here."""

    __tablename__ = "outbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    update_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_updates.id"), nullable=True,
                                                  index=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"text": ..., "buttons": [...]}
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ButtonPayload(Base):
    """A button payload too long for a channel (Telegram's callback_data is 64 bytes)."""

    __tablename__ = "button_payloads"

    key: Mapped[str] = mapped_column(String(24), primary_key=True)
    payload: Mapped[str] = mapped_column(Text)


class ChannelToken(Base):
    """A channel's rotating credentials (Zalo OA access and refresh tokens)."""

    __tablename__ = "channel_tokens"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Consent(Base):
    """A citizen's answer to the privacy notice (storing the conversation, redacted)."""

    __tablename__ = "consents"

    sender: Mapped[str] = mapped_column(String(40), primary_key=True)  # pseudonym
    granted: Mapped[bool]
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DataRequest(Base):
    """A data-subject request (erasure through /xoadulieu) and what it removed."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender: Mapped[str] = mapped_column(String(40), index=True)  # pseudonym
    kind: Mapped[str] = mapped_column(String(16))  # erasure
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # rows removed per table


# --- team directory (teams/): province -> commune/ward -> team; no districts since 1/7/2025 ---


class Province(Base):
    """One of the 34 provinces and centrally-run cities (the 2025 map)."""

    __tablename__ = "provinces"
    __table_args__ = (UniqueConstraint("code", name="uq_provinces_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))  # "thai-nguyen"
    name: Mapped[str] = mapped_column(String(80))  # "Thái Nguyên"
    kind: Mapped[str] = mapped_column(String(16))  # tỉnh | thành phố
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    communes: Mapped[list[Commune]] = relationship(
        back_populates="province", cascade="all, delete-orphan", passive_deletes=True)


class Commune(Base):
    """A commune, ward or special zone (xã, phường, đặc khu) of a province."""

    __tablename__ = "communes"
    __table_args__ = (UniqueConstraint("province_id", "code", name="uq_commune_province_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id", ondelete="CASCADE"),
                                             index=True)
    code: Mapped[str] = mapped_column(String(80))  # "phuong-tich-luong"
    name: Mapped[str] = mapped_column(String(120))  # "Tích Lương"
    kind: Mapped[str] = mapped_column(String(16))  # xã | phường | đặc khu
    folded_name: Mapped[str] = mapped_column(String(120), index=True)  # "tich luong"
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list)  # former names, spellings
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    province: Mapped[Province] = relationship(back_populates="communes")


class Team(Base):
    """A community digital technology team: a commune's, a province's default, or central."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("code", name="uq_teams_code"),
                      UniqueConstraint("commune_id", name="uq_teams_commune_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(160))  # thai-nguyen/phuong-tich-luong
    name: Mapped[str] = mapped_column(String(200))
    province_id: Mapped[int | None] = mapped_column(
        ForeignKey("provinces.id", ondelete="CASCADE"), nullable=True, index=True)
    commune_id: Mapped[int | None] = mapped_column(
        ForeignKey("communes.id", ondelete="CASCADE"), nullable=True)
    telegram_chat_id: Mapped[str] = mapped_column(String(40))  # the team's group chat
    phone: Mapped[str] = mapped_column(String(40))  # call-back number shown to citizens
    working_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"mon": [..]}
    holidays: Mapped[list[Any]] = mapped_column(JSON, default=list)  # ISO dates
    is_province_default: Mapped[bool] = mapped_column(Boolean, default=False)
    is_central: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="TeamMember.position",
        passive_deletes=True)


class TeamMember(Base):
    """A team member as Telegram knows them."""

    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "telegram_user_id", name="uq_member_team_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default="member")  # leader|deputy|member
    position: Mapped[int] = mapped_column(Integer, default=0)

    team: Mapped[Team] = relationship(back_populates="members")


# --- the unresolved-questions loop (knowledge/unresolved.py) -------------------------------


class UnresolvedGroup(Base):
    """A group of the unresolved-questions queue that was turned into a KB draft.

    The groups themselves are computed (clustering); this row keeps what was done with one:
    the draft (FAQ or alias on a topic), its version, and whether it is published and its
    questions were added to the retrieval regression set.
    """

    __tablename__ = "unresolved_groups"
    __table_args__ = (UniqueConstraint("group_id", name="uq_unresolved_group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[str] = mapped_column(String(24))  # key of the group's first item: t12, f3, c7
    status: Mapped[str] = mapped_column(String(16), default="drafted", index=True)  # drafted|published
    topic_id: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))  # faq|alias
    change: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"q", "a"} | {"alias"}
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalations.id", ondelete="SET NULL"), nullable=True)
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)  # item keys at draft time
    questions: Mapped[list[Any]] = mapped_column(JSON, default=list)  # their redacted texts
    draft_version: Mapped[int | None] = mapped_column(ForeignKey("kb_versions.id"), nullable=True)
    published_version: Mapped[int | None] = mapped_column(ForeignKey("kb_versions.id"),
                                                          nullable=True)
    regression_lines: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
