"""A terminate end event ends the scope it is in (BPMN 2.0; Camunda 7 "Terminate End Event"): inside
an embedded sub-process only that sub-process, whose outgoing flow is then taken; at the top the case."""
from __future__ import annotations

import json

from engine import services
from engine.compat import SourceFile
from engine.demo import ensure_demo_users

from camunda_cases import cli, definitions, user_task

INNER = definitions(f'''<bpmn:process id="inner_stop" isExecutable="true">
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="sub"/>
<bpmn:subProcess id="sub" name="核查">
  <bpmn:startEvent id="s_start"/><bpmn:sequenceFlow id="s0" sourceRef="s_start" targetRef="fork"/>
  <bpmn:parallelGateway id="fork"/>
  <bpmn:sequenceFlow id="s1" sourceRef="fork" targetRef="wait"/>
  <bpmn:sequenceFlow id="s2" sourceRef="fork" targetRef="check"/>
  {user_task("wait", "等待回访", 'camunda:assignee="frontdesk"')}
  {user_task("check", "核查", 'camunda:assignee="frontdesk"')}
  <bpmn:sequenceFlow id="s3" sourceRef="check" targetRef="stop"/>
  <bpmn:endEvent id="stop"><bpmn:terminateEventDefinition/></bpmn:endEvent>
  <bpmn:sequenceFlow id="s4" sourceRef="wait" targetRef="s_end"/><bpmn:endEvent id="s_end"/>
</bpmn:subProcess>
<bpmn:sequenceFlow id="f1" sourceRef="sub" targetRef="after"/>
{user_task("after", "结案", 'camunda:assignee="frontdesk"')}
<bpmn:sequenceFlow id="f2" sourceRef="after" targetRef="end"/><bpmn:endEvent id="end"/>
</bpmn:process>''')


BESIDE = definitions(f'''<bpmn:process id="beside" isExecutable="true">
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/>
<bpmn:parallelGateway id="fork"/>
<bpmn:sequenceFlow id="a" sourceRef="fork" targetRef="sub"/><bpmn:sequenceFlow id="b" sourceRef="fork" targetRef="watch"/>
<bpmn:subProcess id="sub"><bpmn:startEvent id="s0"/><bpmn:sequenceFlow id="s1" sourceRef="s0" targetRef="stop"/>
  <bpmn:endEvent id="stop"><bpmn:terminateEventDefinition/></bpmn:endEvent></bpmn:subProcess>
{user_task("watch", "督办", 'camunda:assignee="frontdesk"')}
<bpmn:sequenceFlow id="c" sourceRef="sub" targetRef="join"/><bpmn:sequenceFlow id="d" sourceRef="watch" targetRef="join"/>
<bpmn:parallelGateway id="join"/><bpmn:sequenceFlow id="e" sourceRef="join" targetRef="end"/><bpmn:endEvent id="end"/>
</bpmn:process>''')


def open_names(db, instance: int) -> list[str]:
    return sorted(t.name for t in services.list_tasks(db, services.Actor.operator(), instance_id=instance).items)


def test_a_terminate_end_event_in_a_sub_process_ends_only_the_sub_process(empty_db):
    ensure_demo_users(empty_db)
    services.deploy_files(empty_db, [SourceFile("inner_stop.bpmn", INNER)], services.Actor.operator())
    case = services.start_instance(empty_db, "inner_stop", services.Actor.operator())
    assert open_names(empty_db, case) == ["核查", "等待回访"]
    check = next(t for t in services.list_tasks(empty_db, services.Actor.operator(), instance_id=case).items if t.name == "核查")
    services.complete(empty_db, check.id, services.actor_for(empty_db, "frontdesk"))
    view = services.show_instance(empty_db, case, services.Actor.operator())
    assert view.status == "running" and [t.name for t in view.open_tasks] == ["结案"]  # 等待回访 was ended with its scope
    (after,) = view.open_tasks
    services.complete(empty_db, after.id, services.actor_for(empty_db, "frontdesk"))
    assert services.show_instance(empty_db, case, services.Actor.operator()).status == "completed"
    replayed = services.replay(empty_db, case, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None


def test_a_branch_beside_a_terminated_sub_process_goes_on(empty_db):
    ensure_demo_users(empty_db)
    services.deploy_files(empty_db, [SourceFile("beside.bpmn", BESIDE)], services.Actor.operator())
    case = services.start_instance(empty_db, "beside", services.Actor.operator())
    view = services.show_instance(empty_db, case, services.Actor.operator())
    assert view.status == "running" and [t.name for t in view.open_tasks] == ["督办"]


def test_terminate_in_a_sub_process_from_the_command_line(tmp_path):
    (tmp_path / "inner_stop.bpmn").write_bytes(INNER)
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", "inner_stop.bpmn").returncode == 0
    assert bpmdesk("users", "add", "frontdesk", "--groups", "front-desk").returncode == 0
    instance = bpmdesk("start", "inner_stop").stdout.strip()
    tasks = {t["name"]: t["id"] for t in json.loads(bpmdesk("tasks", "--instance", instance, "--json").stdout)}
    assert bpmdesk("complete", tasks["核查"], "--as", "frontdesk").returncode == 0
    shown = json.loads(bpmdesk("show", instance, "--json").stdout)
    assert shown["status"] == "running" and [t["name"] for t in shown["open_tasks"]] == ["结案"]
