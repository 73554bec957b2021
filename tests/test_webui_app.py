"""The staff web UI through Flask's test client: sign-in, inbox, task and case pages, security.

One database per module (schema, the P1 complaint diagram, the demo users it signs in as) keeps the file fast;
each test starts the cases it needs, so tests do not depend on each other's order.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import clock, services
from engine.forms import FormField
from engine.services import TaskFilter
from engine.store import Database
from webui import create_app
from webui.views import field_groups
from webui_site import prepared_database

COMPLAINT = "complaint_handling"
T0 = "2025-03-03T09:00:00+08:00"  # a Monday morning at the counter
COMPLAINT_FORM = {
    "customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "channel": "phone",
    "occurred_at": "今天上午", "place": "3号楼电梯", "description": "电梯异响", "read_back_confirmed": "true",
}


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('web') / 'bpmdesk.db'}",
                                 {"frontdesk", "engineer", "engineer2", "cleaner", "admin"})
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def app(site_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    app = create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})

    @app.get("/boom")  # a bug in a route, to see what a user is shown
    def boom():
        raise RuntimeError("secret detail in /srv/app/engine.py line 42")

    return app


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    with clock.frozen(T0):
        yield


def token_of(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "page has no CSRF token"
    return match.group(1)


def client_for(app: Flask, user: str | None) -> FlaskClient:
    client = app.test_client()
    if user is not None:
        page = client.get("/login").get_data(as_text=True)
        response = client.post("/login", data={"username": user, "password": "demo", "csrf_token": token_of(page)})
        assert response.status_code == 302, f"{user} could not sign in"
    return client


def post(client: FlaskClient, path: str, data: dict | None = None, via: str = "/"):
    """A form post as the browser makes it: with the token from a page the user has open."""
    token = token_of(client.get(via).get_data(as_text=True))
    return client.post(path, data={**(data or {}), "csrf_token": token})


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def start_complaint(site_db: Database, **changes: str) -> int:
    return services.start_instance(site_db, COMPLAINT, services.actor_for(site_db, "frontdesk"), {**COMPLAINT_FORM, **changes})


def open_task(site_db: Database, instance_id: int, name: str) -> services.TaskItem:
    items = services.list_tasks(site_db, services.Actor.operator(), TaskFilter(instance_id=instance_id, scope="open")).items
    return next(t for t in items if t.name == name)


def dispatched_to_engineering(site_db: Database) -> tuple[int, services.TaskItem]:
    """A soft complaint dispatched to engineering: the department's pick-up task is open."""
    case = start_complaint(site_db)
    classify = open_task(site_db, case, "投诉分类")
    services.complete(site_db, classify.id, services.actor_for(site_db, "frontdesk"), {"complaint_severity": "general",
                                                      "complaint_kind": "soft", "validity": "valid"})
    dispatch = open_task(site_db, case, "通知责任部门")
    services.complete(site_db, dispatch.id, services.actor_for(site_db, "frontdesk"), {"responsible_dept": "engineering"})
    return case, open_task(site_db, case, "责任部门取单签收")


# ---- signing in and out -------------------------------------------------------------------------

def test_login_form_has_the_fields_integrations_and_browsers_expect(app: Flask) -> None:
    page = app.test_client().get("/login").get_data(as_text=True)
    for name in ("username", "password"):
        assert f'name="{name}"' in page
    assert re.search(r'<input[^>]*name="csrf_token"[^>]*type="hidden"|<input[^>]*type="hidden"[^>]*name="csrf_token"', page)
    assert '<html lang="zh-CN">' in page


def test_pages_send_strangers_to_sign_in_and_the_api_answers_401(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/?scope=mine")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    api = client.get("/api/tasks")
    assert api.status_code == 401 and api.get_json()["error"] == "请先登录。"


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(app: Flask) -> None:
    client = app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": "frontdesk", "password": "nope", "csrf_token": token})
    assert response.status_code == 401 and "用户名或密码不正确" in text(response)
    assert client.get("/").status_code == 302


def test_sign_in_without_csrf_token_is_rejected(app: Flask) -> None:
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "frontdesk", "password": "demo"})
    assert response.status_code == 400 and "CSRF" in text(response)
    assert client.get("/").status_code == 302  # not signed in


