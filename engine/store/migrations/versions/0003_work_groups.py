"""groups with Chinese names and their supervisors

Staff read groups by name (工程部, not "engineering"); an administrator may only put people in
groups that exist. The groups already in use are kept (named as they were), the centre's usual
ones get their Chinese names; operational groups are supervised by customer-service supervisors
and managers, as the complaint procedure's 督办 has it. All of it is editable (``bpmdesk groups``,
the admin page).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SUPERVISORS = ["cs-supervisor", "cs-manager"]
CENTRE_GROUPS = {
    "front-desk": "客服前台", "dept": "责任部门", "engineering": "工程部", "cleaning": "保洁",
    "security": "秩序", "landscaping": "绿化", "cs-supervisor": "客服主管", "cs-manager": "客服经理",
    "gm": "总经理", "finance": "财务", "store-manager": "店长", "service-center": "服务中心",
    "sales-head": "自营部负责人", "registry-clerk": "户籍专员", "auditor": "审计", "admin": "系统管理员",
}
OVERSIGHT = {"cs-supervisor": ["cs-manager"], "cs-manager": ["gm"], "gm": [], "auditor": [], "admin": []}


def upgrade() -> None:
    table = op.create_table(
        "work_group",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("supervisor_groups", sa.JSON(), nullable=False),
    )
    in_use = [row[0] for row in op.get_bind().execute(sa.text("SELECT DISTINCT group_name FROM membership"))]
    names = {**{name: name for name in in_use}, **CENTRE_GROUPS}
    op.bulk_insert(table, [{"name": name, "display_name": label, "supervisor_groups": OVERSIGHT.get(name, SUPERVISORS)}
                           for name, label in sorted(names.items())])


def downgrade() -> None:
    op.drop_table("work_group")
