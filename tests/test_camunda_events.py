"""Messages, signals, conditional events and business keys as Camunda 7 documents them.

Each diagram in tests/data/events is tiny; each test asserts the outcome Camunda's manual gives
(open tasks, variables, which instance got what), through the service layer, then the CLI, and
that `replay` agrees with the live path.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import services
from engine.errors import DeployError
from engine.services import MessageNotCorrelated

EVENTS = Path(__file__).with_name("data") / "events"
OPERATOR = services.Actor.operator()
LI = services.Actor("li", frozenset({"front-desk"}))
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def desk(empty_db):
    services.deploy_paths(empty_db, [EVENTS], OPERATOR)
    services.add_user(empty_db, "li", ["front-desk"], None, actor=OPERATOR)
    return empty_db


def open_tasks(db, instance_id: int) -> list[str]:
    return sorted(t.name for t in services.list_tasks(db, OPERATOR, instance_id=instance_id).items)


def complete(db, instance_id: int, name: str, data: dict | None = None) -> None:
    task = next(t for t in services.list_tasks(db, OPERATOR, instance_id=instance_id).items if t.name == name)
    services.complete(db, task.id, LI, data or {})


def replay_agrees(db, *instance_ids: int) -> None:
    for instance_id in instance_ids:
        result = services.replay(db, instance_id, OPERATOR)
        assert result.agrees, (instance_id, str(result.divergence))


@pytest.mark.postgres
def test_a_message_reaches_the_one_case_its_business_key_names(desk):
    first = services.start_instance(desk, "order_flow", OPERATOR, {"order": 1}, business_key="A-1")
    second = services.start_instance(desk, "order_flow", OPERATOR, {"order": 2}, business_key="B-2")
    assert services.show_instance(desk, first, OPERATOR).business_key == "A-1"

    with pytest.raises(MessageNotCorrelated, match=f"{first}, {second}"):
        services.correlate_message(desk, OPERATOR, "paymentReceived")  # two wait: ambiguous, nothing changes
    delivered = services.correlate_message(desk, OPERATOR, "paymentReceived", business_key="A-1",
                                           variables={"amount": 99})
    assert [(d.instance_id, d.element_id, d.started) for d in delivered] == [(first, "Wait_payment", False)]
    assert services.show_instance(desk, second, OPERATOR).active_elements == {"Wait_payment"}

    # a receive task, found by a process variable (Camunda's correlationKeys)
    services.correlate_message(desk, OPERATOR, "deliveryConfirmed", correlation={"order": 1})
    assert open_tasks(desk, first) == ["发货"]
    inbox = services.list_tasks(desk, OPERATOR, instance_id=first).items
    assert inbox[0].business_key == "A-1"
    with pytest.raises(MessageNotCorrelated, match="没有等待中的案件"):
        services.correlate_message(desk, OPERATOR, "deliveryConfirmed", correlation={"order": 1})
    replay_agrees(desk, first, second)


def test_correlate_all_delivers_to_every_matching_case(desk):
    cases = [services.start_instance(desk, "order_flow", OPERATOR, {"batch": "夜班"}) for _ in range(2)]
    other = services.start_instance(desk, "order_flow", OPERATOR, {"batch": "早班"})
    delivered = services.correlate_message(desk, OPERATOR, "paymentReceived", correlation={"batch": "夜班"},
                                           all_matching=True)
    assert sorted(d.instance_id for d in delivered) == cases
    assert services.show_instance(desk, other, OPERATOR).active_elements == {"Wait_payment"}
    replay_agrees(desk, *cases)


def test_boundary_messages_interrupt_or_not_and_carry_variables(desk):
    case = services.start_instance(desk, "order_flow", OPERATOR, {"order": 7}, business_key="C-7")
    services.correlate_message(desk, OPERATOR, "paymentReceived", business_key="C-7")
    services.correlate_message(desk, OPERATOR, "deliveryConfirmed", business_key="C-7")

    services.correlate_message(desk, OPERATOR, "customerNote", business_key="C-7", variables={"note": "请先电话"})
    assert open_tasks(desk, case) == ["发货", "回电"]  # non-interrupting: 发货 stays open
    ship = next(t for t in services.list_tasks(desk, OPERATOR, instance_id=case).items if t.name == "发货")
    assert services.get_task(desk, ship.id, LI).case_data["note"] == "请先电话"  # set on the whole instance
    services.correlate_message(desk, OPERATOR, "customerNote", business_key="C-7", variables={"note": "再打一次"})
    assert open_tasks(desk, case) == ["发货", "回电", "回电"]  # and it keeps listening while 发货 runs
    services.correlate_message(desk, OPERATOR, "orderCancelled", business_key="C-7", variables={"reason": "重复"})
    assert open_tasks(desk, case) == ["回电", "回电", "退款"]  # interrupting: 发货 is cancelled
    with pytest.raises(MessageNotCorrelated):  # 发货 is over: its boundary events wait no more
        services.correlate_message(desk, OPERATOR, "customerNote", business_key="C-7")
    refund = next(t for t in services.list_tasks(desk, OPERATOR, instance_id=case).items if t.name == "退款")
    assert services.get_task(desk, refund.id, LI).case_data["reason"] == "重复"
    replay_agrees(desk, case)


def test_a_message_throw_without_implementation_sends_nothing(desk):
    waiting = services.start_instance(desk, "order_flow", OPERATOR, {}, business_key="W")
    # order_flow throws "orderAnnounced" on the way; nothing waits for it and nothing fails
    assert services.show_instance(desk, waiting, OPERATOR).active_elements == {"Wait_payment"}
    with pytest.raises(MessageNotCorrelated):
        services.correlate_message(desk, OPERATOR, "orderAnnounced")


def test_a_message_start_event_starts_a_case_with_the_business_key(desk):
    delivered = services.correlate_message(desk, OPERATOR, "ticketIn", business_key="T-9", variables={"phone": "138"})
    assert len(delivered) == 1 and delivered[0].started and delivered[0].element_id == "Start_ticket"
    case = services.show_instance(desk, delivered[0].instance_id, OPERATOR)
    assert case.business_key == "T-9" and case.data["phone"] == "138"
    assert open_tasks(desk, case.id) == ["处理工单"]  # not the none start's 手工录入
    by_hand = services.start_instance(desk, "ticket_by_message", OPERATOR, {})
    assert open_tasks(desk, by_hand) == ["手工录入"]
    with pytest.raises(MessageNotCorrelated, match="没有等待中的案件"):
        services.correlate_message(desk, OPERATOR, "noSuchMessage")
    replay_agrees(desk, case.id, by_hand)


def test_a_process_whose_only_start_is_a_message_start_is_started_by_hand_through_it(desk):
    case = services.start_instance(desk, "callback_request", OPERATOR, {"phone": "139"})
    assert open_tasks(desk, case) == ["回电"]  # as Camunda's startProcessInstanceByKey: not left waiting
    again = services.correlate_message(desk, OPERATOR, "callbackRequested", variables={"phone": "137"})
    assert again[0].started and again[0].instance_id != case  # no case waits: the start event starts one
    replay_agrees(desk, case, again[0].instance_id)


@pytest.mark.postgres
def test_signals_are_broadcast_to_every_case_and_start_event(desk):
    on_patrol = services.start_instance(desk, "alarm_watch", OPERATOR, {})
    waiting = services.start_instance(desk, "alarm_watch", OPERATOR, {})
    complete(desk, waiting, "巡查")
    raiser = services.start_instance(desk, "alarm_raise", OPERATOR, {"floor": "3F"})
    complete(desk, raiser, "确认火情")  # the diagram throws fireAlarm: every catch gets it, at once

    assert open_tasks(desk, on_patrol) == ["现场核查"]  # boundary on 巡查
    assert open_tasks(desk, waiting) == ["现场核查"]  # intermediate catch
    logged = [t for t in services.list_tasks(desk, OPERATOR).items if t.name == "登记警报"]
    assert len(logged) == 1  # the signal start event started one case
    assert services.get_task(desk, logged[0].id, LI).case_data["floor"] == "3F"

    from_outside = services.send_signal(desk, OPERATOR, "fireAlarm", {"floor": "5F"})
    assert [d.started for d in from_outside] == [True]  # nobody waits any more: only the start event
    assert services.send_signal(desk, OPERATOR, "nobodyListens") == []
    replay_agrees(desk, on_patrol, waiting, raiser, logged[0].instance_id, from_outside[0].instance_id)


def test_a_conditional_event_waits_for_its_variable_then_fires(desk):
    case = services.start_instance(desk, "level_watch", OPERATOR, {})
    assert open_tasks(desk, case) == ["评定等级"]  # `level` does not exist yet: false, the case waits
    assert services.show_instance(desk, case, OPERATOR).status == "running"
    complete(desk, case, "评定等级", {"level": 5})
    assert open_tasks(desk, case) == ["上报主管"]
    low = services.start_instance(desk, "level_watch", OPERATOR, {})
    complete(desk, low, "评定等级", {"level": 2})
    assert open_tasks(desk, low) == [] and services.show_instance(desk, low, OPERATOR).active_elements == {"Level_high"}
    replay_agrees(desk, case, low)


def test_a_conditional_boundary_event_interrupts_when_another_branch_sets_its_variable(desk):
    case = services.start_instance(desk, "vip_watch", OPERATOR, {})
    assert open_tasks(desk, case) == ["普通处理", "登记客户"]  # `vip` not set: the boundary waits
    complete(desk, case, "登记客户", {"vip": True})
    assert open_tasks(desk, case) == ["VIP 处理"]  # 普通处理 was interrupted
    vip = services.list_tasks(desk, OPERATOR, instance_id=case).items[0]
    assert services.get_task(desk, vip.id, LI).case_data["vip"] is True  # the variable the other branch set
    replay_agrees(desk, case)


def test_camunda_variable_name_limits_when_a_condition_is_evaluated_again():
    from engine.compat.events import VariableCondition
    from engine.runtime import script_engine

    class Task:  # what has_fired reads of a waiting task
        def __init__(self):
            self.data, self.internal_data = {}, {}
            self.workflow = type("W", (), {"script_engine": script_engine(), "last_task": None})()
            self.workflow.top_workflow = self.workflow

        def _set_internal_data(self, **values):
            self.internal_data.update(values)

    condition, task = VariableCondition("level > 3 or urgent", "level"), Task()
    assert condition.has_fired(task) is False  # reached: evaluated (level missing: false)
    task.data["urgent"] = True
    assert condition.has_fired(task) is False  # only `urgent` changed: not evaluated again
    task.data["level"] = 1
    assert condition.has_fired(task) is True  # `level` changed: evaluated, true


@pytest.mark.parametrize("start, why", [
    ('<bpmn:startEvent id="S"><bpmn:conditionalEventDefinition><bpmn:condition>${x}</bpmn:condition>'
     '</bpmn:conditionalEventDefinition></bpmn:startEvent>', "conditional start event"),
])
def test_constructs_without_camunda_semantics_here_are_refused_with_file_and_line(empty_db, tmp_path, start, why):
    path = tmp_path / "refused.bpmn"
    path.write_text(f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    {start}
    <bpmn:subProcess id="Esp" triggeredByEvent="true">
      <bpmn:startEvent id="Esp_start"><bpmn:messageEventDefinition messageRef="M"/></bpmn:startEvent>
    </bpmn:subProcess>
  </bpmn:process>
  <bpmn:message id="M" name="m"/>
</bpmn:definitions>''', encoding="utf-8")
    with pytest.raises(DeployError) as error:
        services.deploy_paths(empty_db, [path], OPERATOR)
    problems = str(error.value)
    assert f"refused.bpmn:4: " in problems and why in problems
    assert "refused.bpmn:6: " not in problems  # a message event sub-process runs


def test_a_message_start_name_another_process_starts_with_is_refused_at_deploy(desk, tmp_path):
    copy = tmp_path / "copy.bpmn"
    copy.write_text((EVENTS / "tickets.bpmn").read_text(encoding="utf-8")
                    .replace('id="ticket_by_message"', 'id="ticket_copy"'), encoding="utf-8")
    with pytest.raises(DeployError) as error:
        services.deploy_paths(desk, [copy], OPERATOR)
    assert 'copy.bpmn:9: message start event "Start_ticket" listens for message "ticketIn"' in str(error.value)
    assert "ticket_by_message" in str(error.value)
    assert "ticket_copy" not in [d.process_id for d in services.list_definitions(desk)]
    assert services.deploy_paths(desk, [EVENTS], OPERATOR).processes  # a new version of the same process is fine


@pytest.fixture
def cli(tmp_path):
    env = {**os.environ, "BPMDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PYTHONPATH": str(ROOT)}

    def run(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", *args],
                                cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
        assert "Traceback" not in result.stderr
        return result

    assert run("init").returncode == 0 and run("deploy", str(EVENTS)).returncode == 0
    return run


def test_the_cli_correlates_messages_and_sends_signals(cli):
    case = cli("start", "order_flow", "--business-key", "K-1", "--data", '{"order": 3}').stdout.strip()
    assert "business key: K-1" in cli("show", case).stdout
    delivered = cli("correlate", "paymentReceived", "--business-key", "K-1", "--data", '{"amount": 5}')
    assert delivered.returncode == 0 and f"delivered to case {case} at Wait_payment" in delivered.stdout
    again = cli("correlate", "paymentReceived", "--business-key", "K-1")
    assert again.returncode == 2 and "没有等待中的案件" in again.stderr
    assert cli("correlate", "deliveryConfirmed", "--correlate", '{"order": 3}').returncode == 0
    shown = json.loads(cli("show", case, "--json").stdout)
    assert shown["business_key"] == "K-1" and shown["data"]["amount"] == 5
    assert [t["name"] for t in shown["open_tasks"]] == ["发货"]
    bad = cli("correlate", "x", "--correlate", "[1]")
    assert bad.returncode == 2 and "--correlate must be a JSON object" in bad.stderr

    started = cli("signal", "fireAlarm", "--data", '{"floor": "1F"}')
    assert started.returncode == 0 and "started case" in started.stdout
    assert "no case waits" in cli("signal", "nobodyListens").stdout
    assert cli("replay", case).returncode == 0


def test_the_api_and_pages_start_with_a_business_key_correlate_and_signal(desk, tmp_path):
    from webui import create_app

    services.add_user(desk, "desk", ["front-desk"], "desk-pass-1", actor=OPERATOR)
    app = create_app({"DATABASE_URL": desk.url, "VAR_DIR": tmp_path, "TESTING": True})
    client = app.test_client()
    headers = {"X-CSRFToken": client.get("/api/csrf").get_json()["csrf_token"]}
    signed_in = client.post("/api/login", json={"username": "desk", "password": "desk-pass-1"}, headers=headers)
    headers = {"X-CSRFToken": signed_in.get_json()["csrf_token"]}

    started = client.post("/api/cases", json={"process_id": "order_flow", "data": {"order": 8},
                                              "business_key": "WEB-8"}, headers=headers)
    case = started.get_json()["id"]
    for message in ("paymentReceived", "deliveryConfirmed"):
        answer = client.post("/api/messages", json={"messageName": message, "businessKey": "WEB-8",
                                                    "processVariables": {"paid": True}}, headers=headers)
        assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["deliveries"] == [{"instance_id": case, "element_id": "Receive_confirmation",
                                                "started": False}]
    assert "业务键 WEB-8" in client.get("/").get_data(as_text=True)
    assert "WEB-8" in client.get(f"/cases/{case}").get_data(as_text=True)

    missing = client.post("/api/messages", json={"name": "paymentReceived", "business_key": "WEB-8"}, headers=headers)
    assert missing.status_code == 400 and "没有等待中的案件" in missing.get_json()["error"]
    assert client.post("/api/messages", json={"name": ""}, headers=headers).status_code == 400
    assert client.post("/api/messages", json={"name": "x", "variables": [1]}, headers=headers).status_code == 400
    signalled = client.post("/api/signals", json={"name": "fireAlarm", "variables": {"floor": "2F"}}, headers=headers)
    assert signalled.status_code == 200 and signalled.get_json()["deliveries"][0]["started"] is True
    assert client.post("/api/signals", json={"name": "fireAlarm"}).status_code == 400  # no CSRF token


def test_event_sub_processes_start_on_their_message_or_signal_with_camunda_scope_rules(desk):
    case = services.start_instance(desk, "complaint_watch", OPERATOR, {"room": "3-201"}, business_key="P-1")
    assert open_tasks(desk, case) == ["处理投诉"]
    services.send_signal(desk, OPERATOR, "urgentNotice", {"level": "高"})
    assert open_tasks(desk, case) == ["处理投诉", "通知经理"]  # non-interrupting: 处理投诉 goes on
    services.send_signal(desk, OPERATOR, "urgentNotice", {"level": "最高"})
    assert open_tasks(desk, case) == ["处理投诉", "通知经理", "通知经理"]  # and it may start again
    services.correlate_message(desk, OPERATOR, "complaintWithdrawn", business_key="P-1", variables={"why": "已解决"})
    assert open_tasks(desk, case) == ["登记撤诉"]  # interrupting: the rest of the scope is cancelled
    record = next(t for t in services.list_tasks(desk, OPERATOR, instance_id=case).items)
    assert services.get_task(desk, record.id, LI).case_data["room"] == "3-201"
    complete(desk, case, "登记撤诉")
    assert services.show_instance(desk, case, OPERATOR).status == "completed"

    quiet = services.start_instance(desk, "complaint_watch", OPERATOR, {}, business_key="P-2")
    complete(desk, quiet, "处理投诉")  # the scope ends: its event sub-processes stop waiting
    assert services.show_instance(desk, quiet, OPERATOR).status == "completed"
    with pytest.raises(MessageNotCorrelated):
        services.correlate_message(desk, OPERATOR, "complaintWithdrawn", business_key="P-2")
    replay_agrees(desk, case, quiet)
