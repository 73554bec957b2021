"""Multi-instance activities with Camunda 7's loop variables and where instances' values land."""
from __future__ import annotations

import pytest
from engine import services
from engine.compat import SourceFile
from engine.demo import ensure_demo_users

from camunda_cases import definitions, process, user_task

FORM = ('<bpmn:extensionElements><camunda:formData><camunda:formField id="answer" label="意见" type="string"/>'
        "</camunda:formData></bpmn:extensionElements>")


def voting(sequential: bool, condition: str) -> bytes:
    loop = (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{str(sequential).lower()}" '
            'camunda:collection="${people}" camunda:elementVariable="person">'
            + (f"<bpmn:completionCondition>{condition}</bpmn:completionCondition>" if condition else "")
            + "</bpmn:multiInstanceLoopCharacteristics>")
    return definitions(process("vote", user_task("ask", "表决", 'camunda:assignee="${person}"', inner=FORM + loop),
                               user_task("after", "汇总", 'camunda:assignee="supervisor"')))


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_completion_condition_counts_instances_and_values_land_on_the_case(empty_db, sequential):
    ensure_demo_users(empty_db)
    services.deploy_files(empty_db, [SourceFile("vote.bpmn", voting(sequential, "${nrOfCompletedInstances >= 2}"))],
                          services.Actor.operator())
    instance = services.start_instance(empty_db, "vote", services.Actor.operator(), data={"people": ["engineer", "cleaner", "guard"]})
    for expected, person in ((["表决"] * (1 if sequential else 3), "engineer"), (None, "cleaner")):
        tasks = services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items
        if expected:
            assert [t.name for t in tasks] == expected
        task = next(t for t in tasks if t.assignee == person)
        services.complete(empty_db, task.id, services.actor_for(empty_db, person), {"answer": f"{person} 同意"})
    (after,) = services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items  # two of three were enough
    assert after.name == "汇总"
    data = services.show_instance(empty_db, instance, services.Actor.operator()).data
    assert data["answer"] == "cleaner 同意" and data["people"] == ["engineer", "cleaner", "guard"]
    assert "person" not in data  # the element variable is the instance's own
    replayed = services.replay(empty_db, instance, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None


def test_loop_counter_and_instance_counts_in_a_completion_condition(empty_db):
    ensure_demo_users(empty_db)
    condition = "${loopCounter == 0 and nrOfInstances == 3 and nrOfActiveInstances == 2}"
    services.deploy_files(empty_db, [SourceFile("vote.bpmn", voting(False, condition))], services.Actor.operator())
    instance = services.start_instance(empty_db, "vote", services.Actor.operator(), data={"people": ["engineer", "cleaner", "guard"]})
    first = next(t for t in services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items if t.assignee == "engineer")
    services.complete(empty_db, first.id, services.actor_for(empty_db, "engineer"), {"answer": "同意"})
    assert [t.name for t in services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items] == ["汇总"]


def test_each_instance_sees_its_loop_counter_in_scripts_and_assignments(empty_db):
    ensure_demo_users(empty_db)
    loop = ('<bpmn:multiInstanceLoopCharacteristics isSequential="{}"><bpmn:loopCardinality>2</bpmn:loopCardinality>'
            "</bpmn:multiInstanceLoopCharacteristics>")
    script = ('<bpmn:scriptTask id="count" scriptFormat="python">' + loop.format("true") + '<bpmn:script>'
              'seen = (execution.getVariable("seen") or []) + [[loopCounter, nrOfInstances]]</bpmn:script></bpmn:scriptTask>')
    content = definitions(process("loops", script, user_task("ask", "表决", 'camunda:assignee="${people[loopCounter]}"',
                                                              inner=loop.format("false"))))
    services.deploy_files(empty_db, [SourceFile("loops.bpmn", content)], services.Actor.operator())
    instance = services.start_instance(empty_db, "loops", services.Actor.operator(), data={"people": ["engineer", "cleaner"]})
    assert services.show_instance(empty_db, instance, services.Actor.operator()).data["seen"] == [[0, 2], [1, 2]]
    tasks = services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items
    assert sorted(t.assignee for t in tasks) == ["cleaner", "engineer"]
    replayed = services.replay(empty_db, instance, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None
