"""Camunda 7 deploy fidelity and pass-through tasks: diagrams run as Camunda runs them, or are refused.

Each test deploys a tiny diagram through the service layer (and the CLI where an operator would)
and asserts what Camunda 7's user guide says happens: which tasks are open, the case's status.
"""
from __future__ import annotations

import json

import pytest
from engine import services
from engine.compat import SourceFile
from engine.errors import DeployError

from camunda_cases import ROOT, cli, definitions, process, user_task


def deploy(db, *files: tuple[str, bytes]):
    return services.deploy_files(db, [SourceFile(name, content) for name, content in files], services.Actor.operator("test"))


def open_tasks(db, instance_id: int) -> list[str]:
    return sorted(t.name for t in services.list_tasks(db, services.Actor.operator(), instance_id=instance_id).items)


def refused(db, *files: tuple[str, bytes]) -> list[str]:
    with pytest.raises(DeployError) as raised:
        deploy(db, *files)
    return raised.value.problems


NO_IDS = definitions('''<bpmn:process id="noids" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:userTask id="check" name="核对" camunda:assignee="demo"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow sourceRef="start" targetRef="check"/>
<bpmn:sequenceFlow sourceRef="check" targetRef="end"/>
</bpmn:process>''')


def test_sequence_flows_without_id_run_as_drawn(empty_db, tmp_path):
    report = deploy(empty_db, ("noids.bpmn", NO_IDS))
    assert any('generated id "Flow_start_check"' in note for note in report.translations)
    instance = services.start_instance(empty_db, "noids", services.Actor.operator())
    assert open_tasks(empty_db, instance) == ["核对"]
    assert services.show_instance(empty_db, instance, services.Actor.operator()).status == "running"

    (tmp_path / "noids.bpmn").write_bytes(NO_IDS)
    bpmdesk = cli(tmp_path)
    deployed = bpmdesk("deploy", "-v", "noids.bpmn")
    assert deployed.returncode == 0 and 'noids.bpmn:7: a sequenceFlow without id runs with the generated id' \
        in deployed.stderr
    started = bpmdesk("start", "noids").stdout.strip()
    assert [t["name"] for t in json.loads(bpmdesk("tasks", "--instance", started, "--json").stdout)] == ["核对"]


def test_bpmn20_xml_files_deploy_like_bpmn_files_also_from_folders(tmp_path):
    folder = tmp_path / "diagrams"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "review.bpmn20.xml").write_bytes(
        definitions(process("review", user_task("look", "审阅"))))
    (folder / "notes.xml").write_text("<notes/>")  # not a diagram: Camunda would not deploy it either
    bpmdesk = cli(tmp_path)
    deployed = bpmdesk("deploy", str(folder))
    assert deployed.returncode == 0, deployed.stderr
    assert deployed.stdout.strip() == "deployed review v1"
    assert bpmdesk("deploy", str(folder / "sub" / "review.bpmn20.xml")).stdout.strip() == "unchanged review v1"


def test_prefixed_qname_references_resolve(empty_db):
    body = process("q", user_task("work", "处理"), extra=(
        '<bpmn:boundaryEvent id="late" attachedToRef="tns:work" cancelActivity="false">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>'
        '</bpmn:boundaryEvent>'
        '<bpmn:sequenceFlow id="toRemind" sourceRef="late" targetRef="remind"/>'
        '<bpmn:userTask id="remind" name="催办" camunda:assignee="demo"/>'
        '<bpmn:sequenceFlow id="remindEnd" sourceRef="remind" targetRef="end2"/><bpmn:endEvent id="end2"/>'))
    deploy(empty_db, ("q.bpmn", definitions(body)))
    instance = services.start_instance(empty_db, "q", services.Actor.operator())
    (timer,) = services.show_instance(empty_db, instance, services.Actor.operator()).timers
    assert timer.element_id == "late" and timer.attached_to is not None


CHILD = definitions(process("child", user_task("childWork", "子流程任务"),
                            attributes='camunda:versionTag="1.0"'))
CHILD_V2 = definitions(process("child", user_task("childWork", "子流程任务（新版）"),
                               attributes='camunda:versionTag="2.0"'))


