"""Case life: the team a case went to, claim, resolution, rating, call-back number, events.

Revision ID: 0005_cases
Revises: 0004_teams
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_cases"
down_revision = "0004_teams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("route_level", sa.String(16), nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("claimed_by_name", sa.String(120), nullable=False, server_default=""))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resolution", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("callback_phone", sa.String(40), nullable=False, server_default=""))
        batch.create_foreign_key("fk_escalations_team_id", "teams", ["team_id"], ["id"],
                                 ondelete="SET NULL")
        batch.create_index("ix_escalations_team_id", ["team_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("escalations.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(160), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])


def downgrade() -> None:
    op.drop_table("case_events")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_index("ix_escalations_team_id")
        batch.drop_constraint("fk_escalations_team_id", type_="foreignkey")
        for column in ("callback_phone", "rating", "resolved_at", "resolution", "claimed_at",
                       "claimed_by_name", "claimed_by", "route_level", "team_id"):
            batch.drop_column(column)
