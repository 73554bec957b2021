"""The analyst's loop in a real browser: an upload with two lint errors, fixed, the diff against the
running version drawn, deployed; 200 open cases dry-run (some unsafe, with reasons), the safe ones
migrated in batches, and the counter finds them on the new version in its inbox.

The module has its own database and server (it deploys a new version of the complaint process,
which the other browser tests must not see)."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Iterator

import pytest
from werkzeug.serving import make_server

from engine import clock, services
from engine.services import TaskFilter
from engine.store import Database
from webui import create_app
from webui_site import COMPLAINT_BPMN, prepared_database

if TYPE_CHECKING:
    from playwright.sync_api import Page

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

T0 = "2025-03-03T09:00:00+08:00"
START = {"customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "occurred_at": "今天 08:40",
         "place": "3号楼电梯", "description": "电梯异响", "channel": "phone", "read_back_confirmed": True}
ORIGINAL = COMPLAINT_BPMN.read_text(encoding="utf-8")
#: v2: the first step renamed, and the dispatch step replaced by a new one (its cases cannot follow)
FIXED = (ORIGINAL.replace('name="投诉分类"', 'name="投诉分类（新）"')
         .replace("Task_DispatchToDepartment", "Task_NotifyDepartment"))
#: v2 as first uploaded: a Java delegate on a task and a timer without a unit
BROKEN = (FIXED.replace('<bpmn:userTask id="Task_ClassifyComplaint"',
                        '<bpmn:userTask camunda:class="com.acme.Classify" id="Task_ClassifyComplaint"')
          .replace(">PT15M<", ">P15<", 1))
SAFE, UNSAFE = 160, 40


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Database, str]]:
    db = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('analyst') / 'bpmdesk.db'}",
                           {"frontdesk", "analyst"})
    with clock.frozen(T0):
        frontdesk = services.actor_for(db, "frontdesk")
        for number in range(SAFE + UNSAFE):
            case = services.start_instance(db, "complaint_handling", frontdesk, {**START, "phone": f"1380000{number:04d}"})
            if number >= SAFE:  # classified: waiting at the dispatch step v2 no longer has
                task = services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items[0]
                services.complete(db, task.id, frontdesk, {"complaint_kind": "soft"})
    app = create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path_factory.mktemp("var")})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield db, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    db.dispose()


@pytest.fixture(autouse=True)
def monday_morning() -> Iterator[None]:
    with clock.frozen(T0):
        yield


def sign_in(page: Page, url: str, user: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", user)
    page.fill("#password", "demo")
    page.click("#login")
    expect(page.locator("h1")).to_have_text("待办任务")


def upload(page: Page, url: str, content: str) -> None:
    page.goto(f"{url}/analyst/")
    page.set_input_files("#files", files=[{"name": "complaint_handling.bpmn", "mimeType": "application/xml",
                                           "buffer": content.encode("utf-8")}])
    page.click("#check")
    expect(page.locator("h1")).to_have_text("检查报告")


def test_upload_fix_diff_deploy_dry_run_migrate_and_the_inbox(page: Page, site: tuple[Database, str]) -> None:
    db, url = site
    sign_in(page, url, "analyst")
    upload(page, url, BROKEN)
    errors = page.locator("#errors table.findings tbody tr")
    expect(errors).to_have_count(2)
    expect(page.locator("#errors")).to_contain_text("Task_ClassifyComplaint")
    expect(page.locator("#errors")).to_contain_text("timer-invalid")
    expect(page.locator("#deploy")).to_have_count(0)

    upload(page, url, FIXED)
    expect(page.locator("#no-errors")).to_be_visible()
    expect(page.locator(".changes")).to_contain_text("用户任务「投诉分类」改名为「投诉分类（新）」")
    expect(page.locator(".changes")).to_contain_text("删除用户任务「通知责任部门」")
    expect(page.locator(".diff-new g.changed[data-element-id='Task_ClassifyComplaint']")).to_have_count(1)
    expect(page.locator(".diff-new g.added[data-element-id='Task_NotifyDepartment']")).to_have_count(1)
    expect(page.locator(".diff-old g.removed[data-element-id='Task_DispatchToDepartment']")).to_have_count(1)
    page.click("#deploy")
    expect(page.locator(".flash")).to_contain_text("已部署 投诉处理 v2")

    page.locator("#processes tr[data-process='complaint_handling'][data-version='1'] a").click()  # the module's other test deploys a process too
    page.click("#migrate-link")
    expect(page.locator("#safe-count")).to_have_text(str(SAFE))
    expect(page.locator("#unsafe-count")).to_have_text(str(UNSAFE))
    expect(page.locator("#cases tr[data-safe='no']").first).to_contain_text("在新版本中已删除")
    page.fill("#batch", "100")
    page.click("#migrate")
    expect(page.locator(".flash").first).to_contain_text("已迁移 100 件")
    page.click("#migrate")
    expect(page.locator(".flash").first).to_contain_text(f"已迁移 {SAFE - 100} 件")
    expect(page.locator(".flash").first).to_contain_text(f"旧版本上还有 {UNSAFE} 件")
    page.click("#logout")

    sign_in(page, url, "frontdesk")
    page.goto(f"{url}/?scope=group")
    expect(page.locator("#inbox tbody tr", has_text="投诉分类（新）").first).to_be_visible()
    page.locator("#inbox tbody tr", has_text="投诉分类（新）").first.locator("a.task-link").click()
    page.select_option("#f-complaint_kind", "soft")
    page.click("#complete")
    expect(page.locator("h1")).to_contain_text("通知责任部门")  # the new version's step (Task_NotifyDepartment)
    assert all(services.replay(db, case, services.Actor.operator()).agrees for case in (1, SAFE + 1))


FORM_DIR = COMPLAINT_BPMN.parents[1] / "tests" / "data"
VISIT = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">'
         '<bpmn:process id="visit" name="上门维修" isExecutable="true"><bpmn:startEvent id="s"/>'
         '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="record"/>'
         '<bpmn:userTask id="record" name="填写维修记录" camunda:formRef="repair_visit" camunda:candidateGroups="front-desk"/>'
         '<bpmn:sequenceFlow id="f2" sourceRef="record" targetRef="e"/><bpmn:endEvent id="e"/>'
         '</bpmn:process></bpmn:definitions>')


def test_a_camunda_form_renders_validates_on_the_server_and_its_values_land_in_the_case(
        page: Page, site: tuple[Database, str]) -> None:
    db, url = site
    sign_in(page, url, "analyst")
    page.goto(f"{url}/analyst/")
    page.set_input_files("#files", files=[
        {"name": "visit.bpmn", "mimeType": "application/xml", "buffer": VISIT.encode("utf-8")},
        {"name": "repair.form", "mimeType": "application/json", "buffer": (FORM_DIR / "all_components.form").read_bytes()}])
    page.click("#check")
    expect(page.locator("#no-errors")).to_be_visible()
    page.click("#deploy")
    expect(page.locator(".flash")).to_contain_text("已部署 上门维修 v1")
    page.click("#logout")

    case = services.start_instance(db, "visit", services.actor_for(db, "frontdesk"), {})
    sign_in(page, url, "frontdesk")
    page.goto(f"{url}/cases/{case}")
    page.locator("#open-tasks a", has_text="填写维修记录").click()
    expect(page.locator("main")).to_contain_text("请核对上门维修记录。")  # the form's text component
    page.fill("#f-customer_name", "张三")
    page.fill("#f-phone", "12345")  # not the form's pattern: refused by the server
    page.fill("#f-note", "换了灯管")
    page.fill("#f-hours", "2")
    page.check("#f-fixed-yes")
    page.select_option("#f-satisfaction", "good")
    page.select_option("#f-channel", "visit")
    page.fill("#f-visit_day", "2025-03-03")
    page.fill("#f-next_visit", "2025-03-10T10:00")
    page.click("#complete")
    expect(page.locator("main")).to_contain_text("「电话」的格式不对")
    page.fill("#f-phone", "13800138000")
    page.click("#complete")
    expect(page.locator(".flash")).to_contain_text("任务已完成")
    data = services.show_instance(db, case, services.Actor.operator()).data
    assert (data["phone"], data["hours"], data["fixed"], data["satisfaction"], data["channel"],
            data["visit_day"]) == ("13800138000", 2, True, "good", "visit", "2025-03-03")
