"""Supervisors: the 督办 opens the late task of a department, sees the team's workload, and gives
the task to a person of the team or takes it over (recorded); nobody else may."""
from __future__ import annotations

import re
from typing import Iterator

import pytest
from flask import Flask

from engine import clock, services
from engine.services import TaskFilter
from engine.store import Database
from test_webui_app import client_for, post, text
from webui import create_app
from webui_site import prepared_database

T0 = "2025-03-03T09:00:00+08:00"
LATE = "2025-03-03T09:20:00+08:00"  # the pick-up was due at 09:15
OPERATOR = services.Actor.operator()


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('team') / 'bpmdesk.db'}",
                                 {"frontdesk", "engineer", "engineer2", "supervisor", "cleaner"})
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def app(site_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})


def late_pickup(db: Database) -> tuple[int, str]:
    """A complaint whose pick-up by engineering is late and escalated to the 督办."""
    with clock.frozen(T0):
        case = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), {
            "customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "channel": "phone",
            "occurred_at": "今天上午", "place": "电梯", "description": "异响", "read_back_confirmed": "true"})
        for element, data in (("Task_ClassifyComplaint", {"complaint_kind": "soft"}),
                              ("Task_DispatchToDepartment", {"responsible_dept": "engineering"})):
            task = next(t for t in services.list_tasks(db, OPERATOR, TaskFilter(instance_id=case)).items
                        if t.element_id == element)
            services.complete(db, task.id, services.actor_for(db, "frontdesk"), data)
    with clock.frozen(LATE):
        services.fire_due_timers(db)
    pickup = next(t for t in services.list_tasks(db, OPERATOR, TaskFilter(instance_id=case)).items
                  if t.element_id == "Task_PickUpTicket")
    return case, pickup.id


def test_the_supervisor_opens_the_late_task_and_reassigns_it_from_the_team_view(app: Flask, site_db: Database) -> None:
    case, pickup = late_pickup(site_db)
    services.claim(site_db, pickup, services.actor_for(site_db, "engineer"))
    supervisor = client_for(app, "supervisor")
    with clock.frozen(LATE):
        assert supervisor.get(f"/tasks/{pickup}").status_code == 200
        assert supervisor.get(f"/cases/{case}").status_code == 200
        page = text(supervisor.get("/team/?group=engineering"))
        assert re.search(r'id="team-overdue"[^>]*>\s*1\s*<', page)
        assert re.search(r"工程部 赵强</td><td>1</td><td>1</td>", page)
        response = post(supervisor, f"/team/assign/{pickup}", {"to_user": "engineer2", "back": "/team/?group=engineering"},
                        via="/team/?group=engineering")
    assert response.status_code == 302 and response.headers["Location"] == "/team/?group=engineering"
    assert services.get_task(site_db, pickup, OPERATOR).task.assignee == "engineer2"
    assigned = [e for e in services.history(site_db, case, OPERATOR) if e.type == "task_assigned"]
    assert [(e.actor, e.payload["to"]) for e in assigned] == [("supervisor", "engineer2")]
    post(supervisor, f"/team/assign/{pickup}", {"to_user": "supervisor"}, via=f"/tasks/{pickup}")
    assert services.get_task(site_db, pickup, OPERATOR).task.assignee == "supervisor"


def test_only_supervisors_of_the_group_may_reassign(app: Flask, site_db: Database) -> None:
    _, pickup = late_pickup(site_db)
    engineer = client_for(app, "engineer")
    assert post(engineer, f"/team/assign/{pickup}", {"to_user": "engineer2"}).status_code == 403
    assert engineer.get("/team/").status_code == 403
    supervisor = client_for(app, "supervisor")
    response = post(supervisor, f"/team/assign/{pickup}", {"to_user": "cleaner"})
    assert response.status_code == 400 and "不在任务「责任部门取单签收」的处理组中" in text(response)
    assert services.get_task(site_db, pickup, OPERATOR).task.assignee is None
