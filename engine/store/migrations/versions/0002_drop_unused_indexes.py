"""drop indexes no query uses

Every event and every task row paid for these on each write (a page each per commit on SQLite);
no query reads through them: events are found by chain, by instance and by actor, tasks by their
inbox indexes, and the export orders by instance and sequence.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DROPPED = (("ix_event_type", "event", ["type"]), ("ix_event_at", "event", ["at"]),
           ("ix_human_task_process_id", "human_task", ["process_id"]))


def upgrade() -> None:
    for name, table, _columns in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns in DROPPED:
        op.create_index(name, table, columns, unique=False)
