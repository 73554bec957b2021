"""the groups that the newly drawn procedures of the manuals name (issue 18)

Sales-order administration and the finance ↔ business-manager notice (销管, 业务经理, 直管副总),
phone repair (售后专员), project intake (客服专员, 投资总监), policy-service quality control (its six
posts, 交接岗 … 打印岗), bulk after-sales (销售部, 技术部, 物流部, 售后服务部) and the outsourced shop
(外包客服, 店铺掌柜) each name their own posts. Created if missing (an administrator may already have
made one by hand), supervised by the customer-service supervisors and managers like the centre's
other operational groups; all of it editable (``bpmdesk groups``, the admin page).

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SUPERVISORS = ["cs-supervisor", "cs-manager"]
GROUPS = {
    "sales-admin": "销管", "business-manager": "业务经理", "vp": "直管副总",
    "after-sales": "售后专员", "cs-specialist": "客服专员", "investment-director": "投资总监",
    "policy-intake": "交接岗", "policy-entry": "录入岗", "policy-change": "保全岗",
    "policy-review": "复核岗", "policy-binding": "装订岗", "policy-print": "打印岗",
    "sales-dept": "销售部", "tech-dept": "技术部", "logistics-dept": "物流部", "after-sales-dept": "售后服务部",
    "outsourced-cs": "外包客服", "shop-owner": "店铺掌柜",
}


def upgrade() -> None:
    existing = {row[0] for row in op.get_bind().execute(sa.text("SELECT name FROM work_group"))}
    groups = sa.table("work_group", sa.column("name"), sa.column("display_name"),
                      sa.column("supervisor_groups", sa.JSON()))
    op.bulk_insert(groups, [{"name": name, "display_name": label, "supervisor_groups": SUPERVISORS}
                            for name, label in GROUPS.items() if name not in existing])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM work_group WHERE name IN :names").bindparams(
        sa.bindparam("names", list(GROUPS), expanding=True)))
