"""Saved inbox filters: a person's named views with their counts

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_filter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("created_at", engine.store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["app_user.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_name", "name"),
    )


def downgrade() -> None:
    op.drop_table("saved_filter")
