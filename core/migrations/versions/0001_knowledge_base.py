"""Knowledge-base versions, entries and audit trail.

Revision ID: 0001_knowledge_base
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_knowledge_base"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kb_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer(), sa.ForeignKey("kb_versions.id"), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(120), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_kb_versions_status", "kb_versions", ["status"])
    op.create_table(
        "kb_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "version_id",
            sa.Integer(),
            sa.ForeignKey("kb_versions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("topic_id", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.UniqueConstraint("version_id", "topic_id", name="uq_entry_version_topic"),
    )
    op.create_index("ix_kb_entries_topic_id", "kb_entries", ["topic_id"])
    op.create_table(
        "kb_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("kb_versions.id"), nullable=True),
        sa.Column("topic_id", sa.String(16), nullable=True),
        sa.Column("change", sa.String(16), nullable=False, server_default=""),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_kb_audit_at", "kb_audit", ["at"])
    op.create_index("ix_kb_audit_topic_id", "kb_audit", ["topic_id"])


def downgrade() -> None:
    op.drop_table("kb_audit")
    op.drop_table("kb_entries")
    op.drop_table("kb_versions")
