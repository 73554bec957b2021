"""Staff at work in a real browser: sign in, start a complaint, the department picks it up, deadlines.

The clock is fixed (engine.clock.frozen) at a Monday 09:00 in Beijing, so due times and the
screenshots are the same on every run.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import pytest

from engine import clock, services
from engine.services import TaskFilter
from engine.store import Database

if TYPE_CHECKING:
    from playwright.sync_api import Page

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                             "(pip install playwright pytest-playwright)").expect

T0 = "2025-03-03T09:00:00+08:00"
COMPLAINT = {"customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "occurred_at": "今天 08:40",
             "place": "3号楼电梯", "description": "电梯运行时有异响，业户担心安全"}


@pytest.fixture(autouse=True)
def monday_morning() -> Iterator[None]:
    with clock.frozen(T0):
        yield


def sign_in(page: Page, user: str) -> None:
    page.goto("/login")
    page.fill("#username", user)
    page.fill("#password", "demo")
    page.click("#login")
    expect(page.locator("h1")).to_have_text("待办任务")


def sign_out(page: Page) -> None:
    page.click("#logout")
    expect(page.locator("h1")).to_have_text("登录")


def open_task_link(page: Page, case: int, name: str) -> None:
    page.goto(f"/cases/{case}")
    page.locator("#open-tasks a", has_text=name).click()
    expect(page.locator("h1")).to_contain_text(name)


def complaint_at_department(db: Database, phone: str, at: str = T0, customer: str = "李先生") -> tuple[int, str]:
    """A complaint received at ``at``, classified and dispatched to engineering by the counter."""
    with clock.frozen(at):
        case = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"),
                                       {**COMPLAINT, "customer_name": customer, "phone": phone,
                                        "channel": "phone", "read_back_confirmed": True})
        for name, data in (("投诉分类", {"complaint_kind": "soft"}),
                           ("通知责任部门", {"responsible_dept": "engineering"})):
            task = next(t for t in services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items if t.name == name)
            services.complete(db, task.id, services.actor_for(db, "frontdesk"), data)
    pickup = next(t for t in services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items
                  if t.name == "责任部门取单签收")
    return case, pickup.id


def a_mornings_work(db: Database) -> None:
    """Earlier complaints still waiting for engineering, so the inbox looks like a real morning."""
    for at, customer, phone in (("2025-03-03T08:20:00+08:00", "王女士", "13700000001"),
                                ("2025-03-03T08:40:00+08:00", "张先生", "13700000002"),
                                ("2025-03-03T08:52:00+08:00", "陈阿姨", "13700000003")):
        complaint_at_department(db, phone, at, customer)


def test_sign_in_and_sign_out(page: Page) -> None:
    sign_in(page, "frontdesk")
    expect(page.locator(".who .user")).to_contain_text("前台 王芳")
    sign_out(page)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/"))


def test_counter_starts_a_complaint_and_the_department_picks_it_up(page: Page, web_db: Database,
                                                                   screenshots: Path) -> None:
    a_mornings_work(web_db)
    sign_in(page, "frontdesk")
    page.click("text=发起流程")
    page.locator("#procedures tr", has_text="投诉处理").locator("text=发起").click()
    for field, value in COMPLAINT.items():
        page.fill(f"#f-{field}", value)
    page.check("#f-read_back_confirmed-yes")
    page.click("#start")
    expect(page.locator("h1")).to_contain_text("投诉分类")  # the counter's next step opens at once
    expect(page.locator("#complete")).to_be_in_viewport()
    case = int(re.search(r"/cases/(\d+)", page.locator(".crumbs a").nth(1).get_attribute("href")).group(1))
    page.select_option("#f-complaint_kind", "soft")
    page.click("#complete")
    expect(page.locator(".flash")).to_contain_text("任务已完成")
    expect(page.locator("h1")).to_contain_text("通知责任部门")
    page.select_option("#f-responsible_dept", "engineering")
    page.click("#complete")
    expect(page.locator("h1")).to_have_text("待办任务")
    page.goto(f"/cases/{case}")
    expect(page.locator("#case-status")).to_have_text("进行中")
    sign_out(page)

    sign_in(page, "engineer")
    expect(page.locator("#inbox tbody tr.overdue")).not_to_have_count(0)
    page.screenshot(path=str(screenshots / "inbox.png"))
    page.goto(f"/?scope=group&q={case}")
    row = page.locator("#inbox tbody tr", has_text="责任部门取单签收")
    expect(row).to_contain_text("待认领")
    expect(row).to_contain_text("2025-03-03 09:15")
    row.locator("a.task-link").click()
    page.click("#claim")
    expect(page.locator("#assignee")).to_contain_text("工程部 赵强")
    page.screenshot(path=str(screenshots / "task-form.png"), full_page=True)
    page.click("#complete")
    expect(page.locator(".flash")).to_contain_text("任务已完成")
    page.goto(f"/?scope=done&q={case}")
    expect(page.locator("#inbox tbody tr", has_text="责任部门取单签收")).to_contain_text("工程部 赵强")

    page.goto(f"/cases/{case}")
    expect(page.locator('#diagram [data-element-id="Task_PickUpTicket"]')).to_have_class(re.compile("done"))
    expect(page.locator("#timeline")).to_contain_text("认领任务")
    page.screenshot(path=str(screenshots / "case.png"), full_page=True)


def test_a_task_shows_as_overdue_once_the_clock_passes_its_due_time(page: Page, web_db: Database) -> None:
    case, pickup = complaint_at_department(web_db, "13900000001")
    sign_in(page, "engineer")
    page.goto(f"/?q={case}")
    row = page.locator(f'#inbox tr[data-task-id="{pickup}"]')
    expect(row).not_to_have_class(re.compile("overdue"))
    with clock.frozen("2025-03-03T09:16:00+08:00"):
        page.reload()
        expect(row).to_have_class(re.compile("overdue"))
        expect(row).to_contain_text("已超时")
        page.goto("/?due=overdue")
        expect(page.locator(f'#inbox tr[data-task-id="{pickup}"]')).to_be_visible()


def test_a_form_error_is_shown_and_corrected(page: Page, web_db: Database) -> None:
    case = services.start_instance(web_db, "complaint_handling", services.actor_for(web_db, "frontdesk"),
                                   {**COMPLAINT, "phone": "13900000002", "channel": "visit",
                                    "read_back_confirmed": True})
    sign_in(page, "frontdesk")
    open_task_link(page, case, "投诉分类")
    page.eval_on_selector("#task-form", "form => form.noValidate = true")  # as a browser without checks
    page.fill("#f-onsite_handling", "已当面致歉并安抚业户")
    page.click("#complete")
    expect(page.locator("#f-complaint_kind-error")).to_have_text("「投诉性质」为必填项")
    expect(page.locator("#f-onsite_handling")).to_have_value("已当面致歉并安抚业户")
    page.select_option("#f-complaint_kind", "hard")
    page.click("#complete")
    expect(page.locator(".flash")).to_contain_text("任务已完成")


def test_another_groups_task_is_forbidden(page: Page, web_db: Database) -> None:
    _, pickup = complaint_at_department(web_db, "13900000003")
    sign_in(page, "cleaner")
    response = page.goto(f"/tasks/{pickup}")
    assert response is not None and response.status == 403
    expect(page.locator("h1")).to_have_text("无权访问")
    expect(page.locator(".error-box")).to_contain_text("不属于您所在的组")
