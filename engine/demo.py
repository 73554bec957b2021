"""Demo mode: one account per group, all with password ``demo``, so anyone can try every role."""
from __future__ import annotations

from engine import services
from engine.store import Database

DEMO_PASSWORD = "demo"
DEMO_USERS: list[tuple[str, str, list[str]]] = [
    ("frontdesk", "前台 王芳", ["front-desk"]),
    ("frontdesk2", "前台 李娜", ["front-desk"]),
    ("supervisor", "客服主管 张伟", ["cs-supervisor"]),
    ("manager", "客服经理 刘洋", ["cs-manager"]),
    ("gm", "总经理 陈静", ["gm"]),
    ("engineer", "工程部 赵强", ["engineering"]),
    ("engineer2", "工程部 孙磊", ["engineering"]),
    ("cleaner", "保洁 周敏", ["cleaning"]),
    ("guard", "秩序 吴军", ["security"]),
    ("gardener", "绿化 郑华", ["landscaping"]),
    ("storemgr", "店长 冯丽", ["store-manager"]),
    ("service", "服务中心 何欣", ["service-center"]),
    ("sales", "自营部负责人 许诺", ["sales-head"]),
    ("finance", "财务 马丽", ["finance"]),
    ("registry", "户籍专员 高远", ["registry-clerk"]),
    ("aftersales", "售后专员 蔡安", ["after-sales"]),
    ("specialist", "客服专员 罗佳", ["cs-specialist"]),
    ("investdir", "投资总监 韩博", ["investment-director"]),
    ("shopowner", "店铺掌柜 邓掌柜", ["shop-owner"]),
    ("hospduty", "医院总值班 曹医生", ["hospital-duty"]),
    ("hosplogistics", "后勤部 彭师傅", ["hospital-logistics"]),
    ("outpatient", "门诊部 曾护士", ["outpatient"]),
    ("inpatient", "住院部 首诊医生 萧医生", ["inpatient"]),
    ("salesadmin", "销管 田静", ["sales-admin"]),
    ("bizmgr", "业务经理 董明", ["business-manager"]),
    ("salesdir", "销售总监 袁总", ["sales-director"]),
    ("vp", "分管副总 潘总", ["vp"]),
    ("policyintake", "交接岗 蒋一", ["policy-intake"]),
    ("policyentry", "录入岗 蔡二", ["policy-entry"]),
    ("policychange", "保全岗 贾三", ["policy-change"]),
    ("policyreview", "复核岗 丁四", ["policy-review"]),
    ("policybinding", "装订岗 魏五", ["policy-binding"]),
    ("policyprint", "打印岗 薛六", ["policy-print"]),
    ("arealead", "片区组长 叶青", ["area-lead"]),
    ("risklead", "风控组组长 阎严", ["risk-control-lead"]),
    ("consultant", "课程顾问 余帆", ["course-consultant"]),
    ("assistant", "助教 杜蕾", ["teaching-assistant"]),
    ("teacher", "老师 戴维", ["teacher"]),
    ("salesdept", "销售部 夏天", ["sales-dept"]),
    ("techdept", "技术部 钟工", ["tech-dept"]),
    ("logisticsdept", "物流部 汪洋", ["logistics-dept"]),
    ("auditor", "审计 林审", ["auditor"]),
    ("analyst", "流程分析员 钱进", ["analyst"]),
    ("admin", "系统管理员", ["admin"]),
]


def ensure_demo_users(db: Database) -> list[services.UserInfo]:
    """Create the demo accounts that do not exist yet; return all of them."""
    existing = {u.name for u in services.list_users(db)}
    for name, display, groups in DEMO_USERS:
        if name not in existing:
            services.add_user(db, name, groups, DEMO_PASSWORD, display, actor=services.Actor.operator("demo"))
    return [u for u in services.list_users(db) if u.name in {n for n, _, _ in DEMO_USERS}]
