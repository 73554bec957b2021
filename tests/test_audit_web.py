"""The auditor's pages: only auditors get in; search, timeline with data changes, the diagram as of
any event, downloads; nothing they do changes a case, and every look is itself logged.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from complaint_walks import walked_desk
from engine import clock, services
from engine.store import Database, Event, Instance
from webui import create_app

CASES = 8
WORKERS_LABELS = [("engineering", "工程部"), ("cleaning", "保洁部"), ("security", "秩序部"), ("landscaping", "绿化部")]
LATE = "2026-03-05T09:00:00"  # days after the walks: whatever is still open is overdue


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from walked_desk(tmp_path_factory.mktemp("audit-web"), CASES)


@pytest.fixture(scope="module")
def app(desk: Database, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app({"DATABASE_URL": desk.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})


def signed_in(app: Flask, user: str) -> FlaskClient:
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": user, "password": "demo", "csrf_token": token.group(1)})
    assert response.status_code == 302, f"{user} could not sign in"
    return client


@pytest.fixture(scope="module")
def auditor(app: Flask) -> FlaskClient:
    return signed_in(app, "auditor")


def case_ids(page: str) -> list[int]:
    table = page.split('id="audit-cases"', 1)[1].split("</table>", 1)[0]
    return [int(n) for n in re.findall(r'href="/audit/cases/(\d+)"', table)]


def cases_where(db: Database, condition: Any) -> set[int]:
    with db.unit_of_work() as session:
        return set(session.scalars(select(Event.instance_id).where(Event.instance_id.is_not(None), condition)))


def audit_views(db: Database) -> list[Event]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(Event).where(Event.type == "audit_viewed").order_by(Event.seq)))


def case_chains(db: Database) -> list[tuple[Any, ...]]:
    with db.unit_of_work() as session:
        return [tuple(r) for r in session.execute(select(Event.chain, Event.seq, Event.hash)
                                                  .where(Event.instance_id.is_not(None)))] \
            + [tuple(r) for r in session.execute(select(Instance.id, Instance.lock_version, Instance.status))]


def test_only_auditors_get_in(app):
    assert app.test_client().get("/audit/").status_code == 302  # to the sign-in page
    clerk = signed_in(app, "frontdesk")
    for path in ("/audit/", "/audit/cases/1", "/audit/export?format=csv"):
        assert clerk.get(path).status_code == 403


def test_search_by_procedure_actor_status_and_date(desk, auditor):
    page = auditor.get("/audit/?procedure=complaint_handling").get_data(as_text=True)
    assert sorted(case_ids(page)) == list(range(1, CASES + 1)) and f"共 {CASES} 个案件" in page
    by_actor = case_ids(auditor.get("/audit/?actor=engineer2").get_data(as_text=True))
    assert set(by_actor) == cases_where(desk, Event.actor == "engineer2") and by_actor
    cancelled = case_ids(auditor.get("/audit/?status=cancelled").get_data(as_text=True))
    assert set(cancelled) == cases_where(desk, Event.type == "instance_cancelled")
    assert case_ids(auditor.get("/audit/?from=2026-03-03").get_data(as_text=True)) == []
    assert auditor.get("/audit/?status=lost").status_code == 400


def test_overdue_search_finds_cases_with_a_task_past_its_due_time(desk, auditor):
    with clock.frozen(LATE):
        overdue = case_ids(auditor.get("/audit/?overdue=1").get_data(as_text=True))
    open_with_due = {t.instance_id for t in services.list_tasks(desk, services.Actor.operator(), scope="open", per_page=500).items if t.due_at}
    assert overdue and set(overdue) == open_with_due


def test_case_timeline_shows_each_steps_data_changes_and_the_diagram(desk, auditor):
    case = min(cases_where(desk, Event.element_id == "Task_DispatchToDepartment"))
    page = auditor.get(f"/audit/cases/{case}").get_data(as_text=True)
    timeline = page.split('id="audit-timeline"', 1)[1]
    assert len(re.findall(r'<tr class="event-', timeline)) == len(services.history(desk, case, services.Actor.operator()))
    dispatched = timeline.split('class="event-task_completed', 3)[2]
    department = dict(WORKERS_LABELS)[next(  # the form's label and option name, not raw ids
        e for e in services.history(desk, case, services.Actor.operator()) if e.element_id == "Task_DispatchToDepartment"
        and e.type == "task_completed").payload["data"]["responsible_dept"]]
    assert f'<th scope="row">责任部门</th><td><ins>{department}</ins></td>' in dispatched.split("</table>", 1)[0]
    assert "<svg" in page and 'id="event-slider"' in page


def test_diagram_and_state_as_of_an_earlier_event(desk, auditor):
    case = min(cases_where(desk, Event.element_id == "Task_DispatchToDepartment"))
    classify = next(e for e in services.history(desk, case, services.Actor.operator()) if e.type == "task_ready")
    page = auditor.get(f"/audit/cases/{case}?event={classify.seq}").get_data(as_text=True)
    assert f"第 {classify.seq} 号事件时的案件状态" in page
    open_then = page.split('id="open-tasks-as-of"', 1)[1].split("</ul>", 1)[0]
    assert "投诉分类" in open_then and "通知责任部门" not in open_then
    assert 'class="el userTask active" data-element-id="Task_ClassifyComplaint"' in page
    assert 'class="el userTask" data-element-id="Task_DispatchToDepartment"' in page
    latest = auditor.get(f"/audit/cases/{case}").get_data(as_text=True)
    assert 'class="el userTask done" data-element-id="Task_ClassifyComplaint"' in latest


def test_downloads_are_event_logs(auditor):
    xes = auditor.get("/audit/export?format=xes&procedure=complaint_handling")
    assert xes.status_code == 200 and "attachment" in xes.headers["Content-Disposition"]
    body = xes.get_data(as_text=True)
    assert body.startswith("<?xml") and body.count("<trace>") == CASES
    csv = auditor.get("/audit/export?format=csv&from=2026-03-02&to=2026-03-02")
    assert csv.get_data(as_text=True).lstrip("\ufeff").startswith("case:concept:name,concept:name,time:timestamp")
    assert auditor.get("/audit/export?format=pdf").status_code == 400


def test_looking_changes_no_case_and_every_look_is_logged(desk, auditor):
    before, views = case_chains(desk), len(audit_views(desk))
    auditor.get("/audit/?status=completed")
    auditor.get("/audit/cases/1?event=2")
    auditor.get("/audit/export?format=csv")
    assert case_chains(desk) == before
    logged = audit_views(desk)[views:]
    assert [(e.actor, e.chain, e.payload["view"]) for e in logged] == [
        ("auditor", "system", "search"), ("auditor", "system", "case"), ("auditor", "system", "export")]
    assert logged[0].payload["status"] == "completed" and logged[1].payload == {
        "view": "case", "instance_id": 1, "as_of": 2}
    assert auditor.post("/audit/").status_code in (400, 405)  # no writes here
    assert services.verify_history(desk, services.Actor.operator()).ok
