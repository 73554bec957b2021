"""Forms as staff fill them in the browser (Flask test client): 是/否 answers, dates and times typed
the natural way, money bounded by the diagram, and nothing typed lost on a refused submission."""
from __future__ import annotations

import re
from typing import Iterator

import pytest
from flask import Flask

from engine import clock, services
from engine.services import TaskFilter
from engine.store import Database
from test_webui_app import client_for, post, text, token_of
from webui import create_app
from webui_site import ROOT, prepared_database

T0 = "2026-03-02T09:00:00+08:00"
RETURN = {"customer_name": "李四", "phone": "13900000002", "order_no": "SO-1001", "request_kind": "return",
          "request_reason": "尺寸不合适", "price": "1,299.00", "order_kind": "ordinary",
          "ordered_at": "2026-02-20T10:00", "delivered": "true", "delivered_on": "2026-02-27",
          "packaging_intact": "true"}


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('forms') / 'bpmdesk.db'}",
                                 {"frontdesk", "engineer", "engineer2", "storemgr", "sales", "finance", "gm"})
    services.deploy_paths(database, [ROOT / "processes" / "order_cancellation_return.bpmn",
                                     ROOT / "processes" / "return_policy.dmn",
                                     ROOT / "processes" / "product_repair.bpmn", ROOT / "processes" / "escalation_policy.dmn"], services.Actor.operator("test"))
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def app(site_db: Database, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    return create_app({"DATABASE_URL": site_db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    with clock.frozen(T0):
        yield


def value_of(page: str, field: str) -> str:
    match = re.search(rf'<input[^>]*name="{field}"[^>]*value="([^"]*)"', page)
    assert match, f"no input {field}"
    return match.group(1)


def test_a_yes_no_question_is_two_choices_and_a_required_one_starts_unanswered(app: Flask) -> None:
    page = text(client_for(app, "frontdesk").get("/start/complaint_handling"))
    choices = re.findall(r'<input type="radio" name="read_back_confirmed" value="(\w+)"[^>]*>', page)
    assert choices == ["true", "false"]
    assert not re.search(r'name="read_back_confirmed"[^>]*checked', page)


def test_an_order_time_in_words_is_refused_beside_the_field_and_every_value_is_kept(app: Flask) -> None:
    client = client_for(app, "frontdesk")
    form = "/start/order_cancellation_return"
    response = post(client, form, {**RETURN, "ordered_at": "昨天下午3点"}, via=form)
    page = text(response)
    assert response.status_code == 400
    assert re.search(r'id="f-ordered_at-error"[^>]*>「下单时间」必须是日期和时间，如 2026-01-05 14:30<', page)
    assert re.search(r'<input type="text" id="f-ordered_at" name="ordered_at"\s+value="昨天下午3点"', page)
    assert value_of(page, "customer_name") == "李四" and value_of(page, "price") == "1,299.00"
    assert value_of(page, "delivered_on") == "2026-02-27"
    assert re.search(r'name="packaging_intact" value="true"[^>]*checked', page)
    response = post(client, form, RETURN, via=form)
    assert response.status_code == 302
    task_id = re.search(r"/tasks/([^#]+)#task-form$", response.headers["Location"]).group(1)
    db = app.extensions["bpmdesk.db"]
    case = services.get_task(db, task_id, services.actor_for(db, "frontdesk")).task.instance_id
    assert services.show_instance(db, case, services.Actor.operator()).data["ordered_at"] == "2026-02-20T10:00+08:00"


def returned_for_refund(db: Database) -> tuple[int, services.TaskItem]:
    case = services.start_instance(db, "order_cancellation_return", services.actor_for(db, "frontdesk"), RETURN)
    steps = [("Task_TryResolve", "frontdesk", {"suggestion": "建议换货"}),
             ("Task_FillReturnForm", "storemgr", {"receipt_provided": "true", "pickup_slip_provided": "true",
                                                  "delivery_slip_provided": "true", "customer_signed": "true"}),
             ("Task_InspectGoods", "storemgr", {"goods_condition": "完好", "goods_confirmed": "true"}),
             ("Task_ApproveReturn", "sales", {"approved": "true"})]
    for element, who, data in steps:
        task = next(t for t in services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items if t.element_id == element)
        services.complete(db, task.id, services.actor_for(db, who), data)
    return case, next(t for t in services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items)


def test_a_refund_above_the_price_is_refused_with_the_price_named(app: Flask, site_db: Database) -> None:
    case, filing = returned_for_refund(site_db)
    client = client_for(app, "finance")
    page = text(client.get(f"/tasks/{filing.id}"))
    assert 'inputmode="decimal"' in page
    response = post(client, f"/tasks/{filing.id}/complete", {"refund_amount": "1300", "filed": "true"},
                    via=f"/tasks/{filing.id}")
    page = text(response)
    assert response.status_code == 400 and "「退款金额（元）」不能大于「销售价格（元）」（1,299.00）" in page
    assert value_of(page, "refund_amount") == "1300"
    assert "1,299.00 元" in page  # the price, as the case data shows it
    response = post(client, f"/tasks/{filing.id}/complete", {"refund_amount": "1299", "filed": "false"},
                    via=f"/tasks/{filing.id}")
    assert response.status_code == 302
    assert services.show_instance(site_db, case, services.Actor.operator()).data["filed"] is False


def test_a_submission_someone_else_beat_keeps_what_was_typed_and_says_what_next(app: Flask, site_db: Database) -> None:
    case = services.start_instance(site_db, "complaint_handling", services.actor_for(site_db, "frontdesk"), {
        "customer_name": "王女士", "phone": "13700000000", "room": "2-1-101", "channel": "phone",
        "occurred_at": "今天上午", "place": "大堂", "description": "灯不亮", "read_back_confirmed": "true"})
    for name, data in (("投诉分类", {"complaint_kind": "soft"}), ("通知责任部门", {"responsible_dept": "engineering"})):
        task = next(t for t in services.list_tasks(site_db, services.Actor.operator(), TaskFilter(instance_id=case)).items if t.name == name)
        services.complete(site_db, task.id, services.actor_for(site_db, "frontdesk"), data)
    pickup = next(t for t in services.list_tasks(site_db, services.Actor.operator(), TaskFilter(instance_id=case)).items)
    services.complete(site_db, pickup.id, services.actor_for(site_db, "engineer"), {})
    reaction = next(t for t in services.list_tasks(site_db, services.Actor.operator(), TaskFilter(instance_id=case)).items
                    if t.name == "软性投诉做出反应")
    client = client_for(app, "engineer")
    token = token_of(client.get(f"/tasks/{reaction.id}").get_data(as_text=True))
    services.claim(site_db, reaction.id, services.actor_for(site_db, "engineer2"))
    response = client.post(f"/tasks/{reaction.id}/complete", data={"reaction_note": "已派人更换灯泡", "csrf_token": token})
    page = text(response)
    assert response.status_code == 409 and "已被 engineer2 认领" in page
    assert re.search(r'id="kept-values".*反应及处理措施.*已派人更换灯泡', page, re.S)
    assert f'href="/cases/{case}"' in page and "返回待办任务" in page
