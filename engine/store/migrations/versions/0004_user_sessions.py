"""server-side session records

A session cookie alone cannot be taken back: one copied before sign-out, or before a password
change, kept working. Each sign-in now has a row (the hash of the cookie's key); signing out, a
password change and an administrator's "sign out everywhere" revoke it. Cookies issued before
this migration name no row, so everyone signs in once more.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from engine.store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_session",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(100), sa.ForeignKey("app_user.name"), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_user_session_user", "user_session", ["user_name"])


def downgrade() -> None:
    op.drop_index("ix_user_session_user", table_name="user_session")
    op.drop_table("user_session")
