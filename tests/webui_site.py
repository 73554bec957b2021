"""A site for the web UI tests: the schema, the P1 complaint diagram, and only the demo users a test
module signs in as (each password hash takes a third of a second, on purpose). No tests here."""
from __future__ import annotations

from pathlib import Path

from engine import services
from engine.demo import DEMO_PASSWORD, DEMO_USERS
from engine.store import Database

ROOT = Path(__file__).resolve().parents[1]
COMPLAINT_BPMN = ROOT / "processes" / "complaint_handling.bpmn"
ESCALATION_POLICY = ROOT / "processes" / "escalation_policy.dmn"  # the 督办 limit P1 reads


def prepared_database(url: str, users: set[str]) -> Database:
    db = Database(url)
    db.upgrade_schema()
    services.deploy_paths(db, [COMPLAINT_BPMN, ESCALATION_POLICY], services.Actor.operator("test"))
    for name, display_name, groups in DEMO_USERS:
        if name in users:
            services.add_user(db, name, groups, DEMO_PASSWORD, display_name, actor=services.Actor.operator("test"))
    missing = users - {u.name for u in services.list_users(db)}
    assert not missing, f"no demo user {missing}"
    return db
