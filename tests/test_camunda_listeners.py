"""Execution and task listeners run at the moments Camunda 7 documents (docs.camunda.org 7.2x,
"Delegation Code": Execution Listener, Task Listener), with Python or `${…}` bodies; Java ones are
refused at deploy with FILE:LINE and what to write instead."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from engine import clock, services
from engine.compat import SourceFile
from engine.errors import DeployError, ProcessError
from engine.demo import ensure_demo_users

from camunda_cases import cli, definitions, process, user_task


def _log(entry: str) -> str:
    """A Python listener appending `entry` to the case variable `log`, Camunda style."""
    return ('<camunda:script scriptFormat="python">'
            f'execution.setVariable("log", (execution.getVariable("log") or []) + [{entry}])</camunda:script>')


def _execution_listener(event: str, entry: str) -> str:
    return f'<camunda:executionListener event="{event}">{_log(entry)}</camunda:executionListener>'


def _task_listener(event: str, entry: str) -> str:
    return f'<camunda:taskListener event="{event}">{_log(entry)}</camunda:taskListener>'


LIFECYCLE = definitions(process(
    "lifecycle",
    user_task("a", "受理", attributes='camunda:assignee="frontdesk"', inner="<bpmn:extensionElements>"
              + _execution_listener("start", '"a start"') + _execution_listener("end", '"a end"')
              + _task_listener("assignment", '"assignment " + task.getAssignee()')
              + _task_listener("create", '"create " + str(task.getAssignee())')
              + _task_listener("complete", '"complete " + task.getAssignee()')
              + _task_listener("delete", '"delete"')
              + "</bpmn:extensionElements>"),

).replace('isExecutable="true" >', 'isExecutable="true"><bpmn:extensionElements>'
          + _execution_listener("start", '"process start"') + _execution_listener("end", '"process end"')
          + '</bpmn:extensionElements>'
).replace('<bpmn:sequenceFlow id="lifecycle_f0" sourceRef="start" targetRef="a"/>',
          '<bpmn:sequenceFlow id="lifecycle_f0" sourceRef="start" targetRef="a"><bpmn:extensionElements>'
          + _execution_listener("take", '"take f0"') + '</bpmn:extensionElements></bpmn:sequenceFlow>'))

TIMED_OUT = definitions(process(
    "timed_out",
    user_task("a", "受理", inner="<bpmn:extensionElements>" + _execution_listener("end", '"a end"')
              + _task_listener("complete", '"complete"') + _task_listener("delete", '"delete"')
              + "</bpmn:extensionElements>"),
    extra='<bpmn:boundaryEvent id="late" attachedToRef="a"><bpmn:timerEventDefinition>'
          '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
          '<bpmn:endEvent id="gave_up"/><bpmn:sequenceFlow id="t1" sourceRef="late" targetRef="gave_up"/>'))

EXPRESSIONS = definitions(process(
    "expressions",
    user_task("a", "受理", inner='<bpmn:extensionElements><camunda:executionListener event="start" '
              'expression="${execution.setVariable(&quot;days&quot;, days_between(bought, asked))}"/>'
              '<camunda:taskListener event="create" expression="${task.setAssignee(owner)}"/>'
              '<camunda:taskListener event="complete" '
              'expression="${task.setVariable(&quot;done_by&quot;, task.assignee)}"/>'
              '</bpmn:extensionElements>', attributes=""),
))


def deploy(db, pid: str, content: bytes):
    return services.deploy_files(db, [SourceFile(f"{pid}.bpmn", content)], services.Actor.operator("test"))


def open_tasks(db, instance: int):
    return services.list_tasks(db, services.Actor.operator(), instance_id=instance).items


def variables(db, instance: int) -> dict:
    return services.show_instance(db, instance, services.Actor.operator()).data


def assert_replay_agrees(db, instance: int) -> None:
    replayed = services.replay(db, instance, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None


def test_execution_and_task_listeners_run_in_camundas_order(empty_db):
    ensure_demo_users(empty_db)
    deploy(empty_db, "lifecycle", LIFECYCLE)
    case = services.start_instance(empty_db, "lifecycle", services.Actor.operator())
    assert variables(empty_db, case)["log"] == ["process start", "take f0", "a start", "create frontdesk", "assignment frontdesk"]
    (task,) = open_tasks(empty_db, case)
    services.complete(empty_db, task.id, services.actor_for(empty_db, "frontdesk"))
    view = services.show_instance(empty_db, case, services.Actor.operator())
    assert view.status == "completed"
    assert view.data["log"][5:] == ["complete frontdesk", "a end", "process end"]  # no delete after complete
    assert_replay_agrees(empty_db, case)


def test_a_task_cancelled_by_a_boundary_timer_is_deleted_not_completed(empty_db):
    ensure_demo_users(empty_db)
    deploy(empty_db, "timed_out", TIMED_OUT)
    case = services.start_instance(empty_db, "timed_out", services.Actor.operator())
    assert "log" not in variables(empty_db, case)
    with clock.frozen(clock.now() + timedelta(hours=2)):
        assert services.fire_due_timers(empty_db) == [case]
    view = services.show_instance(empty_db, case, services.Actor.operator())
    assert view.status == "completed" and view.data["log"] == ["delete", "a end"]
    assert_replay_agrees(empty_db, case)


def test_cancelling_a_case_runs_the_delete_listener_of_its_open_task(empty_db):
    """Camunda's deleteProcessInstance runs the listeners of what it cancels; one that fails rolls
    the deletion back (the case's variables are gone with it, so a failing one is what shows)."""
    ensure_demo_users(empty_db)
    refusing = TIMED_OUT.replace(_task_listener("delete", '"delete"').encode(), _task_listener(
        "delete", 'reason_required["x"]').encode())
    deploy(empty_db, "timed_out", refusing)
    case = services.start_instance(empty_db, "timed_out", services.Actor.operator())
    with pytest.raises(ProcessError) as refused:
        services.cancel_instance(empty_db, case, services.Actor.operator(), "客户撤回")
    assert "reason_required" in str(refused.value) and "未保存" in str(refused.value)
    assert services.show_instance(empty_db, case, services.Actor.operator()).status == "running"
    assert [t.name for t in open_tasks(empty_db, case)] == ["受理"]


def test_expression_listeners_call_business_functions_and_give_the_task_to_someone(empty_db):
    ensure_demo_users(empty_db)
    deploy(empty_db, "expressions", EXPRESSIONS)
    case = services.start_instance(empty_db, "expressions", services.Actor.operator(),
                                   {"bought": "2026-11-01", "asked": "2026-11-08", "owner": "frontdesk"})
    (task,) = open_tasks(empty_db, case)
    assert task.assignee == "frontdesk" and variables(empty_db, case)["days"] == 7
    services.complete(empty_db, task.id, services.actor_for(empty_db, "frontdesk"))
    assert variables(empty_db, case)["done_by"] == "frontdesk"
    assert_replay_agrees(empty_db, case)


CLAIMED = definitions(process(
    "claimed",
    user_task("a", "受理", attributes='camunda:candidateGroups="front-desk"', inner="<bpmn:extensionElements>"
              + _task_listener("update", '"update " + str(task.getAssignee())')
              + _task_listener("assignment", '"assignment " + str(task.getAssignee())')
              + _task_listener("complete", '"complete " + task.getAssignee()')
              + "</bpmn:extensionElements>"),
))


def test_claiming_and_giving_back_a_task_run_its_update_then_assignment_listeners(empty_db):
    ensure_demo_users(empty_db)
    deploy(empty_db, "claimed", CLAIMED)
    case = services.start_instance(empty_db, "claimed", services.Actor.operator())
    assert "log" not in variables(empty_db, case)  # created without an assignee: no assignment event
    (task,) = open_tasks(empty_db, case)
    frontdesk = services.actor_for(empty_db, "frontdesk")
    services.claim(empty_db, task.id, frontdesk)
    assert variables(empty_db, case)["log"] == ["update frontdesk", "assignment frontdesk"]
    services.unclaim(empty_db, task.id, frontdesk)
    services.complete(empty_db, task.id, frontdesk)  # a candidate completes it without claiming
    assert variables(empty_db, case)["log"][2:] == ["update None", "assignment None", "complete frontdesk"]
    assert_replay_agrees(empty_db, case)


@pytest.mark.parametrize("listener, refusal", [
    ('<camunda:executionListener event="start" class="com.acme.Audit"/>',
     'class="com.acme.Audit" is Java code, which does not run here: write the listener as camunda:script'),
    ('<camunda:taskListener event="create" delegateExpression="${auditor}"/>', "is Java code"),
    ('<camunda:taskListener event="timeout"><camunda:script scriptFormat="python">x = 1</camunda:script>'
     '</camunda:taskListener>', 'event="timeout" is not supported here: draw a non-interrupting timer'),
    ('<camunda:executionListener event="start"><camunda:script scriptFormat="groovy">x = 1</camunda:script>'
     '</camunda:executionListener>', 'only Python runs here'),
    ('<camunda:executionListener event="start" expression="${mailer.send(x)}"/>', "cannot run here"),
])
def test_listeners_that_cannot_run_are_refused_with_file_and_line(empty_db, listener, refusal):
    diagram = definitions(process("refused", user_task("a", "受理", inner=f"<bpmn:extensionElements>{listener}"
                                                                       "</bpmn:extensionElements>")))
    with pytest.raises(DeployError) as refused:
        deploy(empty_db, "refused", diagram)
    assert any(message.startswith("refused.bpmn:") and refusal in message for message in refused.value.problems)


def test_listeners_from_the_command_line(tmp_path):
    (tmp_path / "lifecycle.bpmn").write_bytes(LIFECYCLE)
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", "lifecycle.bpmn").returncode == 0
    assert bpmdesk("users", "add", "frontdesk", "--groups", "front-desk").returncode == 0
    instance = bpmdesk("start", "lifecycle").stdout.strip()
    (task,) = json.loads(bpmdesk("tasks", "--as", "frontdesk", "--json").stdout)
    assert bpmdesk("complete", task["id"], "--as", "frontdesk").returncode == 0
    shown = json.loads(bpmdesk("show", instance, "--json").stdout)
    assert shown["status"] == "completed" and shown["data"]["log"][-3:] == ["complete frontdesk", "a end", "process end"]
    assert bpmdesk("replay", instance).returncode == 0


def test_a_failing_listener_is_a_clear_error_naming_the_element_and_nothing_is_saved(tmp_path):
    failing = definitions(process("failing", user_task("a", "受理", attributes='camunda:assignee="frontdesk"',
                                                       inner="<bpmn:extensionElements>" + _execution_listener(
                                                           "start", "missing_total * 2") + "</bpmn:extensionElements>")))
    (tmp_path / "failing.bpmn").write_bytes(failing)
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", "failing.bpmn").returncode == 0
    started = bpmdesk("start", "failing")
    assert started.returncode == 2 and "missing_total" in started.stderr and "未保存" in started.stderr, started.stderr
    assert "listener (start) of a" in started.stderr
    assert bpmdesk("show", "1").returncode != 0  # no case was saved


def _take(entry: str) -> str:
    return f"<bpmn:extensionElements>{_execution_listener('take', entry)}</bpmn:extensionElements>"


CHOICE = definitions(f'''<bpmn:process id="choice" isExecutable="true"><bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="g"/><bpmn:exclusiveGateway id="g" default="no"/>
<bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="a">{_take('"yes"')}<bpmn:conditionExpression>${{x == 1}}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="no" sourceRef="g" targetRef="b">{_take('"no"')}</bpmn:sequenceFlow>
{user_task("a", "甲", 'camunda:assignee="frontdesk"')}{user_task("b", "乙", 'camunda:assignee="frontdesk"')}
<bpmn:sequenceFlow id="x1" sourceRef="a" targetRef="end"/><bpmn:sequenceFlow id="x2" sourceRef="b" targetRef="end"/>
<bpmn:endEvent id="end"/></bpmn:process>''')


def test_a_take_listener_runs_only_on_the_flow_taken(empty_db):
    deploy(empty_db, "choice", CHOICE)
    for x, taken in ((1, ["yes"]), (2, ["no"])):
        case = services.start_instance(empty_db, "choice", services.Actor.operator(), {"x": x})
        assert variables(empty_db, case)["log"] == taken
