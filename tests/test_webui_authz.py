"""Authorization matrix: every route × every kind of user, checked on the server.

The case is a complaint started by ``frontdesk``; its open task belongs to the front desk. The roles:
the task's assignee (``frontdesk``), a colleague of the same group (``frontdesk2``), someone of another
group (``engineer``), an auditor (reads, never acts), an administrator (manages users, not cases) and
an anonymous visitor. A route added without a row here fails ``test_the_matrix_covers_every_route``.
"""
from __future__ import annotations

import itertools
import re
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import clock, services
from engine.services import TaskFilter
from engine.store import Database
from webui import create_app
from webui_site import prepared_database

ROLES = ("anonymous", "frontdesk", "frontdesk2", "engineer", "auditor", "admin")
START = {"customer_name": "王女士", "phone": "13600000000", "room": "1-2-301", "channel": "visit",
         "occurred_at": "昨晚", "place": "大堂", "description": "噪音", "read_back_confirmed": "true"}
CLASSIFY = {"complaint_severity": "general", "complaint_kind": "soft", "validity": "valid"}

# (method, path, body, state of the task): expected status per role, in ROLES order.
# States: "open" = unclaimed; "claimed" = claimed by frontdesk; "delegated" = frontdesk → frontdesk2.
MATRIX: dict[tuple[str, str, str], tuple[dict | None, str, str]] = {
    ("GET", "/", ""): (None, "open", "302 200 200 200 200 200"),
    ("POST", "/logout", ""): (None, "open", "302 302 302 302 302 302"),
    ("GET", "/tasks/<task_id>", "/tasks/{task}"): (None, "claimed", "302 200 200 403 200 403"),
    ("POST", "/tasks/<task_id>/claim", "/tasks/{task}/claim"): (None, "claimed", "302 302 409 403 403 403"),
    ("POST", "/tasks/<task_id>/unclaim", "/tasks/{task}/unclaim"): (None, "claimed", "302 302 403 403 403 403"),
    ("POST", "/tasks/<task_id>/delegate", "/tasks/{task}/delegate"):
        ({"to_user": "frontdesk2"}, "claimed", "302 302 409 403 403 403"),
    ("POST", "/tasks/<task_id>/handback", "/tasks/{task}/handback"): (None, "delegated", "302 409 302 403 403 403"),
    ("POST", "/tasks/<task_id>/complete", "/tasks/{task}/complete"): (CLASSIFY, "claimed", "302 302 409 403 403 403"),
    ("GET", "/cases/<int:instance_id>", "/cases/{case}"): (None, "open", "302 200 200 403 200 403"),
    ("POST", "/cases/<int:instance_id>/cancel", "/cases/{case}/cancel"):
        ({"reason": "业户撤回投诉"}, "open", "302 302 403 403 403 302"),
    ("GET", "/start", ""): (None, "open", "302 200 200 200 200 200"),
    ("GET", "/start/<process_id>", "/start/complaint_handling"): (None, "open", "302 200 200 403 403 403"),
    ("POST", "/start/<process_id>", "/start/complaint_handling"): (START, "open", "302 302 302 403 403 403"),
    ("GET", "/admin/users", ""): (None, "open", "302 403 403 403 403 200"),
    ("POST", "/admin/users", ""): ({"name": "{new_user}", "groups": "front-desk", "password": "demo1"},
                                   "open", "302 403 403 403 403 302"),
    ("POST", "/admin/users/<name>/groups", "/admin/users/target/groups"):
        ({"groups": "cleaning"}, "open", "302 403 403 403 403 302"),
    ("POST", "/admin/users/<name>/password", "/admin/users/target/password"):
        ({"password": "newpass"}, "open", "302 403 403 403 403 302"),
    ("POST", "/admin/users/<name>/sessions/revoke", "/admin/users/target/sessions/revoke"):
        ({}, "open", "302 403 403 403 403 302"),
    ("POST", "/admin/users/<name>/active", "/admin/users/target/active"):
        ({"active": "1"}, "open", "302 403 403 403 403 302"),
    ("GET", "/team/", ""): (None, "open", "302 403 403 403 403 403"),
    ("POST", "/team/due/<task_id>", "/team/due/{task}"):
        ({"due_at": "2025-03-03T12:00", "reason": "等配件"}, "open", "302 403 403 403 403 403"),
    ("POST", "/filters", ""): ({"name": "常用", "q": "136"}, "open", "302 302 302 302 302 302"),
    ("POST", "/filters/<int:filter_id>/delete", "/filters/999999/delete"): (None, "open", "302 404 404 404 404 404"),
    ("POST", "/cases/<int:instance_id>/comments", "/cases/{case}/comments"):
        ({"comment": "已电话联系业主"}, "open", "302 302 302 403 403 403"),
    ("POST", "/cases/<int:instance_id>/attachments", "/cases/{case}/attachments"): (None, "open", "302 302 302 403 403 403"),
    ("GET", "/attachments/<int:attachment_id>", "/attachments/999999"): (None, "open", "302 404 404 404 404 404"),
    ("POST", "/team/assign/<task_id>", "/team/assign/{task}"):
        ({"to_user": "frontdesk2"}, "claimed", "302 403 403 403 403 403"),
    ("POST", "/admin/groups", ""): ({"name": "plumbing", "display_name": "水电班"}, "open", "302 403 403 403 403 302"),
    ("GET", "/reports/", ""): (None, "open", "302 403 403 403 403 403"),
    ("GET", "/reports/cases", ""): (None, "open", "302 403 403 403 403 403"),
    ("GET", "/analyst/", ""): (None, "open", "302 403 403 403 403 200"),
    ("POST", "/analyst/check", ""): ({}, "open", "302 403 403 403 403 400"),  # no file chosen
    ("POST", "/analyst/deploy", ""): ({}, "open", "302 403 403 403 403 400"),  # no checked files
    ("GET", "/analyst/versions/<int:definition_id>", "/analyst/versions/1"): (None, "open", "302 403 403 403 403 200"),
    ("GET", "/analyst/versions/<int:definition_id>/files/<int:index>", "/analyst/versions/1/files/0"):
        (None, "open", "302 403 403 403 403 200"),
    ("GET", "/analyst/diff", "/analyst/diff?old=1&new=1"): (None, "open", "302 403 403 403 403 200"),
    ("GET", "/analyst/versions/<int:definition_id>/migrate", "/analyst/versions/1/migrate"):
        (None, "open", "302 403 403 403 403 400"),  # no other version to migrate to
    ("POST", "/analyst/versions/<int:definition_id>/migrate", "/analyst/versions/1/migrate"):
        ({}, "open", "302 403 403 403 403 400"),
    ("POST", "/analyst/cases/<int:instance_id>/migrate-back", "/analyst/cases/{case}/migrate-back"):
        (None, "open", "302 403 403 403 403 409"),  # never migrated
    ("GET", "/api/me", ""): (None, "open", "401 200 200 200 200 200"),
    ("POST", "/api/logout", ""): (None, "open", "401 200 200 200 200 200"),
    ("GET", "/api/tasks", ""): (None, "open", "401 200 200 200 200 200"),
    ("GET", "/api/tasks/<task_id>", "/api/tasks/{task}"): (None, "claimed", "401 200 200 403 200 403"),
    ("POST", "/api/tasks/<task_id>/claim", "/api/tasks/{task}/claim"): (None, "claimed", "401 200 409 403 403 403"),
    ("POST", "/api/tasks/<task_id>/unclaim", "/api/tasks/{task}/unclaim"):
        (None, "claimed", "401 200 403 403 403 403"),
    ("POST", "/api/tasks/<task_id>/delegate", "/api/tasks/{task}/delegate"):
        ({"to_user": "frontdesk2"}, "claimed", "401 200 409 403 403 403"),
    ("POST", "/api/tasks/<task_id>/handback", "/api/tasks/{task}/handback"):
        (None, "delegated", "401 409 200 403 403 403"),
    ("POST", "/api/tasks/<task_id>/complete", "/api/tasks/{task}/complete"):
        ({"data": CLASSIFY}, "claimed", "401 200 409 403 403 403"),
    ("GET", "/api/procedures", ""): (None, "open", "401 200 200 200 200 200"),
    ("POST", "/api/cases", ""): ({"process_id": "complaint_handling", "data": START}, "open",
                                 "401 201 201 403 403 403"),
    ("GET", "/api/cases/<int:instance_id>", "/api/cases/{case}"): (None, "open", "401 200 200 403 200 403"),
    ("POST", "/api/cases/<int:instance_id>/cancel", "/api/cases/{case}/cancel"):
        ({"reason": "业户撤回投诉"}, "open", "401 200 403 403 403 200"),
    ("POST", "/api/decisions/<decision_id>/evaluate", "/api/decisions/undeployed/evaluate"):
        ({"data": {}}, "open", "401 404 404 404 404 404"),  # any signed-in user may test a decision
    # staff may deliver messages and signals (here: one nobody waits for, a clear 400 / no receiver)
    ("POST", "/api/messages", ""): ({"name": "nobodyWaits"}, "open", "401 400 400 400 403 400"),
    ("POST", "/api/signals", ""): ({"name": "nobodyListens"}, "open", "401 200 200 200 403 200"),
    ("GET", "/audit/", ""): (None, "open", "302 403 403 403 200 403"),
    ("GET", "/audit/cases/<int:instance_id>", "/audit/cases/{case}"): (None, "open", "302 403 403 403 200 403"),
    ("GET", "/audit/export", "/audit/export?format=csv"): (None, "open", "302 403 403 403 200 403"),
    **{("GET", f"/engine-rest{rule}", f"/engine-rest{path or rule}"): (None, "claimed", statuses) for rule, path, statuses in (
        ("/version", "", "401 200 200 200 200 200"), ("/engine", "", "401 200 200 200 200 200"),
        ("/openapi.json", "", "401 200 200 200 200 200"), ("/deployment", "", "401 200 200 200 200 200"),
        ("/deployment/count", "", "401 200 200 200 200 200"),
        ("/deployment/<int:deployment_id>", "/deployment/1", "401 200 200 200 200 200"),
        ("/process-definition", "", "401 200 200 200 200 200"),
        ("/process-definition/count", "", "401 200 200 200 200 200"),
        ("/process-definition/key/<key>", "/process-definition/key/complaint_handling", "401 200 200 200 200 200"),
        ("/process-definition/key/<key>/xml", "/process-definition/key/complaint_handling/xml",
         "401 200 200 200 200 200"),
        ("/process-definition/<definition>", "/process-definition/x:1:999", "401 404 404 404 404 404"),
        ("/process-definition/<definition>/xml", "/process-definition/x:1:999/xml", "401 404 404 404 404 404"),
        ("/task", "", "401 200 200 200 200 200"), ("/task/count", "", "401 200 200 200 200 200"),
        ("/task/<task_id>", "/task/{task}", "401 200 200 403 200 403"),
        ("/task/<task_id>/form-variables", "/task/{task}/form-variables", "401 200 200 403 200 403"),
        ("/task/<task_id>/variables", "/task/{task}/variables", "401 200 200 403 200 403"),
        ("/external-task", "", "401 403 403 403 200 200"),
        ("/external-task/<task_id>", "/external-task/none", "401 403 403 403 404 404"))},
    ("POST", "/engine-rest/deployment/create", ""): (None, "open", "401 400 400 400 400 400"),  # not multipart
    ("POST", "/engine-rest/process-definition/key/<key>/start", "/engine-rest/process-definition/key/complaint_handling"
     "/start"): ({"variables": {k: {"value": v} for k, v in START.items()}}, "open", "401 200 200 403 403 403"),
    ("POST", "/engine-rest/process-definition/<definition>/start", "/engine-rest/process-definition/x:1:9/start"):
        ({}, "open", "401 404 404 404 404 404"),
    ("POST", "/engine-rest/task/<task_id>/claim", "/engine-rest/task/{task}/claim"):
        (None, "claimed", "401 204 409 403 403 403"),
    ("POST", "/engine-rest/task/<task_id>/unclaim", "/engine-rest/task/{task}/unclaim"):
        (None, "claimed", "401 204 403 403 403 403"),
    ("POST", "/engine-rest/task/<task_id>/assignee", "/engine-rest/task/{task}/assignee"):
        ({"userId": "frontdesk2"}, "claimed", "401 403 409 403 403 403"),  # frontdesk2: a claim
    ("POST", "/engine-rest/task/<task_id>/delegate", "/engine-rest/task/{task}/delegate"):
        ({"userId": "frontdesk2"}, "claimed", "401 204 409 403 403 403"),
    ("POST", "/engine-rest/task/<task_id>/complete", "/engine-rest/task/{task}/complete"):
        ({"variables": {k: {"value": v} for k, v in CLASSIFY.items()}}, "claimed", "401 204 409 403 403 403"),
    ("POST", "/engine-rest/message", ""): ({"messageName": "nothing"}, "open", "401 400 400 400 403 400"),
    ("POST", "/engine-rest/signal", ""): ({"name": "nothing"}, "open", "401 204 204 204 403 204"),
    ("POST", "/engine-rest/decision-definition/key/<key>/evaluate",
     "/engine-rest/decision-definition/key/nothing/evaluate"): ({}, "open", "401 404 404 404 404 404"),
    ("POST", "/engine-rest/external-task/fetchAndLock", ""):
        ({"workerId": "w", "topics": [{"topicName": "t", "lockDuration": 1000}]}, "open", "401 403 403 403 403 403"),
    **{(method, f"/engine-rest/external-task/<task_id>/{verb}", f"/engine-rest/external-task/none/{verb}"):
        (body, "open", statuses) for method, verb, body, statuses in (
            ("POST", "complete", {"workerId": "w"}, "401 403 403 403 403 403"),
            ("POST", "failure", {"workerId": "w", "retries": 0, "retryTimeout": 0}, "401 403 403 403 403 403"),
            ("POST", "bpmnError", {"workerId": "w", "errorCode": "E"}, "401 403 403 403 403 403"),
            ("POST", "extendLock", {"workerId": "w", "newDuration": 1000}, "401 403 403 403 403 403"),
            ("POST", "unlock", None, "401 403 403 403 403 403"),
            ("PUT", "retries", {"retries": 1}, "401 403 403 403 403 404"))},
}
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/api/csrf"), ("POST", "/api/login"),
          ("GET", "/static/<path:filename>")}
