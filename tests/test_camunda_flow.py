"""Uncontrolled flow (BPMN 2.0 / Camunda 7): several flows out of or into an activity without a gateway."""
from __future__ import annotations

import json

import pytest
from engine import services
from engine.compat import SourceFile
from engine.errors import DeployError

from camunda_cases import cli, definitions, user_task


def flows(*pairs: tuple[str, str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="{source}_{target}" sourceRef="{source}" targetRef="{target}">'
                   + (f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression>" if condition else "")
                   + "</bpmn:sequenceFlow>" for source, target, condition in pairs)


def diagram(pid: str, tasks: str, wiring: str, attributes: str = "") -> bytes:
    return definitions(f'<bpmn:process id="{pid}" isExecutable="true"><bpmn:startEvent id="start"/>'
                       f'{tasks}<bpmn:endEvent id="end"/>{wiring}</bpmn:process>')


SPLIT_MERGE = diagram("sm", user_task("a", "受理") + user_task("b", "上门") + user_task("c", "回电")
                      + user_task("d", "记录"),
                      flows(("start", "a", ""), ("a", "b", ""), ("a", "c", ""), ("b", "d", ""), ("c", "d", ""),
                            ("d", "end", "")))


def names(db, instance: int) -> list[str]:
    return sorted(t.name for t in services.list_tasks(db, services.Actor.operator(), instance_id=instance).items)


def finish(db, instance: int, name: str) -> None:
    task = next(t for t in services.list_tasks(db, services.Actor.operator(), instance_id=instance).items if t.name == name)
    services.complete(db, task.id, services.actor_for(db, "demo"))


def test_several_outgoing_flows_split_and_several_incoming_merge_once_per_token(empty_db):
    services.add_user(empty_db, "demo", ["engineering"], actor=services.Actor.operator())
    services.deploy_files(empty_db, [SourceFile("sm.bpmn", SPLIT_MERGE)], services.Actor.operator())
    instance = services.start_instance(empty_db, "sm", services.Actor.operator())
    finish(empty_db, instance, "受理")
    assert names(empty_db, instance) == ["上门", "回电"]  # an implicit parallel split
    finish(empty_db, instance, "上门")
    assert names(empty_db, instance) == ["回电", "记录"]  # no join: 记录 runs for each arriving token
    finish(empty_db, instance, "记录")
    finish(empty_db, instance, "回电")
    assert names(empty_db, instance) == ["记录"]
    finish(empty_db, instance, "记录")
    assert services.show_instance(empty_db, instance, services.Actor.operator()).status == "completed"
    replayed = services.replay(empty_db, instance, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None


CONDITIONAL = diagram("cf", user_task("a", "登记", inner=(
    '<bpmn:extensionElements><camunda:formData><camunda:formField id="amount" label="金额" type="long"/>'
    "</camunda:formData></bpmn:extensionElements>")).replace('id="a"', 'id="a" default="a_small"')
    + user_task("big", "大额审批") + user_task("vip", "贵宾回访") + user_task("small", "小额办结"),
    flows(("start", "a", ""), ("a", "big", "${amount &gt; 1000}"), ("a", "vip", "${amount &gt; 5000}"),
          ("a", "small", ""), ("big", "end", ""), ("vip", "end", ""), ("small", "end", "")))


@pytest.mark.parametrize("amount, expected", [(2000, ["大额审批"]), (9000, ["大额审批", "贵宾回访"]),
                                              (10, ["小额办结"])])
def test_conditional_flows_from_a_task_take_every_true_one_else_the_default(tmp_path, amount, expected):
    (tmp_path / "cf.bpmn").write_bytes(CONDITIONAL)
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", "cf.bpmn").returncode == 0
    assert bpmdesk("users", "add", "demo", "--groups", "engineering").returncode == 0
    instance = bpmdesk("start", "cf").stdout.strip()
    (task,) = json.loads(bpmdesk("tasks", "--instance", instance, "--json").stdout)
    assert bpmdesk("complete", task["id"], "--as", "demo", "--data", json.dumps({"amount": amount})).returncode == 0
    assert sorted(t["name"] for t in json.loads(bpmdesk("tasks", "--instance", instance, "--json").stdout)) \
        == expected


def test_conditional_and_plain_flows_mixed_on_one_task_are_refused(empty_db):
    content = diagram("mx", user_task("a", "登记") + user_task("b", "乙") + user_task("c", "丙"),
                      flows(("start", "a", ""), ("a", "b", "${x}"), ("a", "c", ""), ("b", "end", ""),
                            ("c", "end", "")))
    with pytest.raises(DeployError) as raised:
        services.deploy_files(empty_db, [SourceFile("mx.bpmn", content)], services.Actor.operator())
    assert any("has conditional and unconditional outgoing flows together: draw a parallel gateway" in p
               for p in raised.value.problems), raised.value.problems