def test_session_cookie_is_httponly_and_samesite_lax(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "frontdesk", "password": "demo", "csrf_token": token_of(page)})
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("bpmdesk_session=")]
    assert cookies, "no session cookie set"
    assert "HttpOnly" in cookies[-1] and "SameSite=Lax" in cookies[-1]


def test_after_sign_in_only_local_next_targets_are_followed(app: Flask) -> None:
    for target, expected in (("/start", "/start"), ("//evil.example/x", "/"), ("https://evil.example/", "/")):
        client = app.test_client()
        token = token_of(client.get("/login").get_data(as_text=True))
        response = client.post(f"/login?next={target}",
                               data={"username": "frontdesk", "password": "demo", "csrf_token": token})
        assert response.headers["Location"] == expected


def test_sign_out_is_a_post_with_a_csrf_token(app: Flask) -> None:
    client = client_for(app, "frontdesk")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token: still signed in
    assert client.get("/").status_code == 200
    assert post(client, "/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_a_deactivated_account_is_signed_out_at_its_next_request(app: Flask, site_db: Database) -> None:
    services.add_user(site_db, "leaver", ["front-desk"], "demo", actor=services.Actor.operator())
    client = client_for(app, "leaver")
    services.set_active(site_db, "leaver", False, actor=services.Actor.operator())
    assert client.get("/").status_code == 302


# ---- inbox ---------------------------------------------------------------------------------------

def test_inbox_lists_group_tasks_with_case_customer_and_due_time(app: Flask, site_db: Database) -> None:
    case, pickup = dispatched_to_engineering(site_db)
    page = text(client_for(app, "engineer").get("/?scope=group"))
    row = re.search(rf'<tr[^>]*data-task-id="{pickup.id}".*?</tr>', page, re.S).group(0)
    assert f">{case}<" in row and "投诉处理" in row and "责任部门取单签收" in row
    assert "李先生" in row and "3-1-502" in row
    assert "2025-03-03 09:15" in row  # due 15 minutes after dispatch, shown in Beijing time
    assert "待认领" in row


def test_inbox_marks_overdue_after_the_clock_passes_the_due_time(app: Flask, site_db: Database) -> None:
    _, pickup = dispatched_to_engineering(site_db)
    client = client_for(app, "engineer")
    row = re.compile(rf'<tr class="([^"]*)" data-task-id="{pickup.id}"')
    assert row.search(text(client.get("/"))).group(1) == "due-soon"
    with clock.frozen("2025-03-03T09:16:00+08:00"):
        page = text(client.get("/"))
        assert row.search(page).group(1) == "overdue" and "已超时" in page
        overdue_only = text(client.get("/?due=overdue"))
        assert f'data-task-id="{pickup.id}"' in overdue_only


def test_inbox_search_by_case_number_and_by_phone(app: Flask, site_db: Database) -> None:
    case = start_complaint(site_db, phone="13911112222")
    other = start_complaint(site_db, phone="13733334444")
    client = client_for(app, "frontdesk")
    by_number = text(client.get(f"/?q={case}"))
    assert f'href="/cases/{case}"' in by_number and f'href="/cases/{other}"' not in by_number
    by_phone = text(client.get("/?q=13733334444"))
    assert f'href="/cases/{other}"' in by_phone and f'href="/cases/{case}"' not in by_phone


def test_inbox_pages_through_long_lists(app: Flask, site_db: Database) -> None:
    for _ in range(3):
        start_complaint(site_db, phone="13500000000")
    app.config["PER_PAGE"] = 2
    try:
        client = client_for(app, "frontdesk")
        first = text(client.get("/?q=13500000000"))
        assert "第 1 / 2 页" in first and "下一页" in first
        second = text(client.get("/?q=13500000000&page=2"))
        assert second.count("data-task-id=") == 1 and "上一页" in second
    finally:
        app.config["PER_PAGE"] = 25


def test_tasks_of_another_group_are_not_in_my_inbox(app: Flask, site_db: Database) -> None:
    _, pickup = dispatched_to_engineering(site_db)
    assert pickup.id not in text(client_for(app, "cleaner").get("/"))


# ---- task page -----------------------------------------------------------------------------------

def test_task_form_is_generated_from_the_diagram(app: Flask, site_db: Database) -> None:
    case = start_complaint(site_db)
    classify = open_task(site_db, case, "投诉分类")
    page = text(client_for(app, "frontdesk").get(f"/tasks/{classify.id}"))
    assert '<select id="f-complaint_kind" name="complaint_kind" required>' in page
    assert '<option value="general" selected>一般投诉</option>' in page  # the default
    assert "投诉性质" in page and 'class="req"' in page
    assert '<input type="text" id="f-onsite_handling" name="onsite_handling"' in page
    assert "电梯异响" in page  # the case data so far


def test_claim_then_complete_moves_the_case_on(app: Flask, site_db: Database) -> None:
    case, pickup = dispatched_to_engineering(site_db)
    client = client_for(app, "engineer")
    via = f"/tasks/{pickup.id}"
    response = post(client, f"/tasks/{pickup.id}/claim", via=via)
    assert response.status_code == 302
    assert "engineer" in text(client.get(via))
    response = post(client, f"/tasks/{pickup.id}/complete", {}, via=via)
    assert response.status_code == 302
    assert services.get_task(site_db, pickup.id, services.actor_for(site_db, "engineer")).task.state == "completed"
    done = text(client.get("/?scope=done"))
    assert pickup.id in done
    following = services.list_tasks(site_db, services.Actor.operator(), TaskFilter(instance_id=case, scope="open")).items
    assert len(following) == 2  # the reply and its check
    assert f"案件 {case} 的任务已完成。下一步：" in done and all(f"「{t.name}」" in done for t in following)


def test_a_form_error_is_shown_next_to_its_field_with_the_input_kept(app: Flask, site_db: Database) -> None:
    case = start_complaint(site_db)
    classify = open_task(site_db, case, "投诉分类")
    client = client_for(app, "frontdesk")
    response = post(client, f"/tasks/{classify.id}/complete",
                    {"complaint_severity": "major", "validity": "valid", "onsite_handling": "已安抚业户"},
                    via=f"/tasks/{classify.id}")
    page = text(response)
    assert response.status_code == 400
    assert re.search(r'id="f-complaint_kind-error"[^>]*>「投诉性质」为必填项<', page)
    assert 'value="已安抚业户"' in page and '<option value="major" selected>' in page
    assert open_task(site_db, case, "投诉分类").state == "open"


def test_completing_a_task_already_completed_says_so_and_changes_nothing(app: Flask, site_db: Database) -> None:
    case, pickup = dispatched_to_engineering(site_db)
    first, second = client_for(app, "engineer"), client_for(app, "engineer2")
    token = token_of(text(second.get(f"/tasks/{pickup.id}")))  # the colleague's tab is open too
    assert post(first, f"/tasks/{pickup.id}/complete", {}, via=f"/tasks/{pickup.id}").status_code == 302
    stale = second.post(f"/tasks/{pickup.id}/complete", data={"csrf_token": token})
    assert stale.status_code == 409 and "已由 engineer 完成" in text(stale)
    assert services.show_instance(site_db, case, services.Actor.operator()).data["receiver"] == "engineer"


def test_a_task_claimed_by_a_colleague_cannot_be_completed_by_me(app: Flask, site_db: Database) -> None:
    _, pickup = dispatched_to_engineering(site_db)
    services.claim(site_db, pickup.id, services.actor_for(site_db, "engineer"))
    response = post(client_for(app, "engineer2"), f"/tasks/{pickup.id}/complete", {})
    assert response.status_code == 409 and "已被 engineer 认领" in text(response)


def test_delegate_to_a_colleague_and_hand_back(app: Flask, site_db: Database) -> None:
    _, pickup = dispatched_to_engineering(site_db)
    services.claim(site_db, pickup.id, services.actor_for(site_db, "engineer"))
    owner = client_for(app, "engineer")
    assert post(owner, f"/tasks/{pickup.id}/delegate", {"to_user": "engineer2"}).status_code == 302
    colleague = client_for(app, "engineer2")
    page = text(colleague.get(f"/tasks/{pickup.id}"))
    assert "由 工程部 赵强 委派" in page and "交还给 工程部 赵强" in page
    assert post(colleague, f"/tasks/{pickup.id}/handback").status_code == 302
    assert services.get_task(site_db, pickup.id, services.actor_for(site_db, "engineer")).task.assignee == "engineer"


def test_unclaim_returns_the_task_to_the_group(app: Flask, site_db: Database) -> None:
    _, pickup = dispatched_to_engineering(site_db)
    services.claim(site_db, pickup.id, services.actor_for(site_db, "engineer"))
    assert post(client_for(app, "engineer"), f"/tasks/{pickup.id}/unclaim").status_code == 302
    assert services.get_task(site_db, pickup.id, services.actor_for(site_db, "engineer")).task.assignee is None


# ---- starting a case and the case page -----------------------------------------------------------

def test_start_page_lists_only_procedures_my_groups_may_start(app: Flask) -> None:
    assert "投诉处理" in text(client_for(app, "frontdesk").get("/start"))
    assert "投诉处理" not in text(client_for(app, "engineer").get("/start"))


def test_starting_a_complaint_opens_its_first_task_when_it_is_mine(app: Flask, site_db: Database) -> None:
    client = client_for(app, "frontdesk")
    response = post(client, f"/start/{COMPLAINT}", COMPLAINT_FORM, via=f"/start/{COMPLAINT}")
    assert response.status_code == 302 and response.headers["Location"].endswith("#task-form")
    task_page = text(client.get(response.headers["Location"]))
    assert "<h1>投诉分类" in task_page and 'id="task-form"' in task_page
    case = int(re.search(r'href="/cases/(\d+)"', task_page).group(1))
    services.complete(site_db, open_task(site_db, case, "投诉分类").id, services.actor_for(site_db, "frontdesk"), {"complaint_kind": "soft"})
    dispatch = open_task(site_db, case, "通知责任部门")
    response = post(client, f"/tasks/{dispatch.id}/complete", {"responsible_dept": "engineering"},
                    via=f"/tasks/{dispatch.id}")
    assert response.headers["Location"] == "/", "the next step is the department's: back to my inbox"


def test_starting_a_case_someone_else_works_on_opens_its_case_page(app: Flask, site_db: Database) -> None:
    client = client_for(app, "frontdesk")
    case = start_complaint(site_db)
    services.claim(site_db, open_task(site_db, case, "投诉分类").id, services.actor_for(site_db, "frontdesk"))
    assert services.next_task_for(site_db, case, services.actor_for(site_db, "frontdesk")).name == "投诉分类"
    assert services.next_task_for(site_db, case, services.actor_for(site_db, "engineer")) is None


def test_a_started_complaint_has_a_case_page_with_diagram_and_timeline(app: Flask, site_db: Database) -> None:
    client = client_for(app, "frontdesk")
    case_page = f"/cases/{start_complaint(site_db)}"
    page = text(client.get(case_page))
    assert "进行中" in page and "投诉分类" in page
    assert re.search(r'<g class="el userTask active" data-element-id="Task_ClassifyComplaint"', page)
    assert "发起案件" in page and "前台 王芳" in page
    assert "2025-03-03 09:00" in page  # started_at in Beijing time
    case = int(case_page.rsplit("/", 1)[1])
    services.complete(site_db, open_task(site_db, case, "投诉分类").id, services.actor_for(site_db, "frontdesk"), {"complaint_kind": "soft"})
    page = text(client.get(case_page))
    assert re.search(r'<g class="el userTask done" data-element-id="Task_ClassifyComplaint"', page)
    assert re.search(r'<g class="el userTask active" data-element-id="Task_DispatchToDepartment"', page)
    assert "完成任务" in page


def test_an_escalated_task_is_marked_in_the_inbox_diagram_and_timeline(app: Flask, site_db: Database) -> None:
    case, pickup = dispatched_to_engineering(site_db)
    with clock.frozen("2025-03-03T09:16:00+08:00"):
        services.fire_due_timers(site_db)
        client = client_for(app, "engineer")
        assert "已升级" in text(client.get(f"/?q={case}"))
        page = text(client.get(f"/cases/{case}"))
    assert re.search(r'<g class="el userTask active escalated" data-element-id="Task_PickUpTicket"', page)
    assert "超时升级" in page and "→ 取单超时督办" in page


def test_start_form_errors_keep_what_was_typed(app: Flask) -> None:
    client = client_for(app, "frontdesk")
    response = post(client, f"/start/{COMPLAINT}", {**COMPLAINT_FORM, "phone": ""}, via=f"/start/{COMPLAINT}")
    page = text(response)
    assert response.status_code == 400 and "「联系电话」为必填项" in page
    assert 'value="李先生"' in page and 'value="3-1-502"' in page


def test_user_supplied_html_is_shown_as_text_everywhere(app: Flask, site_db: Database) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    case = start_complaint(site_db, customer_name=hostile, description=hostile)
    classify = open_task(site_db, case, "投诉分类")
    client = client_for(app, "frontdesk")
    for path in (f"/cases/{case}", f"/tasks/{classify.id}", f"/?q={case}"):
        raw = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in raw and "<img src=x" not in raw, path
        assert "&lt;script&gt;alert(" in raw, path


def test_an_administrator_adds_a_colleague_who_can_then_sign_in(app: Flask) -> None:
    admin = client_for(app, "admin")
    response = post(admin, "/admin/users", {"name": "newclerk", "display_name": "前台 新人",
                                            "groups": "front-desk，finance", "password": "s3cret"}, via="/admin/users")
    assert response.status_code == 302
    assert re.search(r'data-user="newclerk".*?value="finance front-desk"', text(admin.get("/admin/users")), re.S)
    client = app.test_client()
    token = token_of(client.get("/login").get_data(as_text=True))
    signed_in = client.post("/login", data={"username": "newclerk", "password": "s3cret", "csrf_token": token})
    assert signed_in.status_code == 302 and "前台 新人" in text(client.get("/"))


# ---- errors --------------------------------------------------------------------------------------

def test_a_user_error_shows_its_message_with_its_status(app: Flask) -> None:
    response = client_for(app, "frontdesk").get("/tasks/no-such-task")
    assert response.status_code == 404 and "任务 no-such-task 不存在" in text(response)


def test_a_bug_shows_a_plain_500_page_without_traceback(app: Flask) -> None:
    response = client_for(app, "frontdesk").get("/boom")
    body = text(response)
    assert response.status_code == 500 and "系统内部错误" in body
    assert "Traceback" not in body and "secret detail" not in body and "RuntimeError" not in body


def test_security_headers_forbid_framing_and_foreign_scripts(app: Flask) -> None:
    headers = app.test_client().get("/login").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["Cache-Control"] == "no-store"


def test_every_worker_signs_sessions_with_the_same_generated_key(tmp_path: Path, site_db: Database,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BPMDESK_SECRET_KEY", raising=False)
    first = create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path})
    second = create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("BPMDESK_SECRET_KEY", "from-the-environment")
    assert create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path}).config["SECRET_KEY"] == "from-the-environment"


