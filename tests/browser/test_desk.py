"""The desk on an office screen (1366×768) and on a phone (390×844): answering 否, refusing,
dates typed in words, work arriving while the inbox is open, and pages that fit the screen.

Cases are brought to the step under test through the services (what the counter did before is
tested elsewhere); the step itself is done in the browser, as staff do it.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

from engine import clock, services
from engine.demo import DEMO_PASSWORD, DEMO_USERS
from engine.services import TaskFilter
from engine.store import Database

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

ROOT = Path(__file__).resolve().parents[2]
T0 = "2025-03-03T09:00:00+08:00"
SCREENS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}
PEOPLE = {"frontdesk", "frontdesk2", "cleaner", "engineer", "engineer2", "gm", "storemgr", "supervisor"}
COMPLAINT = {"customer_name": "周女士", "phone": "13811112222", "room": "5-2-1201", "channel": "phone",
             "occurred_at": "今天上午", "place": "地下车库", "description": "车库积水", "read_back_confirmed": "true"}
ORDER = {"customer_name": "吴先生", "phone": "13922223333", "order_no": "20250301007", "request_kind": "cancel",
         "request_reason": "家里装修推迟", "price": "3,280.00", "order_kind": "ordinary",
         "ordered_at": "2025-03-01T08:00"}


@pytest.fixture(scope="module")
def desk_db(web_db: Database) -> Database:
    """The shared browser database, with the cancellation procedure and the people these tests need."""
    services.deploy_paths(web_db, [ROOT / "processes" / "order_cancellation_return.bpmn",
                                   ROOT / "processes" / "return_policy.dmn",
                                   ROOT / "processes" / "product_repair.bpmn", ROOT / "processes" / "escalation_policy.dmn"], services.Actor.operator("test"))
    existing = {u.name for u in services.list_users(web_db)}
    for name, display, groups in DEMO_USERS:
        if name in PEOPLE - existing:
            services.add_user(web_db, name, groups, DEMO_PASSWORD, display, actor=services.Actor.operator("test"))
    return web_db


@pytest.fixture(autouse=True)
def monday_morning() -> Iterator[None]:
    with clock.frozen(T0):
        yield


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[tuple[str, Any]]:
    """A fresh browser at one screen size: (size name, a function opening a signed-in page)."""
    contexts = []

    def signed_in(user: str) -> Page:
        context = browser.new_context(viewport=SCREENS[request.param], base_url=base_url, locale="zh-CN",
                                      timezone_id="Asia/Shanghai")
        contexts.append(context)
        page = context.new_page()
        page.goto("/login")
        page.fill("#username", user)
        page.fill("#password", "demo")
        page.click("#login")
        expect(page.locator("h1")).to_have_text("待办任务")
        return page

    yield request.param, signed_in
    for context in contexts:
        context.close()


def step(db: Database, case: int, element: str, who: str, **data: str) -> None:
    task = next(t for t in services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items if t.element_id == element)
    services.complete(db, task.id, services.actor_for(db, who), data)


def open_task(db: Database, case: int, element: str) -> str:
    return next(t.id for t in services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items if t.element_id == element)


def open_elements(db: Database, case: int) -> set[str]:
    return {t.element_id for t in services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items}


def fits(page: Page) -> None:
    """No horizontal scrolling: the page is no wider than the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def recorded_complaint(db: Database) -> int:
    """A soft complaint cleaned up by the cleaning team, its record handed back to the counter."""
    case = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), COMPLAINT)
    step(db, case, "Task_ClassifyComplaint", "frontdesk", complaint_kind="soft")
    step(db, case, "Task_DispatchToDepartment", "frontdesk", responsible_dept="cleaning")
    step(db, case, "Task_PickUpTicket", "cleaner")
    step(db, case, "Task_SoftReaction", "cleaner", reaction_note="已派人抽水")
    step(db, case, "Task_SoftVerify", "frontdesk", verify_note="现场已处理")
    step(db, case, "Task_RecordHandling", "cleaner", handling_result="积水已抽干")
    return case


def test_the_record_check_says_no_the_record_goes_back_then_passes(desk_db: Database, screen, screenshots: Path) -> None:
    size, signed_in = screen
    case = recorded_complaint(desk_db)
    page = signed_in("frontdesk2")
    page.goto(f"/tasks/{open_task(desk_db, case, 'Task_CheckRecord')}")
    page.check("#f-record_complete-no")
    page.check("#f-matter_resolved-yes")
    page.check("#f-head_signed-yes")
    page.fill("#f-check_note", "缺少负责人签字日期")
    page.click("#complete")
    expect(page.locator(".flash")).to_contain_text("任务已完成")
    assert open_elements(desk_db, case) == {"Task_RecordHandling"}, "the record goes back to the department"
    step(desk_db, case, "Task_RecordHandling", "cleaner", handling_result="积水已抽干，已补签")
    page.goto(f"/tasks/{open_task(desk_db, case, 'Task_CheckRecord')}")
    for field in ("record_complete", "matter_resolved", "head_signed"):
        page.check(f"#f-{field}-yes")
    page.click("#complete")
    expect(page.locator("h1")).to_contain_text("回访业户")  # the counter's next step opens at once
    expect(page.locator("#complete")).to_be_visible()
    fits(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / f"task-form-{size}.png"))


def cancellation_for_the_gm(db: Database) -> int:
    case = services.start_instance(db, "order_cancellation_return", services.actor_for(db, "frontdesk"), ORDER)
    step(db, case, "Task_TryResolve", "frontdesk", suggestion="建议延期送货")
    step(db, case, "Task_FillCancellationForm", "frontdesk", sales_order_provided="true",
         receipt_provided="true", customer_signed="true")
    return case


