"""The web's error boundary: hostile or careless input gets a 4xx with a Chinese message, never a
500, and changes nothing; request, field and case sizes are bounded."""
from __future__ import annotations

import html
import json
import re
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import services
from engine.errors import InvalidInput
from engine.store import Database
from webui import create_app
from webui_site import prepared_database

FORM = {"customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "channel": "phone",
        "occurred_at": "今天上午", "place": "3号楼电梯", "description": "电梯异响", "read_back_confirmed": True}


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('guard') / 'bpmdesk.db'}",
                                 {"frontdesk", "auditor"})
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def app(site_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})


def signed_in(app: Flask, user: str) -> tuple[FlaskClient, str]:
    """An API client signed in as ``user`` and its CSRF token."""
    client = app.test_client()
    token = client.get("/api/csrf").get_json()["csrf_token"]
    response = client.post("/api/login", json={"username": user, "password": "demo"},
                           headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    return client, response.get_json()["csrf_token"]


def refused(response, status: int = 400) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json(silent=True)
    message = body["error"] if body else html.unescape(response.get_data(as_text=True))
    assert re.search(r"[\u4e00-\u9fff]", message), message
    return message


def cases_of(site_db: Database) -> int:
    return len(services.search_cases(site_db, services.CaseQuery(per_page=500), services.Actor.operator()).items)


def post_case(client: FlaskClient, token: str, body: bytes | str):
    return client.post("/api/cases", data=body, content_type="application/json", headers={"X-CSRFToken": token})


def test_json_nested_100k_deep_is_a_bad_request(app: Flask, site_db: Database) -> None:
    client, token = signed_in(app, "frontdesk")
    before = cases_of(site_db)
    assert "嵌套" in refused(post_case(client, token, "[" * 100_000 + "]" * 100_000))
    assert "嵌套" in refused(post_case(client, token, '{"a":' * 100_000 + "1" + "}" * 100_000))
    deep: list = [1]
    for _ in range(40):
        deep = [deep]
    nested = json.dumps({"process_id": "complaint_handling", "data": {**FORM, "x": deep}})
    assert "嵌套" in refused(post_case(client, token, nested))
    assert cases_of(site_db) == before


@pytest.mark.parametrize("body", ['{"process_id": "complaint_handling", "data": {', '{"n": ' + "9" * 5000 + "}"])
def test_a_body_that_is_not_json_says_so(app: Flask, site_db: Database, body: str) -> None:
    """Broken JSON, or a number Python will not read (over 4,300 digits), is named as such."""
    client, token = signed_in(app, "frontdesk")
    before = cases_of(site_db)
    assert "不是有效的 JSON" in refused(post_case(client, token, body))
    assert cases_of(site_db) == before


def test_lone_surrogates_and_nul_characters_are_refused_before_any_route(app: Flask, site_db: Database) -> None:
    client, token = signed_in(app, "frontdesk")
    before = cases_of(site_db)
    surrogate = '{"process_id": "complaint_handling", "data": {"customer_name": "\\ud800"}}'
    assert "代理字符" in refused(post_case(client, token, surrogate))
    nul = json.dumps({"process_id": "complaint_handling", "data": {**FORM, "customer_name": "李\x00"}})
    assert "空字符" in refused(post_case(client, token, nul))
    refused(client.get("/api/tasks?q=%00"))
    refused(client.get("/tasks/%00"))
    assert cases_of(site_db) == before


@pytest.mark.postgres
def test_the_services_refuse_nul_and_lone_surrogates_from_any_caller(db: Database) -> None:
    for bad in ("李\x00", "\ud800"):
        with pytest.raises(InvalidInput):
            services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), {**FORM, "customer_name": bad})
    assert services.search_cases(db, services.CaseQuery(), services.Actor.operator()).total == 0


