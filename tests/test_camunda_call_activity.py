"""Call activities pass variables as Camunda 7 does: only through camunda:in / camunda:out."""
from __future__ import annotations

import json

import pytest
from engine import services
from engine.compat import SourceFile
from engine.errors import DeployError

from camunda_cases import cli, definitions, process, user_task

CHILD = definitions(process(
    "child", '<bpmn:scriptTask id="calc" scriptFormat="python"><bpmn:script>z = (locals().get(\"x\") or 0) + (locals().get(\"y\") or 0)'
             "</bpmn:script></bpmn:scriptTask>", user_task("childWork", "子任务")))


def parent(mappings: str) -> bytes:
    return definitions(process("parent", f'<bpmn:callActivity id="call" calledElement="child">'
                                         f"<bpmn:extensionElements>{mappings}</bpmn:extensionElements>"
                                         "</bpmn:callActivity>", user_task("after", "父任务")))


def run(db, mappings: str) -> tuple[dict, dict]:
    """(the called case's data at its task, the calling case's data after it returned)."""
    services.add_user(db, "demo", ["engineering"], actor=services.Actor.operator())
    services.deploy_files(db, [SourceFile("child.bpmn", CHILD), SourceFile("parent.bpmn", parent(mappings))], services.Actor.operator("t"))
    instance = services.start_instance(db, "parent", services.Actor.operator(), data={"x": 1, "a": 10, "b": 20})
    child = services.show_instance(db, instance, services.Actor.operator())
    (task,) = child.open_tasks
    assert task.name == "子任务"
    services.complete(db, task.id, services.actor_for(db, "demo"))
    after = services.show_instance(db, instance, services.Actor.operator())
    assert [t.name for t in after.open_tasks] == ["父任务"]
    replayed = services.replay(db, instance, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None
    return child.data, after.data


def test_without_mappings_nothing_passes_in_or_out(empty_db):
    child, after = run(empty_db, "")
    assert child == {"z": 0}
    assert after == {"x": 1, "a": 10, "b": 20}


def test_source_expression_and_target_pass_only_what_they_name(empty_db):
    child, after = run(empty_db, '<camunda:in source="a" target="x"/>'
                                 '<camunda:in sourceExpression="${b + 5}" target="y"/>'
                                 '<camunda:in source="missing" target="gone"/>'
                                 '<camunda:out source="z" target="total"/>'
                                 '<camunda:out sourceExpression="${y * 2}" target="doubled"/>')
    assert child == {"x": 10, "y": 25, "gone": None, "z": 35}
    assert after == {"x": 1, "a": 10, "b": 20, "total": 35, "doubled": 50}


def test_all_variables_in_and_out(empty_db):
    child, after = run(empty_db, '<camunda:in variables="all"/><camunda:out variables="all"/>')
    assert child == {"x": 1, "a": 10, "b": 20, "z": 1}
    assert after == {"x": 1, "a": 10, "b": 20, "z": 1}


def test_local_mappings_pass_the_call_activitys_own_variables_of_which_there_are_none(empty_db):
    child, after = run(empty_db, '<camunda:in variables="all" local="true"/>'
                                 '<camunda:out variables="all" local="true"/>')
    assert child == {"z": 0} and after == {"x": 1, "a": 10, "b": 20}


def test_malformed_mappings_are_refused_at_deploy(empty_db):
    with pytest.raises(DeployError) as raised:
        services.deploy_files(empty_db, [SourceFile("child.bpmn", CHILD), SourceFile(
            "parent.bpmn", parent('<camunda:in source="a"/>'))], services.Actor.operator("t"))
    assert any(problem.startswith("parent.bpmn:5: ") and "needs exactly one of source or sourceExpression, "
               "and a target" in problem for problem in raised.value.problems), raised.value.problems


def test_call_activity_mappings_from_the_command_line(tmp_path):
    (tmp_path / "child.bpmn").write_bytes(CHILD)
    (tmp_path / "parent.bpmn").write_bytes(parent('<camunda:in source="a" target="x"/>'
                                                  '<camunda:out source="z" target="total"/>'))
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", ".").returncode == 0
    assert bpmdesk("users", "add", "demo", "--groups", "engineering").returncode == 0
    instance = bpmdesk("start", "parent", "--data", '{"a": 4, "secret": "x"}').stdout.strip()
    assert json.loads(bpmdesk("show", instance, "--json").stdout)["data"] == {"x": 4, "z": 4}
    (task,) = json.loads(bpmdesk("tasks", "--instance", instance, "--json").stdout)
    assert bpmdesk("complete", task["id"], "--as", "demo").returncode == 0
    assert json.loads(bpmdesk("show", instance, "--json").stdout)["data"] == {"a": 4, "secret": "x", "total": 4}


KEY_CHILD = definitions(process(
    "key_child", '<bpmn:scriptTask id="read" scriptFormat="python"><bpmn:script>key = execution.getProcessBusinessKey()'
                 "</bpmn:script></bpmn:scriptTask>"))


@pytest.mark.parametrize("mapping, passed", [
    ('<camunda:in businessKey="#{execution.processBusinessKey}"/>', "WO-12"),  # Camunda Modeler's "Business key" box
    ('<camunda:in businessKey="${order}-sub"/>', "A7-sub"),
    ("", None),  # without the mapping the called instance has no business key, as in Camunda
])
def test_a_call_activity_passes_the_business_key_camunda_in_names(empty_db, mapping, passed):
    caller = definitions(process("key_parent", f'<bpmn:callActivity id="call" calledElement="key_child">'
                                               f"<bpmn:extensionElements>{mapping}"
                                               '<camunda:out source="key" target="child_key"/>'
                                               "</bpmn:extensionElements></bpmn:callActivity>",
                                 user_task("after", "父任务")))
    report = services.deploy_files(empty_db, [SourceFile("key_child.bpmn", KEY_CHILD), SourceFile("key_parent.bpmn", caller)],
                                   services.Actor.operator("t"))
    assert not any("businessKey" in warning for warning in report.warnings)
    instance = services.start_instance(empty_db, "key_parent", services.Actor.operator(), {"order": "A7"}, business_key="WO-12")
    view = services.show_instance(empty_db, instance, services.Actor.operator())
    assert view.data["child_key"] == passed and view.business_key == "WO-12"
    replayed = services.replay(empty_db, instance, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None
