"""The unresolved-questions loop: what was done with a group (KB draft, publication, regression).

Revision ID: 0006_unresolved
Revises: 0005_cases
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_unresolved"
down_revision = "0005_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unresolved_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("group_id", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("topic_id", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("escalations.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("draft_version", sa.Integer(), sa.ForeignKey("kb_versions.id"), nullable=True),
        sa.Column("published_version", sa.Integer(), sa.ForeignKey("kb_versions.id"),
                  nullable=True),
        sa.Column("regression_lines", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("group_id", name="uq_unresolved_group_id"),
    )
    op.create_index("ix_unresolved_groups_status", "unresolved_groups", ["status"])


def downgrade() -> None:
    op.drop_index("ix_unresolved_groups_status", table_name="unresolved_groups")
    op.drop_table("unresolved_groups")
