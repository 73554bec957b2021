"""`camunda:errorCodeVariable` / `errorMessageVariable` (and `escalationCodeVariable`) get the thrown
code and message where the event is caught, as Camunda 7 sets them (docs.camunda.org 7.2x,
"Error Events": "the error code and message are stored in the given variables")."""
from __future__ import annotations

import json

import pytest

from engine import services
from engine.compat import SourceFile
from engine.demo import ensure_demo_users

from camunda_cases import cli, definitions, user_task


def diagram(catch: str) -> bytes:
    return definitions(f'''<bpmn:error id="broken" name="Broken" errorCode="E_BROKEN" camunda:errorMessage="设备损坏"/>
<bpmn:escalation id="late" name="Late" escalationCode="ESC_LATE"/>
<bpmn:process id="errs" isExecutable="true">
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="sub"/>
<bpmn:subProcess id="sub"><bpmn:startEvent id="s0"/><bpmn:sequenceFlow id="s1" sourceRef="s0" targetRef="which"/>
  <bpmn:exclusiveGateway id="which" default="to_error"/>
  <bpmn:sequenceFlow id="to_error" sourceRef="which" targetRef="fail"/>
  <bpmn:sequenceFlow id="to_esc" sourceRef="which" targetRef="raise">
    <bpmn:conditionExpression>${{kind == 'escalate'}}</bpmn:conditionExpression></bpmn:sequenceFlow>
  <bpmn:endEvent id="fail"><bpmn:errorEventDefinition errorRef="broken"/></bpmn:endEvent>
  <bpmn:endEvent id="raise"><bpmn:escalationEventDefinition escalationRef="late"/></bpmn:endEvent>
</bpmn:subProcess>
<bpmn:boundaryEvent id="caught" attachedToRef="sub">{catch}</bpmn:boundaryEvent>
<bpmn:boundaryEvent id="escalated" attachedToRef="sub">
  <bpmn:escalationEventDefinition camunda:escalationCodeVariable="esc"/></bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f1" sourceRef="caught" targetRef="repair"/>
<bpmn:sequenceFlow id="f2" sourceRef="escalated" targetRef="repair"/>
{user_task("repair", "处理异常", 'camunda:assignee="frontdesk"')}
<bpmn:sequenceFlow id="f3" sourceRef="repair" targetRef="end"/>
<bpmn:sequenceFlow id="f4" sourceRef="sub" targetRef="end"/><bpmn:endEvent id="end"/>
</bpmn:process>''')


@pytest.mark.parametrize("catch", [
    '<bpmn:errorEventDefinition camunda:errorCodeVariable="code" camunda:errorMessageVariable="message"/>',
    '<bpmn:errorEventDefinition errorRef="broken" camunda:errorCodeVariable="code" '
    'camunda:errorMessageVariable="message"/>',
], ids=["catch-all", "by-code"])
def test_an_error_boundary_event_sets_the_code_and_message_variables(empty_db, catch):
    ensure_demo_users(empty_db)
    report = services.deploy_files(empty_db, [SourceFile("errs.bpmn", diagram(catch))], services.Actor.operator())
    assert not any("errorCodeVariable" in warning for warning in report.warnings)
    case = services.start_instance(empty_db, "errs", services.Actor.operator(), {"kind": "error"})
    view = services.show_instance(empty_db, case, services.Actor.operator())
    assert [t.name for t in view.open_tasks] == ["处理异常"]
    assert view.data["code"] == "E_BROKEN" and view.data["message"] == "设备损坏"
    escalated = services.start_instance(empty_db, "errs", services.Actor.operator(), {"kind": "escalate"})
    assert services.show_instance(empty_db, escalated, services.Actor.operator()).data["esc"] == "ESC_LATE"
    for instance in (case, escalated):
        replayed = services.replay(empty_db, instance, services.Actor.operator())
        assert replayed.compared and replayed.divergence is None


def test_error_variables_from_the_command_line(tmp_path):
    (tmp_path / "errs.bpmn").write_bytes(diagram('<bpmn:errorEventDefinition camunda:errorCodeVariable="code"/>'))
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", "errs.bpmn").returncode == 0
    instance = bpmdesk("start", "errs", "--data", '{"kind": "error"}').stdout.strip()
    assert json.loads(bpmdesk("show", instance, "--json").stdout)["data"]["code"] == "E_BROKEN"


EXTERNAL = definitions(f'''<bpmn:process id="ext_err" isExecutable="true">
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="pay"/>
<bpmn:serviceTask id="pay" camunda:type="external" camunda:topic="pay"/>
<bpmn:boundaryEvent id="declined" attachedToRef="pay">
  <bpmn:errorEventDefinition camunda:errorCodeVariable="code" camunda:errorMessageVariable="message"/></bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f1" sourceRef="declined" targetRef="call"/>
{user_task("call", "联系顾客", 'camunda:assignee="frontdesk"')}
<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="end"/>
<bpmn:sequenceFlow id="f3" sourceRef="pay" targetRef="end"/><bpmn:endEvent id="end"/>
</bpmn:process>''')


def test_an_external_tasks_bpmn_error_sets_its_code_and_message_where_caught(empty_db):
    from engine.services import external
    services.deploy_files(empty_db, [SourceFile("ext_err.bpmn", EXTERNAL)], services.Actor.operator())
    services.add_user(empty_db, "w", ["worker"], actor=services.Actor.operator())
    worker = services.Actor("w", {"worker"})
    case = services.start_instance(empty_db, "ext_err", services.Actor.operator())
    (task,) = external.fetch_and_lock(empty_db, worker, "w", [external.TopicRequest("pay", 60_000)], 1)
    assert external.bpmn_error(empty_db, worker, task.id, "w", "CARD_DECLINED", "卡已过期", {})
    data = services.show_instance(empty_db, case, services.Actor.operator()).data
    assert data["code"] == "CARD_DECLINED" and data["message"] == "卡已过期"
    assert services.replay(empty_db, case, services.Actor.operator()).agrees
