"""The analyst's pages: upload, lint report, deploy (or not), versions, diagram and sources."""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import clock, compat, services
from engine.errors import DeployError
from engine.services import deploy as deploy_service
from engine.store import Database
from webui import create_app
from webui_site import COMPLAINT_BPMN, prepared_database

COMPLAINT = "complaint_handling"
ORIGINAL = COMPLAINT_BPMN.read_bytes()
RENAMED = ORIGINAL.replace('name="投诉分类"'.encode(), 'name="投诉分类（新）"'.encode())
#: A Java delegate on a user task: refused at deploy (nothing here runs Java).
BROKEN = RENAMED.replace(b'<bpmn:userTask id="Task_ClassifyComplaint"',
                         b'<bpmn:userTask camunda:class="com.acme.Classify" id="Task_ClassifyComplaint"')


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('analyst') / 'bpmdesk.db'}",
                                 {"analyst", "frontdesk"})
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def app(site_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    with clock.frozen("2025-03-03T09:00:00+08:00"):
        yield


def token_of(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "page has no CSRF token"
    return match.group(1)


def signed_in(app: Flask, user: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert client.post("/login", data={"username": user, "password": "demo",
                                       "csrf_token": token_of(page)}).status_code == 302
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def upload(client: FlaskClient, *files: tuple[str, bytes]):
    from io import BytesIO
    token = token_of(client.get("/analyst/").get_data(as_text=True))
    return client.post("/analyst/check", content_type="multipart/form-data",
                       data={"csrf_token": token, "files": [(BytesIO(c), n) for n, c in files]})


def deploy_form(page: str) -> dict[str, list[str]]:
    """The deploy form of a check page, as the browser would post it."""
    form = re.search(r'<form method="post" action="/analyst/deploy".*?</form>', page, re.S)
    assert form, "the report offers no deploy button"
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def test_a_broken_upload_lists_each_problem_where_it_is_and_offers_no_deploy(app: Flask, site_db: Database) -> None:
    client = signed_in(app, "analyst")
    response = upload(client, ("complaint_handling.bpmn", BROKEN))
    page = text(response)
    assert response.status_code == 200
    line = BROKEN.decode().splitlines().index(next(l for l in BROKEN.decode().splitlines()
                                                   if "com.acme.Classify" in l)) + 1
    assert f"complaint_handling.bpmn:{line}" in page
    assert "Task_ClassifyComplaint" in page and "投诉分类（新）" in page  # the element, by id and name
    assert 'action="/analyst/deploy"' not in page
    assert [v.version for v in _versions(site_db)] == [1]


def test_the_report_is_the_deploy_check_itself(site_db: Database) -> None:
    analyst = services.actor_for(site_db, "analyst")
    files = [compat.SourceFile("complaint_handling.bpmn", BROKEN)]
    report = deploy_service.check_files(site_db, files, analyst)
    with pytest.raises(DeployError) as refused:
        services.deploy_files(site_db, files, analyst)
    assert report.errors == refused.value.problems and report.errors
    assert report.errors[0].element_id == "Task_ClassifyComplaint"


def test_an_analyst_checks_then_deploys_the_same_upload(app: Flask, site_db: Database) -> None:
    client = signed_in(app, "analyst")
    response = upload(client, ("complaint_handling.bpmn", RENAMED))
    assert "没有错误" in text(response) and "新版本 v2" in text(response)
    assert "用户任务「投诉分类」改名为「投诉分类（新）」" in text(response)  # the diff against the running v1, in words
    assert re.search(r'data-element-id="Task_ClassifyComplaint"[^>]*class="[^"]*changed', text(response)) or \
        re.search(r'class="[^"]*changed[^"]*"[^>]*data-element-id="Task_ClassifyComplaint"', text(response))
    form = deploy_form(response.get_data(as_text=True))
    response = client.post("/analyst/deploy", data=form)
    assert response.status_code == 302
    listing = text(client.get("/analyst/"))
    assert "已部署" in listing and "v2" in listing
    newest = _versions(site_db)[-1]
    assert (newest.version, newest.deployed_by) == (2, "analyst")
    stored = deploy_service.get_version(site_db, newest.id).files[0]["content"].encode("utf-8")
    assert stored == RENAMED  # byte for byte what was checked, not a browser's re-encoding

    replayed = client.post("/analyst/deploy", data=form)  # the same form again (back button, replay)
    assert replayed.status_code == 409 and "重新上传" in text(replayed)
    assert [v.version for v in _versions(site_db)] == [1, 2]


def test_versions_show_who_deployed_open_cases_a_diagram_and_the_exact_source(app: Flask, site_db: Database) -> None:
    frontdesk = services.actor_for(site_db, "frontdesk")
    services.start_instance(site_db, COMPLAINT, frontdesk, {
        "customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "channel": "phone",
        "occurred_at": "今天上午", "place": "3号楼电梯", "description": "电梯异响", "read_back_confirmed": True})
    client = signed_in(app, "analyst")
    latest = _versions(site_db)[-1]
    row = re.search(rf'data-version="{latest.version}".*?class="open-cases">(\d+)<', text(client.get("/analyst/")), re.S)
    assert row and int(row.group(1)) >= 1
    page = client.get(f"/analyst/versions/{latest.id}")
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    first = _versions(site_db)[0]
    compared = client.get(f"/analyst/diff?old={first.id}&new={latest.id}")
    assert compared.status_code == 200 and "改名为" in text(compared)
    assert client.get(f"/analyst/diff?old=x&new={latest.id}").status_code == 400
    download = client.get(f"/analyst/versions/{latest.id}/files/0")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.data == deploy_service.get_version(site_db, latest.id).files[0]["content"].encode("utf-8")


def test_staff_who_are_not_analysts_cannot_use_the_pages(app: Flask) -> None:
    client = signed_in(app, "frontdesk")
    assert "流程管理" not in text(client.get("/"))
    assert client.get("/analyst/").status_code == 403


def test_a_file_that_is_no_diagram_is_refused_with_a_clear_message(app: Flask) -> None:
    response = upload(signed_in(app, "analyst"), ("notes.txt", b"hello"))
    assert response.status_code == 400 and "notes.txt" in text(response)


def _versions(db: Database):
    return deploy_service.list_versions(db, COMPLAINT)
