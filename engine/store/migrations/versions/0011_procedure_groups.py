"""the groups the remaining procedures of the manuals name (issue 18)

Phone repair, the duty roster, the outsourced shop, call-backs, project intake, the maternity
hospital, sales administration, policy-service quality control, finance ↔ business managers,
pre-handover preparation, the language school and bulk after-sales each name their own posts.
Created if missing, supervised by the customer-service supervisors and managers like the centre's
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
    "after-sales": "售后专员", "cs-specialist": "客服专员", "investment-director": "投资总监",
    "shop-owner": "店铺掌柜", "hospital-duty": "医院总值班", "hospital-logistics": "后勤部",
    "outpatient": "门诊部", "inpatient": "住院部", "sales-admin": "销管", "business-manager": "业务经理",
    "sales-director": "销售总监", "vp": "分管副总", "policy-intake": "交接岗", "policy-entry": "录入岗",
    "policy-change": "保全岗", "policy-review": "复核岗", "policy-binding": "装订岗", "policy-print": "打印岗",
    "area-lead": "片区组长", "risk-control-lead": "风控组组长", "course-consultant": "课程顾问",
    "teaching-assistant": "助教", "teacher": "老师", "sales-dept": "销售部", "tech-dept": "技术部",
    "logistics-dept": "物流部",
}


def upgrade() -> None:
    existing = {row[0] for row in op.get_bind().execute(sa.text("SELECT name FROM work_group"))}
    groups = sa.table("work_group", sa.column("name"), sa.column("display_name"),
                      sa.column("supervisor_groups", sa.JSON()))
    op.bulk_insert(groups, [{"name": name, "display_name": label, "supervisor_groups": SUPERVISORS}
                            for name, label in GROUPS.items() if name not in existing])


def downgrade() -> None:
    names = ", ".join(f"'{name}'" for name in GROUPS)
    op.execute(sa.text(f"DELETE FROM work_group WHERE name IN ({names})"))