def parent(binding: str = "") -> bytes:
    return definitions(process("parent", f'<bpmn:callActivity id="call" calledElement="child" {binding}/>'))


@pytest.mark.parametrize("binding, expected", [
    ("", "子流程任务（新版）"),  # latest
    ('camunda:calledElementBinding="latest"', "子流程任务（新版）"),
    ('camunda:calledElementBinding="version" camunda:calledElementVersion="1"', "子流程任务"),
    ('camunda:calledElementBinding="versionTag" camunda:calledElementVersionTag="1.0"', "子流程任务"),
])
def test_a_call_activity_calls_a_process_deployed_earlier_with_its_binding(empty_db, binding, expected):
    deploy(empty_db, ("child.bpmn", CHILD))
    deploy(empty_db, ("child.bpmn", CHILD_V2))
    report = deploy(empty_db, ("parent.bpmn", parent(binding)))
    assert [p.process_id for p in report.processes] == ["parent"]
    instance = services.start_instance(empty_db, "parent", services.Actor.operator())
    assert open_tasks(empty_db, instance) == [expected]


def test_call_bindings_that_find_nothing_are_refused_naming_what_is_deployed(empty_db):
    deploy(empty_db, ("child.bpmn", CHILD))
    (problem,) = refused(empty_db, ("parent.bpmn", parent(
        'camunda:calledElementBinding="version" camunda:calledElementVersion="7"')))
    assert problem.startswith("parent.bpmn:5: callActivity \"call\" calls process \"child\", but no deployed "
                              "version of it has v7 (deployed: v1)")
    (problem,) = refused(empty_db, ("parent.bpmn", parent('camunda:calledElementBinding="deployment"')))
    assert 'not in this deployment (calledElementBinding="deployment"): deploy its file together' in problem
    (problem,) = refused(empty_db, ("parent.bpmn", definitions(process(
        "parent", '<bpmn:callActivity id="call" calledElement="nobody"/>'))))
    assert 'calls process "nobody", which is neither in this deployment nor deployed earlier' in problem


DECISION = b'''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x">
<decision id="fee" name="Fee"><decisionTable id="t" hitPolicy="FIRST">
<input id="i"><inputExpression id="ie" typeRef="string"><text>kind</text></inputExpression></input>
<output id="o" name="fee" typeRef="integer"/>
<rule id="r1"><inputEntry id="e1"><text>"big"</text></inputEntry><outputEntry id="o1"><text>100</text></outputEntry></rule>
<rule id="r2"><inputEntry id="e2"><text>-</text></inputEntry><outputEntry id="o2"><text>10</text></outputEntry></rule>
</decisionTable></decision></definitions>'''


def decider(pid: str) -> bytes:
    return definitions(process(pid, '<bpmn:businessRuleTask id="rate" camunda:decisionRef="fee"/>',
                               user_task("pay", "收费")))


def test_a_decision_deployed_earlier_serves_a_process_deployed_alone(empty_db):
    deploy(empty_db, ("first.bpmn", decider("first")), ("fee.dmn", DECISION))
    deploy(empty_db, ("second.bpmn", decider("second")))
    instance = services.start_instance(empty_db, "second", services.Actor.operator(), data={"kind": "big"})
    assert services.show_instance(empty_db, instance, services.Actor.operator()).data["fee"] == 100


def test_form_validators_that_cannot_run_are_refused_at_deploy(tmp_path):
    form = ('<bpmn:extensionElements><camunda:formData><camunda:formField id="phone" label="电话" '
            'type="string"><camunda:validation><camunda:constraint name="validator" config="com.acme.Phone"/>'
            '</camunda:validation></camunda:formField></camunda:formData></bpmn:extensionElements>')
    (tmp_path / "form.bpmn").write_bytes(definitions(process("form", user_task("ask", "登记", inner=form))))
    deployed = cli(tmp_path)("deploy", "form.bpmn")
    assert deployed.returncode == 2
    assert ('\nerror: form.bpmn:5: userTask "ask" (登记) form: 表单字段 phone（电话）：不支持自定义校验器'
            "（validator com.acme.Phone") in deployed.stderr
    assert "请改用 required" in deployed.stderr