# ---- JSON API ------------------------------------------------------------------------------------

def api_client(app: Flask, user: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    headers = {"X-CSRFToken": client.get("/api/csrf").get_json()["csrf_token"]}
    response = client.post("/api/login", json={"username": user, "password": "demo"}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return client, {"X-CSRFToken": response.get_json()["csrf_token"]}


def test_api_claims_and_completes_with_the_same_rules(app: Flask, site_db: Database) -> None:
    case, pickup = dispatched_to_engineering(site_db)
    client, headers = api_client(app, "engineer")
    listed = client.get("/api/tasks?scope=group").get_json()
    assert pickup.id in [t["id"] for t in listed["items"]]
    assert client.post(f"/api/tasks/{pickup.id}/claim", headers=headers).get_json()["assignee"] == "engineer"
    bad = client.post(f"/api/tasks/{pickup.id}/complete", json={"data": {"receiver": "赵强"}}, headers=headers)
    assert bad.status_code == 400 and "receiver" in bad.get_json()["field_errors"]  # 接单人 is who signs in
    done = client.post(f"/api/tasks/{pickup.id}/complete", json={"data": {}}, headers=headers)
    following = services.list_tasks(site_db, services.Actor.operator(), TaskFilter(instance_id=case, scope="open")).items
    assert done.get_json()["instance_id"] == case
    assert sorted(t["id"] for t in done.get_json()["next_tasks"]) == sorted(t.id for t in following)
    other, other_headers = api_client(app, "cleaner")
    assert other.get(f"/api/cases/{case}").status_code == 403


def test_api_post_without_csrf_header_is_rejected(app: Flask, site_db: Database) -> None:
    _, pickup = dispatched_to_engineering(site_db)
    client, _ = api_client(app, "engineer")
    response = client.post(f"/api/tasks/{pickup.id}/claim")
    assert response.status_code == 400 and "CSRF" in response.get_json()["error"]
    assert services.get_task(site_db, pickup.id, services.actor_for(site_db, "engineer")).task.assignee is None


def test_api_starts_a_case(app: Flask) -> None:
    client, headers = api_client(app, "frontdesk")
    response = client.post("/api/cases", json={"process_id": COMPLAINT, "data": COMPLAINT_FORM}, headers=headers)
    assert response.status_code == 201
    case = client.get(f"/api/cases/{response.get_json()['id']}").get_json()
    assert case["status"] == "running" and case["history"][0]["type"] == "instance_started"


def test_a_run_of_checkboxes_is_laid_out_as_one_checklist() -> None:
    form = [FormField("name", "姓名", "string"), *(FormField(f"doc{i}", f"材料{i}", "boolean") for i in range(3)),
            FormField("note", "备注", "string"), FormField("paid", "已收费", "boolean")]
    assert [(kind, [f.id for f in run]) for kind, run in field_groups(form)] == [
        ("field", ["name"]), ("checklist", ["doc0", "doc1", "doc2"]), ("field", ["note"]), ("field", ["paid"])]


def test_the_starter_cancels_a_case_from_its_page_with_a_reason(app: Flask, site_db: Database) -> None:
    case = start_complaint(site_db)
    client = client_for(app, "frontdesk")
    page = text(client.get(f"/cases/{case}"))
    assert "撤销案件" in page and 'name="reason"' in page
    response = post(client, f"/cases/{case}/cancel", {"reason": "  "}, via=f"/cases/{case}")
    assert response.status_code == 302
    assert "请填写撤销原因。" in text(client.get(f"/cases/{case}"))
    assert services.show_instance(site_db, case, services.Actor.operator()).status == "running"
    post(client, f"/cases/{case}/cancel", {"reason": "业户撤回投诉"}, via=f"/cases/{case}")
    page = text(client.get(f"/cases/{case}"))
    assert f"案件 {case} 已撤销。" in page and "原因：业户撤回投诉" in page
    assert "撤销案件</h2>" not in page  # nothing left to cancel
    assert services.show_instance(site_db, case, services.Actor.operator()).open_tasks == []


def test_the_sign_in_page_says_when_an_account_is_locked_after_failed_attempts(app: Flask, site_db: Database) -> None:
    services.add_user(site_db, "night-shift", ["cleaning"], "demo", actor=services.Actor.operator())
    client = app.test_client()
    for _ in range(5):
        page = client.get("/login").get_data(as_text=True)
        response = client.post("/login", data={"username": "night-shift", "password": "guess",
                                                "csrf_token": token_of(page)})
        assert response.status_code == 401 and "用户名或密码不正确。" in text(response)
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": "night-shift", "password": "demo", "csrf_token": token_of(page)})
    assert response.status_code == 429
    assert "已暂时锁定，请 15 分钟后再试。" in text(response) and 'name="username"' in text(response)


def test_groups_have_chinese_names_and_an_unknown_group_is_refused_in_the_admin_page(app: Flask, site_db: Database) -> None:
    client = client_for(app, "admin")
    services.add_user(site_db, "plumber", ["engineering"], "demo", actor=services.Actor.operator())
    response = post(client, "/admin/users/plumber/groups", {"groups": "engineering plumbing"}, via="/admin/users")
    assert response.status_code == 400 and "没有这个组：plumbing" in text(response)
    assert services.get_user(site_db, "plumber").groups == ("engineering",)
    post(client, "/admin/groups", {"name": "plumbing", "display_name": "水电班"}, via="/admin/users")
    post(client, "/admin/users/plumber/groups", {"groups": "engineering plumbing"}, via="/admin/users")
    page = text(client.get("/admin/users"))
    assert re.search(r'data-user="plumber".*?工程部、水电班', page, re.S)
    assert services.group_names(site_db)["plumbing"] == "水电班"
