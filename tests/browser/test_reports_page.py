"""The SLA dashboard in a browser, at 1366×768 and on a phone (390×844): a manager opens 报表,
reads this week's pick-up figures, and follows a number to the cases behind it."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest
from werkzeug.serving import make_server

from engine import clock, services
from engine.store import Database
from report_week import NOW, USERS, walk_week
from webui import create_app
from webui_site import prepared_database

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

expect = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").expect

SCREENS = {"desktop": {"width": 1366, "height": 768}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def week_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    db = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('week') / 'bpmdesk.db'}", USERS)
    cases = walk_week(db)
    app = create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path_factory.mktemp("var")})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", cases
    server.shutdown()
    db.dispose()


@pytest.fixture(autouse=True)
def friday_afternoon() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture(params=list(SCREENS))
def manager_page(request: pytest.FixtureRequest, browser: Browser, week_site) -> Iterator[tuple[str, Page]]:
    base_url, _ = week_site
    context = browser.new_context(viewport=SCREENS[request.param], base_url=base_url, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto("/login")
    page.fill("#username", "manager")
    page.fill("#password", "demo")
    page.click("#login")
    expect(page.locator("h1")).to_have_text("待办任务")
    yield request.param, page
    context.close()


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def test_a_manager_reads_the_week_and_opens_the_missed_pickups(manager_page, week_site, screenshots: Path) -> None:
    size, page = manager_page
    _, cases = week_site
    page.click("text=报表")
    page.click("nav.tabs >> text=本周")
    expect(page.locator("h1")).to_have_text("服务时限报表")
    row = page.locator('#report-levels tr[data-step="Task_PickUpTicket"][data-dept="cleaning"]')
    expect(row).to_contain_text("15分钟未取单")
    expect(row.locator("td.percent")).to_have_text("40.0%")
    expect(page.locator("#chart-levels")).to_have_attribute("role", "img")
    fits(page)
    page.screenshot(path=str(screenshots / f"reports-{size}.png"), full_page=size == "desktop")
    row.locator("td").nth(7).locator("a").click()  # 超时未完成: 1
    expect(page.locator("#listed-count")).to_have_text("1")
    expect(page.locator(f'#listed tr[data-instance="{cases[9]}"]')).to_contain_text("未完成")
    fits(page)
    page.screenshot(path=str(screenshots / f"report-cases-{size}.png"))
