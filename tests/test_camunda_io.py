"""camunda:inputOutput with Camunda 7's local variable scopes (docs.camunda.org 7.2x, "Input/Output
Variable Mapping"): inputs are local variables of the activity, outputs land in the enclosing scope."""
from __future__ import annotations

import json

import pytest
from engine import services
from engine.compat import SourceFile, load_bundle
from engine.errors import DeployError

from camunda_cases import cli, definitions, process, user_task

OP = services.Actor.operator()


def io(*parameters: str) -> str:
    return "<camunda:inputOutput>" + "".join(parameters) + "</camunda:inputOutput>"


def form(*fields: str) -> str:
    return "<camunda:formData>" + "".join(f'<camunda:formField id="{f}" label="{f}" type="string"/>'
                                          for f in fields) + "</camunda:formData>"


REVIEW = definitions(process(
    "review",
    user_task("check", "审核", inner="<bpmn:extensionElements>" + form("note", "verdict") + io(
        '<camunda:inputParameter name="greeting">你好 ${customer}</camunda:inputParameter>',
        '<camunda:inputParameter name="amount">${price * 2}</camunda:inputParameter>',
        '<camunda:inputParameter name="note"/>',
        '<camunda:inputParameter name="customer">内部</camunda:inputParameter>',
        '<camunda:inputParameter name="items"><camunda:list><camunda:value>a</camunda:value>'
        '<camunda:value>${price}</camunda:value><camunda:list><camunda:value>1</camunda:value></camunda:list>'
        '</camunda:list></camunda:inputParameter>',
        '<camunda:inputParameter name="card"><camunda:map><camunda:entry key="who">${customer}</camunda:entry>'
        '<camunda:entry key="${kind}">x</camunda:entry></camunda:map></camunda:inputParameter>',
        '<camunda:inputParameter name="twice"><camunda:script scriptFormat="python">price + price'
        '</camunda:script></camunda:inputParameter>',
        '<camunda:outputParameter name="result">${note} / ${verdict} / ${customer}</camunda:outputParameter>',
        '<camunda:outputParameter name="summary">${items}</camunda:outputParameter>',
        '<camunda:outputParameter name="nothing"/>',
    ) + "</bpmn:extensionElements>"),
    '<bpmn:scriptTask id="after" scriptFormat="python"><bpmn:script>'
    "seen = [execution.getVariable('note'), execution.getVariable('amount'), customer]</bpmn:script></bpmn:scriptTask>",
    user_task("last", "结案")))


def deploy(db, name: str, content: bytes) -> None:
    services.add_user(db, "demo", ["engineering"], actor=OP)
    services.deploy_files(db, [SourceFile(name, content)], services.Actor.operator("t"))


def open_tasks(db, instance: int) -> dict:
    return {t.name: t for t in services.list_tasks(db, OP, instance_id=instance).items}


def test_inputs_are_local_to_the_task_and_outputs_land_on_the_case(empty_db):
    deploy(empty_db, "review.bpmn", REVIEW)
    instance = services.start_instance(empty_db, "review", OP, data={"customer": "王芳", "price": 21, "kind": "vip"})
    task = open_tasks(empty_db, instance)["审核"]
    seen = services.get_task(empty_db, task.id, services.actor_for(empty_db, "demo")).case_data
    assert seen["greeting"] == "你好 王芳" and seen["amount"] == 42 and seen["note"] is None  # inputs, in the outer scope
    assert seen["customer"] == "内部"  # the local hides the case's variable while the task runs
    assert seen["items"] == ["a", 21, ["1"]] and seen["card"] == {"who": "王芳", "vip": "x"} and seen["twice"] == 42
    assert services.show_instance(empty_db, instance, OP).data == {"customer": "王芳", "price": 21, "kind": "vip"}

    services.complete(empty_db, task.id, services.actor_for(empty_db, "demo"), {"note": "看过", "verdict": "同意"})
    data = services.show_instance(empty_db, instance, OP).data
    assert data["result"] == "看过 / 同意 / 内部"  # outputs see the task's locals and what its form set
    assert data["summary"] == ["a", 21, ["1"]] and data["nothing"] is None
    assert data["verdict"] == "同意"  # a form field that is no local goes to the case
    assert "note" not in data and "greeting" not in data and "items" not in data  # locals end with the task
    assert data["customer"] == "王芳"  # the hidden variable is visible again, unchanged
    assert data["seen"] == [None, None, "王芳"]
    replayed = services.replay(empty_db, instance, OP)
    assert replayed.compared and replayed.divergence is None