def test_plain_and_manual_tasks_complete_at_once(empty_db, tmp_path):
    content = definitions(process("pass", '<bpmn:task id="note" name="记录"/>',
                                  '<bpmn:manualTask id="phone" name="电话联系"/>', user_task("close", "结案")))
    deploy(empty_db, ("pass.bpmn", content))
    instance = services.start_instance(empty_db, "pass", services.Actor.operator())
    assert open_tasks(empty_db, instance) == ["结案"]
    assert {"note", "phone"} <= services.show_instance(empty_db, instance, services.Actor.operator()).completed_elements

    (tmp_path / "pass.bpmn").write_bytes(definitions(process("pass", '<bpmn:manualTask id="phone"/>')))
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", "pass.bpmn").returncode == 0
    started = bpmdesk("start", "pass").stdout.strip()
    assert json.loads(bpmdesk("show", started, "--json").stdout)["status"] == "completed"


@pytest.mark.parametrize("node, expected", [
    ('<bpmn:sendTask id="send" messageRef="m"/>', 'sendTask "send" has no implementation'),
    ('<bpmn:sendTask id="send"/>', 'sendTask "send" has no implementation'),
    ('<bpmn:serviceTask id="svc"/>', 'serviceTask "svc" has no implementation'),
])
def test_send_and_service_tasks_without_implementation_are_refused(empty_db, node, expected):
    found = refused(empty_db, ("s.bpmn", definitions(process("s", node) + '<bpmn:message id="m" name="m"/>')))
    assert any(problem.startswith("s.bpmn:5: ") and expected in problem for problem in found), found


def test_deploy_v_lists_every_construct_with_what_bpmdesk_does_with_it(tmp_path):
    (tmp_path / "v.bpmn").write_bytes(definitions(process(
        "v", user_task("t", "登记", 'camunda:assignee="demo" camunda:asyncBefore="true"'),
        '<bpmn:manualTask id="m"/>', extra='<bpmn:textAnnotation id="a"><bpmn:text>注</bpmn:text>'
                                          "</bpmn:textAnnotation>")))
    deployed = cli(tmp_path)("deploy", "-v", "v.bpmn")
    assert deployed.returncode == 0, deployed.stderr
    lines = deployed.stdout.splitlines()
    assert lines[:2] == ["deployed v v1", "v.bpmn:"]
    for expected in ("  runs     bpmn:userTask ×1", "  runs     bpmn:manualTask ×1", "  runs     camunda:assignee ×1",
                     "  ignored  camunda:asyncBefore ×1 — job-executor setting",
                     "  ignored  bpmn:textAnnotation ×1 — documentation only"):
        assert any(line.startswith(expected) for line in lines), (expected, lines)


def test_every_construct_of_the_centres_processes_is_accounted_for(empty_db):
    report = services.deploy_paths(empty_db, [ROOT / "processes"], services.Actor.operator())
    assert report.constructs and all(c.verdict in ("runs", "ignored")
                                     for constructs in report.constructs.values() for c in constructs)


def test_a_new_version_of_a_called_process_is_called_by_callers_bound_to_latest(empty_db, tmp_path):
    deploy(empty_db, ("child.bpmn", CHILD))
    deploy(empty_db, ("parent.bpmn", parent()))
    deploy(empty_db, ("pinned.bpmn", parent('camunda:calledElementBinding="version" camunda:calledElementVersion="1"')
                      .replace(b'id="parent"', b'id="pinned"')))
    report = deploy(empty_db, ("child.bpmn", CHILD_V2))
    assert sorted((p.process_id, p.version, p.changed) for p in report.processes) == [
        ("child", 2, True), ("parent", 2, True)]  # pinned keeps calling v1: not redeployed
    assert open_tasks(empty_db, services.start_instance(empty_db, "parent", services.Actor.operator())) == [
        "子流程任务（新版）"]
    assert open_tasks(empty_db, services.start_instance(empty_db, "pinned", services.Actor.operator())) == [
        "子流程任务"]
