"""The inbox as staff organise it: sorted as they need, their own saved filters with counts, and
how late a task is in words."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Iterator

import pytest
from flask import Flask

from engine import clock, services
from engine.store import Database
from test_webui_app import COMPLAINT, COMPLAINT_FORM, client_for, dispatched_to_engineering, post, text
from webui import create_app
from webui_site import prepared_database

T0 = "2025-03-03T09:00:00+08:00"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Database]]:
    db = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('inbox') / 'bpmdesk.db'}",
                           {"frontdesk", "frontdesk2", "engineer"})
    app = create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})
    yield app, db
    db.dispose()


def start_at(db: Database, at: str, phone: str) -> int:
    with clock.frozen(at):
        return services.start_instance(db, COMPLAINT, services.actor_for(db, "frontdesk"),
                                       {**COMPLAINT_FORM, "phone": phone})


def case_order(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td><a href="/cases/(\d+)">', page)]


def test_the_inbox_sorts_by_due_time_or_newest_first(site: tuple[Flask, Database]) -> None:
    app, db = site
    first = start_at(db, "2025-03-03T09:00:00+08:00", "13611110001")
    second = start_at(db, "2025-03-03T09:30:00+08:00", "13611110002")
    client = client_for(app, "frontdesk")
    with clock.frozen("2025-03-03T09:40:00+08:00"):
        by_due = text(client.get("/?q=1361111"))
        newest = text(client.get("/?q=1361111&sort=created"))
        unknown = client.get("/?q=1361111&sort=DROP TABLE")
    assert case_order(by_due) == [first, second] and "按到期时间（最早在前）排序" in by_due
    assert case_order(newest) == [second, first] and "按创建时间（最新在前）排序" in newest
    assert '<option value="created" selected>' in newest
    assert unknown.status_code == 200 and case_order(text(unknown)) == [first, second]
    for sort in ("follow_up", "priority"):
        assert set(case_order(text(client.get(f"/?q=1361111&sort={sort}")))) == {first, second}


def test_a_saved_filter_is_listed_with_its_count_for_its_owner_only(site: tuple[Flask, Database]) -> None:
    app, db = site
    for n in range(3):
        start_at(db, T0, f"1371111000{n}")
    client = client_for(app, "frontdesk")
    with clock.frozen(T0):
        saved = post(client, "/filters", {"name": "  137 开头  ", "scope": "open", "q": "1371111", "sort": "created"})
        assert saved.status_code == 302 and "q=1371111" in saved.headers["Location"]
        page = text(client.get("/"))
        link = re.search(r'<a href="([^"]+)">137 开头 <span class="count">(\d+)</span>', page)
        assert link and link.group(2) == "3" and "sort=created" in link.group(1)
        shown = text(client.get(link.group(1).replace("&amp;", "&")))
        assert len(case_order(shown)) == 3 and 'aria-current="page">137 开头' in shown
        start_at(db, T0, "13711110009")
        assert '137 开头 <span class="count">4</span>' in text(client.get("/"))
        colleague = client_for(app, "frontdesk2")
        assert "137 开头" not in text(colleague.get("/"))
        filter_id = re.search(r'action="/filters/(\d+)/delete"', page).group(1)
        assert post(colleague, f"/filters/{filter_id}/delete").status_code == 404
        assert post(client, "/filters", {"name": "", "q": "1"}).status_code == 400
        assert post(client, f"/filters/{filter_id}/delete").status_code == 302
        after = text(client.get("/"))
        assert "已删除筛选「137 开头」" in after and "137 开头 <span" not in after


def test_an_overdue_task_says_how_late_it_is_in_words(site: tuple[Flask, Database]) -> None:
    app, db = site
    with clock.frozen(T0):
        case, pickup = dispatched_to_engineering(db)
    client = client_for(app, "engineer")
    with clock.frozen((pickup.due_at + timedelta(hours=2, minutes=15, seconds=30)).isoformat()):
        late = text(client.get(f"/?q={case}"))
    with clock.frozen((pickup.due_at - timedelta(minutes=45)).isoformat()):
        soon = text(client.get(f"/?q={case}"))
    assert "已超时 2 小时 15 分" in late and "还剩 45 分" in soon
