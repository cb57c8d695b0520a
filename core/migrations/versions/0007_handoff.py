"""Team handoff: the card posted to the team's group, reminders, and pending inputs.

Revision ID: 0007_handoff
Revises: 0006_unresolved
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_handoff"
down_revision = "0006_unresolved"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("card_chat_id", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("card_message_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_escalations_claimed_by", "escalations", ["claimed_by"])
    op.create_table(
        "pending_inputs",
        sa.Column("sender_id", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(24), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("escalations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pending_inputs")
    op.drop_index("ix_escalations_claimed_by", table_name="escalations")
    with op.batch_alter_table("escalations") as batch:
        for column in ("reminded_at", "card_message_id", "card_chat_id", "notified_at"):
            batch.drop_column(column)
