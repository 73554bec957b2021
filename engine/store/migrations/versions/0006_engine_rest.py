"""API tokens and external tasks (the Camunda 7 REST API under /engine-rest)

Two groups the API's rules name are created if missing: ``analyst`` (may deploy, e.g. from Camunda
Modeler) and ``worker`` (programs that fetch and answer external tasks).

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = engine.store.models.UTCDateTime


GROUPS = {"analyst": "流程分析员", "worker": "外部系统（外部任务）"}


def upgrade() -> None:
    existing = {row[0] for row in op.get_bind().execute(sa.text("SELECT name FROM work_group"))}
    groups = sa.table("work_group", sa.column("name"), sa.column("display_name"),
                      sa.column("supervisor_groups", sa.JSON()))
    op.bulk_insert(groups, [{"name": name, "display_name": label, "supervisor_groups": []}
                            for name, label in GROUPS.items() if name not in existing])
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("revoked_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["user_name"], ["app_user.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_token_user_name", "api_token", ["user_name"])
    op.create_table(
        "external_task",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("definition_id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=200), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("worker_id", sa.String(length=200), nullable=True),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("lock_expires_at", UTC(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_details", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("ended_at", UTC(), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.ForeignKeyConstraint(["definition_id"], ["definition_version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_external_task_instance_id", "external_task", ["instance_id"])
    op.create_index("ix_external_fetch", "external_task", ["state", "topic", "priority", "created_at"])


def downgrade() -> None:
    op.drop_table("external_task")
    op.drop_table("api_token")
    op.execute(sa.text("DELETE FROM work_group WHERE name IN ('analyst', 'worker')"))
