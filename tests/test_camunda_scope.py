"""One variable scope per process instance (Camunda 7): what a branch sets, the others see at once."""
from __future__ import annotations

import json

from engine import services
from engine.compat import SourceFile

from camunda_cases import cli, definitions, user_task

FORM = ('<bpmn:extensionElements><camunda:formData><camunda:formField id="x" label="登记号" type="string"/>'
        "</camunda:formData></bpmn:extensionElements>")
BRANCHES = definitions(f'''<bpmn:process id="par" isExecutable="true">
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:sequenceFlow id="toA" sourceRef="fork" targetRef="A"/>
<bpmn:sequenceFlow id="toS" sourceRef="fork" targetRef="S"/>
<bpmn:sequenceFlow id="toB" sourceRef="fork" targetRef="B"/>
{user_task("A", "登记", inner=FORM)}
<bpmn:scriptTask id="S" scriptFormat="python"><bpmn:script>stamp = "已盖章"</bpmn:script></bpmn:scriptTask>
{user_task("B", "复核")}
<bpmn:sequenceFlow id="AJ" sourceRef="A" targetRef="join"/>
<bpmn:sequenceFlow id="SJ" sourceRef="S" targetRef="join"/>
<bpmn:sequenceFlow id="BG" sourceRef="B" targetRef="g"/>
<bpmn:exclusiveGateway id="g" default="no"/>
<bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="m"><bpmn:conditionExpression>${{x == '甲'}}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="no" sourceRef="g" targetRef="redo"/>
{user_task("redo", "补登记")}<bpmn:sequenceFlow id="RM" sourceRef="redo" targetRef="m"/>
<bpmn:exclusiveGateway id="m"/><bpmn:sequenceFlow id="MJ" sourceRef="m" targetRef="join"/>
<bpmn:parallelGateway id="join"/>
<bpmn:sequenceFlow id="JE" sourceRef="join" targetRef="last"/>{user_task("last", "结案")}
<bpmn:sequenceFlow id="LE" sourceRef="last" targetRef="end"/><bpmn:endEvent id="end"/>
</bpmn:process>''')


def test_a_value_set_in_one_branch_is_seen_at_once_by_the_other(empty_db):
    services.add_user(empty_db, "demo", ["engineering"], actor=services.Actor.operator())
    services.deploy_files(empty_db, [SourceFile("par.bpmn", BRANCHES)], services.Actor.operator("t"))
    instance = services.start_instance(empty_db, "par", services.Actor.operator())
    tasks = {t.name: t for t in services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items}
    assert set(tasks) == {"登记", "复核"}
    assert services.get_task(empty_db, tasks["复核"].id, services.actor_for(empty_db, "demo")).case_data["stamp"] == "已盖章"  # the script's

    services.complete(empty_db, tasks["登记"].id, services.actor_for(empty_db, "demo"), {"x": "甲"})
    assert services.show_instance(empty_db, instance, services.Actor.operator()).data == {"stamp": "已盖章", "x": "甲"}  # 复核 sees x
    services.complete(empty_db, tasks["复核"].id, services.actor_for(empty_db, "demo"))  # its gateway reads x set by the other branch
    assert [t.name for t in services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items] == ["结案"]
    replayed = services.replay(empty_db, instance, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None


def test_shared_scope_from_the_command_line(tmp_path):
    (tmp_path / "par.bpmn").write_bytes(BRANCHES)
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", "par.bpmn").returncode == 0
    assert bpmdesk("users", "add", "demo", "--groups", "engineering").returncode == 0
    instance = bpmdesk("start", "par", "--data", '{"x": ""}').stdout.strip()
    tasks = {t["name"]: t["id"] for t in json.loads(bpmdesk("tasks", "--instance", instance, "--json").stdout)}
    assert bpmdesk("complete", tasks["复核"], "--as", "demo").returncode == 0  # x still empty: 补登记
    assert bpmdesk("complete", tasks["登记"], "--as", "demo", "--data", '{"x": "乙"}').returncode == 0
    (redo,) = json.loads(bpmdesk("tasks", "--instance", instance, "--json").stdout)
    assert redo["name"] == "补登记"
    assert json.loads(bpmdesk("show", instance, "--json").stdout)["data"]["x"] == "乙"


LEVELS = b'''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="D" namespace="http://camunda.org/schema/1.0/dmn">
<decision id="level" name="level"><decisionTable id="t" hitPolicy="UNIQUE">
<input id="i"><inputExpression id="ie" typeRef="integer"><text>amount</text></inputExpression></input>
<output id="o" name="level" typeRef="string"/>
<rule id="r1"><inputEntry id="e1"><text>&gt;= 1000</text></inputEntry><outputEntry id="o1"><text>"high"</text></outputEntry></rule>
<rule id="r2"><inputEntry id="e2"><text>&lt; 1000</text></inputEntry><outputEntry id="o2"><text>"low"</text></outputEntry></rule>
</decisionTable></decision></definitions>'''
DECIDED = definitions(f'''<bpmn:process id="decided" isExecutable="true">
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:sequenceFlow id="toR" sourceRef="fork" targetRef="rate"/>
<bpmn:sequenceFlow id="toB" sourceRef="fork" targetRef="B"/>
<bpmn:businessRuleTask id="rate" camunda:decisionRef="level" camunda:resultVariable="rating" camunda:mapDecisionResult="singleEntry"/>
{user_task("B", "复核")}
<bpmn:sequenceFlow id="RJ" sourceRef="rate" targetRef="join"/><bpmn:sequenceFlow id="BJ" sourceRef="B" targetRef="join"/>
<bpmn:parallelGateway id="join"/><bpmn:sequenceFlow id="JE" sourceRef="join" targetRef="end"/><bpmn:endEvent id="end"/>
</bpmn:process>''')


def test_a_decisions_result_variable_is_seen_at_once_by_the_parallel_branch(empty_db):
    services.add_user(empty_db, "demo", ["engineering"], actor=services.Actor.operator())
    services.deploy_files(empty_db, [SourceFile("decided.bpmn", DECIDED), SourceFile("level.dmn", LEVELS)],
                          services.Actor.operator("t"))
    instance = services.start_instance(empty_db, "decided", services.Actor.operator(), {"amount": 1500})
    (task,) = services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items
    assert services.get_task(empty_db, task.id, services.actor_for(empty_db, "demo")).case_data["rating"] == "high"
    replayed = services.replay(empty_db, instance, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None
