"""The assignee index ends in the task id: one's own tasks are read in inbox order from the index
alone (PostgreSQL reads no table row for the page's keys)

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_task_assignee", table_name="human_task")
    op.create_index("ix_task_assignee", "human_task", ["assignee", "state", "due_at", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_task_assignee", table_name="human_task")
    op.create_index("ix_task_assignee", "human_task", ["assignee", "state", "due_at", "created_at"])
