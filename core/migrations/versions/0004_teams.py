"""Team directory: provinces, communes/wards, community digital technology teams, members.

Two tiers only (province -> commune), as after the 2025 reorganisation: no districts.

Revision ID: 0004_teams
Revises: 0003_gateway
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_teams"
down_revision = "0003_gateway"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provinces",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("code", name="uq_provinces_code"),
    )
    op.create_table(
        "communes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("provinces.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("code", sa.String(80), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("folded_name", sa.String(120), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("province_id", "code", name="uq_commune_province_code"),
    )
    op.create_index("ix_communes_province_id", "communes", ["province_id"])
    op.create_index("ix_communes_folded_name", "communes", ["folded_name"])
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(160), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("province_id", sa.Integer(), sa.ForeignKey("provinces.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("commune_id", sa.Integer(), sa.ForeignKey("communes.id", ondelete="CASCADE"),
                  nullable=True),
        sa.Column("telegram_chat_id", sa.String(40), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("working_hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("is_province_default", sa.Boolean(), nullable=False),
        sa.Column("is_central", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("code", name="uq_teams_code"),
        sa.UniqueConstraint("commune_id", name="uq_teams_commune_id"),
    )
    op.create_index("ix_teams_province_id", "teams", ["province_id"])
    op.create_table(
        "team_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.UniqueConstraint("team_id", "telegram_user_id", name="uq_member_team_user"),
    )
    op.create_index("ix_team_members_team_id", "team_members", ["team_id"])
    op.create_index("ix_team_members_telegram_user_id", "team_members", ["telegram_user_id"])


def downgrade() -> None:
    for table in ("team_members", "teams", "communes", "provinces"):
        op.drop_table(table)