SUBPROCESS = definitions(f'''<bpmn:process id="sub" isExecutable="true">
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:sequenceFlow id="toS" sourceRef="fork" targetRef="S"/>
<bpmn:sequenceFlow id="toO" sourceRef="fork" targetRef="outside"/>
{user_task("outside", "外部", inner="<bpmn:extensionElements>" + form("count") + "</bpmn:extensionElements>")}
<bpmn:sequenceFlow id="OJ" sourceRef="outside" targetRef="join"/>
<bpmn:subProcess id="S"><bpmn:extensionElements>{io(
    '<camunda:inputParameter name="count">${count + 100}</camunda:inputParameter>',
    '<camunda:outputParameter name="total">${count}</camunda:outputParameter>')}</bpmn:extensionElements>
  <bpmn:startEvent id="s0"/><bpmn:sequenceFlow id="s1" sourceRef="s0" targetRef="bump"/>
  <bpmn:scriptTask id="bump" scriptFormat="python"><bpmn:script>count = count + 1
flag = "inner"</bpmn:script></bpmn:scriptTask>
  <bpmn:sequenceFlow id="s2" sourceRef="bump" targetRef="inner"/>
  {user_task("inner", "内部")}
  <bpmn:sequenceFlow id="s3" sourceRef="inner" targetRef="s9"/><bpmn:endEvent id="s9"/>
</bpmn:subProcess>
<bpmn:sequenceFlow id="SJ" sourceRef="S" targetRef="join"/>
<bpmn:parallelGateway id="join"/><bpmn:sequenceFlow id="JE" sourceRef="join" targetRef="last"/>
{user_task("last", "结案")}<bpmn:sequenceFlow id="LE" sourceRef="last" targetRef="end"/><bpmn:endEvent id="end"/>
</bpmn:process>''')


def test_a_sub_process_scope_keeps_its_locals_from_the_other_branch(empty_db):
    deploy(empty_db, "sub.bpmn", SUBPROCESS)
    instance = services.start_instance(empty_db, "sub", OP, data={"count": 1})
    tasks = open_tasks(empty_db, instance)
    demo = services.actor_for(empty_db, "demo")
    assert services.get_task(empty_db, tasks["内部"].id, demo).case_data["count"] == 102  # the local, bumped inside
    assert services.get_task(empty_db, tasks["外部"].id, demo).case_data == {"count": 1, "flag": "inner"}
    services.complete(empty_db, tasks["外部"].id, demo, {"count": "7"})  # the case's count, not the local
    assert services.get_task(empty_db, tasks["内部"].id, demo).case_data["count"] == 102
    services.complete(empty_db, tasks["内部"].id, demo)
    data = services.show_instance(empty_db, instance, OP).data
    assert data == {"count": "7", "total": 102, "flag": "inner"}  # the outer value changed meanwhile is back
    replayed = services.replay(empty_db, instance, OP)
    assert replayed.compared and replayed.divergence is None


LOOP = definitions(process("loop", user_task(
    "vote", "表决", 'camunda:assignee="demo"',
    inner="<bpmn:extensionElements>" + form("decision") + io('<camunda:inputParameter name="decision"/>')
    + '</bpmn:extensionElements><bpmn:multiInstanceLoopCharacteristics camunda:collection="${people}" '
    'camunda:elementVariable="person"/>'), user_task("last", "结案")))


