"""One access policy: every service needs an actor, the operator is explicit, the rules hold."""
from __future__ import annotations

import pytest

from engine import clock, services
from engine.errors import Forbidden
from engine.services import Actor

COMPLAINT = {
    "customer_name": "张三", "phone": "13800000000", "room": "3-201", "channel": "phone",
    "occurred_at": "2026-11-23 08:30", "place": "大堂", "description": "电梯停在 5 楼不动",
    "read_back_confirmed": True,
}


def test_the_operator_is_explicit_and_a_person_is_not_the_operator():
    assert Actor.operator().operator and Actor.operator().name == "cli"
    assert Actor.operator("deployer").name == "deployer"
    clerk = Actor("frontdesk", ["front-desk"])
    assert clerk.operator is False and clerk.groups == frozenset({"front-desk"})


def test_a_service_called_without_an_actor_refuses_instead_of_skipping_the_checks(db):
    with pytest.raises(TypeError):
        services.start_instance(db, "complaint_handling")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        services.show_instance(db, 1)  # type: ignore[call-arg]


def test_an_unknown_or_deactivated_user_cannot_act(db):
    with pytest.raises(Forbidden):
        services.actor_for(db, "nobody")
    services.set_active(db, "cleaner", False, actor=Actor.operator())
    with pytest.raises(Forbidden):
        services.actor_for(db, "cleaner")


def test_work_is_done_by_a_person_the_operator_only_looks(db):
    with clock.frozen("2026-11-23T09:00:00+08:00"):
        case = services.start_instance(db, "complaint_handling", Actor.operator(), dict(COMPLAINT))
        task = services.list_tasks(db, Actor.operator(), instance_id=case).items[0]
        with pytest.raises(Forbidden):
            services.complete(db, task.id, Actor.operator(), {})
        assert services.get_task(db, task.id, Actor.operator()).can_act is False
        assert services.show_instance(db, case, Actor.operator()).can_cancel


def test_only_admins_manage_users_and_only_auditors_audit(db):
    clerk = services.actor_for(db, "frontdesk")
    with pytest.raises(Forbidden):
        services.add_user(db, "intruder", ["admin"], actor=clerk)
    services.add_user(db, "newclerk", ["front-desk"], actor=services.actor_for(db, "admin"))
    with pytest.raises(Forbidden):
        services.verify_history(db, clerk)
    assert services.verify_history(db, services.actor_for(db, "auditor")).ok