_new_users = itertools.count()


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('authz') / 'bpmdesk.db'}",
                                 set(ROLES) - {"anonymous"})
    services.add_user(database, "target", ["front-desk"], "demo", actor=services.Actor.operator())
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def app(site_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path_factory.mktemp("var")})


@pytest.fixture(scope="module")
def clients(app: Flask) -> dict[str, FlaskClient]:
    """One signed-in browser per role, reused: signing in hashes a password, which is slow on purpose."""
    return {role: _signed_in(app, role) for role in ROLES}


def _signed_in(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    if role != "anonymous":
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": role, "password": "demo", "csrf_token": _token(page)})
    return client


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _case_in_state(site_db: Database, state: str) -> tuple[int, str]:
    with clock.frozen("2025-03-03T09:00:00+08:00"):
        case = services.start_instance(site_db, "complaint_handling", services.actor_for(site_db, "frontdesk"), dict(START))
    task = services.list_tasks(site_db, services.Actor.operator(), TaskFilter(instance_id=case)).items[0].id
    if state in ("claimed", "delegated"):
        services.claim(site_db, task, services.actor_for(site_db, "frontdesk"))
    if state == "delegated":
        services.delegate(site_db, task, services.actor_for(site_db, "frontdesk"), "frontdesk2")
    return case, task


def _request(client: FlaskClient, method: str, path: str, body: dict | None):
    if method == "GET":
        return client.get(path)
    if path.startswith(("/api/", "/engine-rest/")):
        token = client.get("/api/csrf").get_json()["csrf_token"]
        return client.open(path, method=method, json=body or {}, headers={"X-CSRFToken": token})
    token = _token(client.get("/login").get_data(as_text=True))
    return client.post(path, data={**(body or {}), "csrf_token": token})


def _fill(value, names: dict[str, str]):
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value.format(**names) if isinstance(value, str) else value


CELLS = [(route, role) for route in MATRIX for role in ROLES]


@pytest.mark.parametrize(("route", "role"), CELLS, ids=[f"{r[0]} {r[1]} as {role}" for r, role in CELLS])
def test_route_answers_each_role_as_the_matrix_says(app: Flask, site_db: Database, clients: dict[str, FlaskClient],
                                                    route: tuple[str, str, str], role: str) -> None:
    method, rule, template = route
    body, state, statuses = MATRIX[route]
    expected = int(statuses.split()[ROLES.index(role)])
    case, task = _case_in_state(site_db, state)
    names = {"task": task, "case": str(case), "new_user": f"new{next(_new_users)}"}
    client = clients[role] if "logout" not in rule else _signed_in(app, role)
    with clock.frozen("2025-03-03T09:05:00+08:00"):
        response = _request(client, method, (template or rule).format(**names), _fill(body, names))
    assert response.status_code == expected, response.get_data(as_text=True)[:500]
    if expected == 302 and role == "anonymous":
        assert "/login" in response.headers["Location"]


def test_the_matrix_covers_every_route(app: Flask) -> None:
    routes = {(method, rule.rule) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(method, rule) for method, rule, _ in MATRIX} | PUBLIC
    assert routes - covered == set(), "routes without an authorization row"
    assert covered - routes == set(), "rows for routes that do not exist"