def test_the_gm_refuses_a_cancellation(desk_db: Database, screen) -> None:
    _, signed_in = screen
    case = cancellation_for_the_gm(desk_db)
    page = signed_in("gm")
    page.goto(f"/tasks/{open_task(desk_db, case, 'Task_ApproveCancellation')}")
    expect(page.locator("#task-form")).to_contain_text("328.00 元")  # the 10 % fee, in yuan
    page.check("#f-approved-no")
    page.fill("#f-approval_note", "定制件已投产，不能取消")
    page.click("#complete")
    expect(page.locator(".flash")).to_contain_text("任务已完成")
    assert open_elements(desk_db, case) == {"Task_InformRefusal"}


def test_an_order_time_in_words_gets_a_field_error_and_the_form_is_kept(desk_db: Database, screen) -> None:
    _, signed_in = screen
    page = signed_in("frontdesk")
    page.goto("/start/order_cancellation_return")
    page.fill("#f-customer_name", "郑女士")
    page.fill("#f-phone", "13933334444")
    page.fill("#f-order_no", "20250301009")
    page.select_option("#f-request_kind", "cancel")
    page.fill("#f-request_reason", "买重了")
    page.fill("#f-price", "899")
    page.select_option("#f-order_kind", "ordinary")
    # what a browser without a date-time picker (or a paste) sends: the words as typed
    page.locator("#f-ordered_at").evaluate("(input, text) => { input.type = 'text'; input.value = text; }", "昨天下午3点")
    page.click("#start")
    expect(page.locator("#f-ordered_at-error")).to_have_text("「下单时间」必须是日期和时间，如 2026-01-05 14:30")
    expect(page.locator("#f-ordered_at")).to_have_value("昨天下午3点")
    expect(page.locator("#f-customer_name")).to_have_value("郑女士")
    expect(page.locator("#f-price")).to_have_value("899")
    fits(page)
    page.locator("#f-ordered_at").evaluate("(input) => { input.type = 'datetime-local'; }")
    page.fill("#f-ordered_at", "2025-03-02T15:00")
    page.click("#start")
    expect(page.locator("h1")).to_contain_text("尝试解决")


def test_a_second_browser_sees_a_new_task_arrive_without_reloading(desk_db: Database, screen, screenshots: Path) -> None:
    size, signed_in = screen
    page = signed_in("cleaner")
    before = page.locator("#tab-group .count").inner_text()
    case = services.start_instance(desk_db, "complaint_handling", services.actor_for(desk_db, "frontdesk"), COMPLAINT)
    step(desk_db, case, "Task_ClassifyComplaint", "frontdesk", complaint_kind="soft")
    step(desk_db, case, "Task_DispatchToDepartment", "frontdesk", responsible_dept="cleaning")
    pickup = open_task(desk_db, case, "Task_PickUpTicket")
    expect(page.locator(f'#inbox tr[data-task-id="{pickup}"]')).to_be_visible(timeout=6000)
    expect(page.locator("#tab-group .count")).not_to_have_text(before)
    fits(page)
    page.screenshot(path=str(screenshots / f"inbox-{size}.png"))
    page.goto(f"/cases/{case}")
    fits(page)
    page.screenshot(path=str(screenshots / f"case-{size}.png"))


def test_a_supervisor_reassigns_an_escalated_task_from_the_team_view(desk_db: Database, screen,
                                                                    screenshots: Path) -> None:
    size, signed_in = screen
    case = services.start_instance(desk_db, "complaint_handling", services.actor_for(desk_db, "frontdesk"), COMPLAINT)
    step(desk_db, case, "Task_ClassifyComplaint", "frontdesk", complaint_kind="soft")
    step(desk_db, case, "Task_DispatchToDepartment", "frontdesk", responsible_dept="engineering")
    pickup = open_task(desk_db, case, "Task_PickUpTicket")
    services.claim(desk_db, pickup, services.actor_for(desk_db, "engineer"))
    with clock.frozen("2025-03-03T09:20:00+08:00"):
        services.fire_due_timers(desk_db)
        page = signed_in("supervisor")
        page.click("text=团队")
        page.locator("#main-nav, .tabs").locator("text=工程部").first.click()
        row = page.locator(f'#team-tasks tr[data-task-id="{pickup}"]')
        expect(row).to_contain_text("已升级")
        row.locator("select[name=to_user]").select_option("engineer2")
        row.locator("button.assign").click()
        expect(page.locator(".flash")).to_contain_text("已分派给 工程部 孙磊")
        fits(page)
        page.screenshot(path=str(screenshots / f"team-{size}.png"))
    assert services.get_task(desk_db, pickup, services.Actor.operator()).task.assignee == "engineer2"


def test_the_start_page_fits_the_screen(desk_db: Database, screen, screenshots: Path) -> None:
    size, signed_in = screen
    page = signed_in("frontdesk")
    page.goto("/start/complaint_handling")
    fits(page)
    page.screenshot(path=str(screenshots / f"start-form-{size}.png"))


def test_search_by_customer_name_and_room(desk_db: Database, screen) -> None:
    size, signed_in = screen
    name, room = ("钱一鸣", "9-9-909") if size == "desktop" else ("钱二鸣", "8-8-808")
    case = services.start_instance(desk_db, "complaint_handling", services.actor_for(desk_db, "frontdesk"),
                                   {**COMPLAINT, "customer_name": name, "room": room})
    page = signed_in("frontdesk")
    for term in (name[:2], room[2:]):
        page.fill("input[name=q]", term)
        page.locator(".filters button[type=submit]").click()
        expect(page.locator("#inbox tbody tr")).to_have_count(1)
        expect(page.locator("#inbox tbody tr")).to_contain_text(name)
        expect(page.locator(f'#inbox a[href="/cases/{case}"]')).to_be_visible()
