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
    ("salesadmin", "销管 田静", ["sales-admin"]),
    ("bizmgr", "业务经理 董明", ["business-manager"]),
    ("vp", "直管副总 潘总", ["vp"]),
    ("aftersales", "售后专员 蔡安", ["after-sales"]),
    ("specialist", "客服专员 罗佳", ["cs-specialist"]),
    ("specialist2", "客服专员 施雨", ["cs-specialist"]),
    ("investdir", "投资总监 韩博", ["investment-director"]),
    ("policyintake", "交接岗 蒋一", ["policy-intake"]),
    ("policyentry", "录入岗 蔡二", ["policy-entry"]),
    ("policychange", "保全岗 贾三", ["policy-change"]),
    ("policyreview", "复核岗 丁四", ["policy-review"]),
    ("policybinding", "装订岗 魏五", ["policy-binding"]),
    ("policyprint", "打印岗 薛六", ["policy-print"]),
    ("salesdept", "销售部 夏天", ["sales-dept"]),
    ("techdept", "技术部 钟工", ["tech-dept"]),
    ("logisticsdept", "物流部 汪洋", ["logistics-dept"]),
    ("aftersalesdept", "售后服务部 严立", ["after-sales-dept"]),
    ("shopcs", "外包客服 葛晴", ["outsourced-cs"]),
    ("shopowner", "店铺掌柜 邓掌柜", ["shop-owner"]),
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
