"""Words, not ids: every page each demo role can reach, read as its visible text, names people,
groups, procedures, options and amounts the way staff say them — no user or group ids, no field
ids, no English, no Python repr, no unformatted float.

The pages are found by following links from the inbox, as a person would click around; the cases
behind them cover the main kinds of content (a complaint escalated at its department, a return
with money and dates, a finished case).
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Iterator
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import clock, services
from engine.demo import DEMO_USERS, ensure_demo_users
from engine.services import TaskFilter
from engine.store import Database
from test_webui_app import client_for
from webui import create_app
from webui_site import ROOT

T0 = "2026-03-02T09:00:00+08:00"
LATER = "2026-03-02T11:30:00+08:00"  # the complaint's pick-up is 2 h 15 min late, escalated
ALLOWED_WORDS = {"CSV", "XES", "PDF"}  # export formats, named as such
CRAWLED = re.compile(r"^/(\?scope=\w+)?$|^/tasks/[\w-]+$|^/cases/\d+$|^/start(/\w+)?$|^/admin/users$"
                     r"|^/audit/(cases/\d+)?$|^/team/(\?group=[\w-]+)?$")
MAX_PAGES = 40


class _VisibleText(HTMLParser):
    """The text a person sees: no scripts, styles, diagrams, or identifiers marked ``class="id"``
    (login names on the admin page, which administrators type)."""

    HIDDEN = {"script", "style", "svg", "title", "head"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag in self.HIDDEN or "id" in (attributes.get("class") or "").split():
            self._hidden.append(tag)
        elif self._hidden and tag == self._hidden[-1]:
            self._hidden.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden and tag == self._hidden[-1]:
            self._hidden.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Database]]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('words') / 'bpmdesk.db'}")
    db.upgrade_schema()
    with clock.frozen(T0):
        services.deploy_paths(db, [ROOT / "processes"], services.Actor.operator("test"))
        ensure_demo_users(db)
        _cases(db)
    with clock.frozen(LATER):
        services.fire_due_timers(db)
    yield create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True}), db
    db.dispose()


def _complete(db: Database, case: int, element: str, who: str, data: dict) -> None:
    task = next(t for t in services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items if t.element_id == element)
    services.complete(db, task.id, services.actor_for(db, who), data)


def _cases(db: Database) -> None:
    complaint = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), {
        "customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "channel": "phone",
        "occurred_at": "今天上午", "place": "3号楼电梯", "description": "电梯异响", "read_back_confirmed": "true"})
    _complete(db, complaint, "Task_ClassifyComplaint", "frontdesk", {"complaint_kind": "soft"})
    _complete(db, complaint, "Task_DispatchToDepartment", "frontdesk", {"responsible_dept": "engineering"})
    ret = services.start_instance(db, "order_cancellation_return", services.actor_for(db, "frontdesk"), {
        "customer_name": "王女士", "phone": "13900000002", "order_no": "20260220001", "request_kind": "return",
        "request_reason": "尺寸不合适", "price": "1,299.50", "order_kind": "ordinary",
        "ordered_at": "2026-02-20T10:00", "delivered": "true", "delivered_on": "2026-02-27", "packaging_intact": "true"})
    _complete(db, ret, "Task_TryResolve", "frontdesk", {"suggestion": "建议换货"})
    withdrawn = services.start_instance(db, "order_cancellation_return", services.actor_for(db, "frontdesk"), {
        "customer_name": "赵先生", "phone": "13900000003", "order_no": "20260220002", "request_kind": "cancel",
        "request_reason": "不需要了", "price": "259.9", "order_kind": "ordinary", "ordered_at": "2026-03-01T08:00"})
    _complete(db, withdrawn, "Task_TryResolve", "frontdesk", {"suggestion": "说明情况", "customer_withdraws": "true"})


def _ids(db: Database) -> set[str]:
    """Every id a page could leak: people, groups, procedures, form fields."""
    labels: set[str] = set()
    for definition in services.list_definitions(db):
        labels.add(definition.process_id)
    fields: set[str] = set()
    for case in range(1, 4):
        fields |= set(services.show_instance(db, case, services.Actor.operator()).labels.fields)
    return ({name for name, _, _ in DEMO_USERS} | set(services.group_names(db)) | labels | fields
            | {"scheduler", "cli"})


def _problems(visible: str, ids: set[str]) -> list[str]:
    found = [f"id {token}" for token in re.findall(r"[A-Za-z][\w.-]*", visible) if token in ids]
    found += [f"English {word}" for word in re.findall(r"[A-Za-z]{2,}", visible)
              if word not in ALLOWED_WORDS and word not in ids]
    found += [f"repr {m}" for m in re.findall(r"\[|'|\bNone\b|\bTrue\b|\bFalse\b", visible)]
    found += [f"float {m}" for m in re.findall(r"\d\.\d{3,}|(?<![\d.])\d+\.\d(?![\d.])", visible)]
    return found


def _walk(client: FlaskClient) -> Iterator[tuple[str, str, list[str]]]:
    """(path, visible text, links) of every page reachable from the inbox, breadth first."""
    queue, seen = ["/"], {"/"}
    while queue and len(seen) <= MAX_PAGES:
        path = queue.pop(0)
        response = client.get(path)
        if response.status_code != 200:
            continue
        parser = _VisibleText()
        parser.feed(response.get_data(as_text=True))
        yield path, " ".join(" ".join(parser.parts).split()), parser.links
        for link in parser.links:
            target = urlsplit(urljoin(path, link))
            local = target.path + (f"?{target.query}" if target.query else "")
            if not target.netloc and CRAWLED.match(local) and local not in seen:
                seen.add(local)
                queue.append(local)


@pytest.mark.parametrize("role", [name for name, _, _ in DEMO_USERS])
def test_every_page_a_role_reaches_speaks_in_words(site: tuple[Flask, Database], role: str) -> None:
    app, db = site
    ids = _ids(db)
    client = client_for(app, role)
    pages = 0
    with clock.frozen(LATER):
        for path, visible, _ in _walk(client):
            pages += 1
            assert not _problems(visible, ids), f"{role} on {path}: {_problems(visible, ids)}"
    assert pages >= 2, f"{role} reached only {pages} page(s)"
