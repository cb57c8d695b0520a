"""Conversation turns, guide progress, feedback and escalations.

Revision ID: 0002_conversations
Revises: 0001_knowledge_base
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_conversations"
down_revision = "0001_knowledge_base"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_turns",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("intent", sa.String(40), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("topic", sa.String(16), nullable=True),
        sa.Column("aspect", sa.String(24), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_conversation_turns_at", "conversation_turns", ["at"])
    op.create_index("ix_conversation_turns_sender", "conversation_turns", ["sender"])
    op.create_index("ix_conversation_turns_status", "conversation_turns", ["status"])
    op.create_index("ix_conversation_turns_topic", "conversation_turns", ["topic"])
    op.create_table(
        "guide_progress",
        sa.Column("sender", sa.String(40), primary_key=True),
        sa.Column("topic", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender", sa.String(40), nullable=False),
        sa.Column("turn_id", sa.Integer(), sa.ForeignKey("conversation_turns.id"), nullable=True),
        sa.Column("positive", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("ix_feedback_sender", "feedback", ["sender"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender_id", sa.String(120), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("location", sa.String(200), nullable=False),
        sa.Column("topic", sa.String(16), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("transcript", sa.JSON(), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_escalations_sender_id", "escalations", ["sender_id"])
    op.create_index("ix_escalations_status", "escalations", ["status"])


def downgrade() -> None:
    op.drop_table("escalations")
    op.drop_table("feedback")
    op.drop_table("guide_progress")
    op.drop_table("conversation_turns")
