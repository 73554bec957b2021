"""report facts: cases, steps and service levels folded from the event log

The dashboard (/reports) and the generated reports read these instead of the event log. They are
kept by the unit of work that records the events (engine/reports/facts.py); this migration fills
them from the log already recorded, as ``bpmdesk report rebuild`` does.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from engine.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC = UTCDateTime


def upgrade() -> None:
    op.create_table(
        "case_fact",
        sa.Column("instance_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("definition_id", sa.Integer(), nullable=True),
        sa.Column("process_id", sa.String(200), nullable=False),
        sa.Column("started_at", UTC(), nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.Column("ended_at", UTC(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
    )
    op.create_index("ix_case_fact_started", "case_fact", ["started_at"])
    op.create_index("ix_case_fact_ended", "case_fact", ["ended_at"])
    op.create_table(
        "step_fact",
        sa.Column("task_id", sa.String(36), primary_key=True),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=True),
        sa.Column("element_id", sa.String(200), nullable=True),
        sa.Column("name", sa.String(400), nullable=True),
        sa.Column("department", sa.String(100), nullable=True),
        sa.Column("opened_at", UTC(), nullable=False),
        sa.Column("due_at", UTC(), nullable=True),
        sa.Column("finished_at", UTC(), nullable=True),
        sa.Column("finished_by", sa.String(100), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("escalated_at", UTC(), nullable=True),
        sa.Column("escalation_of", sa.String(36), nullable=True),
        sa.Column("acted_by", sa.String(100), nullable=True),
        sa.Column("acted_at", UTC(), nullable=True),
        sa.Column("satisfaction", sa.String(40), nullable=True),
    )
    for name, column in (("opened", "opened_at"), ("finished", "finished_at"), ("escalated", "escalated_at"),
                         ("instance", "instance_id")):
        op.create_index(f"ix_step_fact_{name}", "step_fact", [column])
    op.create_index("ix_step_fact_open", "step_fact", ["outcome", "due_at"])
    op.create_table(
        "sla_fact",
        sa.Column("task_id", sa.String(36), primary_key=True),
        sa.Column("limit_id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(400), nullable=True),
        sa.Column("due_at", UTC(), nullable=False),
    )
    op.create_index("ix_sla_fact_due", "sla_fact", ["due_at"])
    from engine.reports.facts import rebuild  # the same fold the units of work run

    rebuild(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_table("sla_fact")
    op.drop_table("step_fact")
    op.drop_table("case_fact")