def test_ids_beyond_the_integer_columns_are_not_found(app: Flask) -> None:
    client, _ = signed_in(app, "frontdesk")
    for number in (2**31, 2**63, 10**30):
        refused(client.get(f"/api/cases/{number}"), 404)
        refused(client.get(f"/cases/{number}"), 404)
    auditor, _ = signed_in(app, "auditor")
    refused(auditor.get(f"/audit/cases/{2**63}"), 404)


def test_odd_page_numbers_and_query_arguments_show_the_first_page(app: Flask) -> None:
    client, _ = signed_in(app, "frontdesk")
    for query in ("page=²", "page=١٢", "page=-1", "page=" + "9" * 400, "per_page=²"):
        assert client.get(f"/?{query}").status_code == 200, query
        assert client.get(f"/api/tasks?{query}").status_code == 200, query


def test_the_pager_keeps_the_query_but_never_takes_url_for_arguments_from_it(app: Flask, site_db: Database) -> None:
    for _ in range(3):
        services.start_instance(site_db, "complaint_handling", services.actor_for(site_db, "frontdesk"), FORM)
    client, _ = signed_in(app, "frontdesk")
    app.config["PER_PAGE"] = 1
    try:
        page = client.get("/?_external=1&_scheme=javascript&endpoint=x&_anchor=y&q=&page=2")
        auditor, _ = signed_in(app, "auditor")
        audit_page = auditor.get("/audit/?_external=1&_scheme=javascript&endpoint=x&page=2")
    finally:
        app.config["PER_PAGE"] = 25
    for response in (page, audit_page):
        assert response.status_code == 200
        links = re.findall(r'href="([^"]*page=[13][^"]*)"', response.get_data(as_text=True))
        assert links and all(link.startswith("/") and "javascript:" not in link for link in links)


def test_audit_dates_at_the_ends_of_the_calendar_are_refused_plainly(app: Flask) -> None:
    auditor, _ = signed_in(app, "auditor")
    for query in ("from=0001-01-01", "to=9999-12-31", "to=0001-01-01T00:00"):
        assert "范围" in refused(auditor.get(f"/audit/?{query}"))
    refused(auditor.get("/audit/export?format=csv&to=9999-12-31"))
    assert auditor.get("/audit/?from=9999-12-31T23:59").status_code == 200  # a search that finds nothing


def test_a_next_address_with_a_line_break_sends_the_user_to_the_inbox(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/login?next=%2F%0D%0Ax").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login?next=%2F%0D%0Ax", data={"username": "frontdesk", "password": "demo",
                                                          "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_request_body_over_the_limit_is_refused_with_413(app: Flask, site_db: Database,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMDESK_MAX_REQUEST_BYTES", str(256 * 1024))  # as an operator sets it: no app config
    client, token = signed_in(app, "frontdesk")
    before = cases_of(site_db)
    huge = json.dumps({"process_id": "complaint_handling", "data": {**FORM, "description": "长" * 300_000}})
    assert "过大" in refused(post_case(client, token, huge), 413)
    assert cases_of(site_db) == before


def test_a_text_field_without_maxlength_takes_the_centres_limit(app: Flask, site_db: Database,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMDESK_MAX_FIELD_CHARS", "500")
    client, token = signed_in(app, "frontdesk")
    long = json.dumps({"process_id": "complaint_handling", "data": {**FORM, "description": "长" * 501}})
    response = post_case(client, token, long)
    refused(response)
    assert "最多 500 个字符" in response.get_json()["field_errors"]["description"]
    ok = json.dumps({"process_id": "complaint_handling", "data": {**FORM, "description": "长" * 500}})
    assert post_case(client, token, ok).status_code == 201


def test_a_case_whose_data_outgrows_its_budget_is_refused(site_db: Database,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMDESK_MAX_CASE_BYTES", "20000")
    before = cases_of(site_db)
    with pytest.raises(InvalidInput, match="BPMDESK_MAX_CASE_BYTES"):
        services.start_instance(site_db, "complaint_handling", services.actor_for(site_db, "frontdesk"), {**FORM, "description": "长" * 9000})
    assert cases_of(site_db) == before
