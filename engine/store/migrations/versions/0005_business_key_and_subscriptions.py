"""business keys and waiting message/signal subscriptions

A case has Camunda's business key (set at start), copied onto its inbox rows; the messages and
signals instances wait for are derived rows, indexed by name, so a correlation or a broadcast
finds its receivers without loading workflows.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance") as batch:
        batch.add_column(sa.Column("business_key", sa.String(length=255), nullable=True))
        batch.create_index("ix_instance_business_key", ["business_key"], unique=False)
    with op.batch_alter_table("human_task") as batch:
        batch.add_column(sa.Column("business_key", sa.String(length=255), nullable=True))
    op.create_table(
        "event_subscription",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=400), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_subscription_name", "event_subscription", ["kind", "name"], unique=False)
    op.create_index("ix_event_subscription_instance_id", "event_subscription", ["instance_id"], unique=False)


def downgrade() -> None:
    op.drop_table("event_subscription")
    with op.batch_alter_table("human_task") as batch:
        batch.drop_column("business_key")
    with op.batch_alter_table("instance") as batch:
        batch.drop_index("ix_instance_business_key")
        batch.drop_column("business_key")