def test_each_instance_of_a_multi_instance_task_has_its_own_local(empty_db):
    deploy(empty_db, "loop.bpmn", LOOP)
    instance = services.start_instance(empty_db, "loop", OP, data={"people": ["a", "b"]})
    demo = services.actor_for(empty_db, "demo")
    first, second = services.list_tasks(empty_db, OP, instance_id=instance).items
    services.complete(empty_db, first.id, demo, {"decision": "同意"})
    assert services.get_task(empty_db, second.id, demo).case_data["decision"] is None  # not the other's
    services.complete(empty_db, second.id, demo, {"decision": "反对"})
    assert "decision" not in services.show_instance(empty_db, instance, OP).data  # locals only, no output
    assert [t.name for t in services.list_tasks(empty_db, OP, instance_id=instance).items] == ["结案"]


def refusal(body: str) -> str:
    with pytest.raises(DeployError) as refused:
        load_bundle([SourceFile("bad.bpmn", definitions(body))])
    return "\n".join(refused.value.problems)


@pytest.mark.parametrize(("inner", "expected"), [
    ('<camunda:inputParameter name="x"><camunda:script scriptFormat="groovy">1</camunda:script>'
     "</camunda:inputParameter>", 'scriptFormat="groovy": only Python'),
    ('<camunda:inputParameter name="x"><camunda:script scriptFormat="python">y = 1</camunda:script>'
     "</camunda:inputParameter>", "single expression"),
    ('<camunda:inputParameter name="x">${foo(1)}</camunda:inputParameter>', "function call"),
    ('<camunda:inputParameter name="class">1</camunda:inputParameter>', "must be a variable name"),
])
def test_parameters_that_cannot_run_are_refused_with_file_and_line(inner, expected):
    text = refusal(process("p", user_task("t", "任务", inner=f"<bpmn:extensionElements>{io(inner)}"
                                           "</bpmn:extensionElements>")))
    assert expected in text and "bad.bpmn:" in text


def test_output_mapping_on_a_multi_instance_activity_is_refused_as_camunda_refuses_it():
    loop = '<bpmn:multiInstanceLoopCharacteristics camunda:collection="${people}" camunda:elementVariable="p"/>'
    text = refusal(process("p", user_task("t", "任务", inner="<bpmn:extensionElements>" + io(
        '<camunda:outputParameter name="y">1</camunda:outputParameter>') + "</bpmn:extensionElements>" + loop)))
    assert "multi-instance" in text and "camunda:outputParameter" in text


def test_mapping_on_a_start_event_is_refused():
    body = ('<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start"><bpmn:extensionElements>'
            + io('<camunda:inputParameter name="x">1</camunda:inputParameter>')
            + '</bpmn:extensionElements></bpmn:startEvent><bpmn:endEvent id="end"/>'
            '<bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/></bpmn:process>')
    assert "start or boundary events" in refusal(body)


def test_input_output_mapping_from_the_command_line(tmp_path):
    (tmp_path / "review.bpmn").write_bytes(REVIEW)
    bpmdesk = cli(tmp_path)
    deployed = bpmdesk("deploy", "-v", "review.bpmn")
    assert deployed.returncode == 0 and "runs     camunda:inputParameter" in deployed.stdout
    assert bpmdesk("users", "add", "demo", "--groups", "engineering").returncode == 0
    instance = bpmdesk("start", "review", "--data", '{"customer": "王芳", "price": 1, "kind": "k"}').stdout.strip()
    (task,) = json.loads(bpmdesk("tasks", "--instance", instance, "--json").stdout)
    assert bpmdesk("complete", task["id"], "--as", "demo", "--data", '{"note": "n", "verdict": "v"}').returncode == 0
    data = json.loads(bpmdesk("show", instance, "--json").stdout)["data"]
    assert data["result"] == "n / v / 内部" and "note" not in data
