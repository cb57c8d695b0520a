"""ORM models (SQLAlchemy 2 typed style). Schema changes go through Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
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
