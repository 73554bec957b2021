"""Files drawn in other dialects of Camunda Modeler run as their own tool reads them, said at deploy.

The public corpus has such files (SpiffWorkflow's test diagrams, SpiffArena's): each behaviour here
is what Camunda 7 documents, or, where the file is in SpiffArena's dialect, what SpiffArena does.
"""
from __future__ import annotations

import pytest
from camunda_cases import definitions, process, user_task
from engine import compat, services
from engine.errors import DeployError

SPIFF = 'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"'


def deploy(db, body: bytes):
    return services.deploy_files(db, [compat.SourceFile("processes/dialect.bpmn", body)],
                                 services.Actor.operator("test"))


def flag(default: str) -> str:
    return user_task("check", "核对", inner=(
        '<bpmn:extensionElements><camunda:formData><camunda:formField id="ok" label="通过" '
        f'type="boolean" defaultValue="{default}"/></camunda:formData></bpmn:extensionElements>'))


@pytest.mark.parametrize("default, value", [("No", False), ("false", False), ("否", False), ("TRUE", True)])
def test_a_boolean_default_reads_as_camunda_reads_it(empty_db, default: str, value: bool) -> None:
    deploy(empty_db, definitions(process("flagged", flag(default))))
    case = services.start_instance(empty_db, "flagged", services.Actor.operator(), {})
    (task,) = services.show_instance(empty_db, case, services.Actor.operator()).open_tasks
    assert services.get_task(empty_db, task.id, services.Actor.operator()).values["ok"] is value


def test_a_boolean_default_camunda_would_read_as_false_but_means_yes_is_refused(empty_db) -> None:
    with pytest.raises(DeployError, match='默认值 "Yes" 在 Camunda 7 中读作 false'):
        deploy(empty_db, definitions(process("flagged", flag("Yes"))))


def test_plain_text_expression_on_a_message_throw_passes_through_with_a_warning(empty_db) -> None:
    throw = ('<bpmn:intermediateThrowEvent id="tell"><bpmn:messageEventDefinition messageRef="m" '
             'camunda:expression="plan_details"/></bpmn:intermediateThrowEvent>')
    report = deploy(empty_db, definitions(process("telling", throw, user_task("next", "下一步"))
                                          + '<bpmn:message id="m" name="plan"/>'))
    assert any('camunda:expression="plan_details" is plain text' in w for w in report.warnings)
    case = services.start_instance(empty_db, "telling", services.Actor.operator(), {})
    assert [t.name for t in services.show_instance(empty_db, case, services.Actor.operator()).open_tasks] == ["下一步"]


def test_a_juel_implementation_on_a_message_throw_is_still_refused(empty_db) -> None:
    throw = ('<bpmn:intermediateThrowEvent id="tell"><bpmn:messageEventDefinition messageRef="m" '
             'camunda:expression="${mailer.send(execution)}"/></bpmn:intermediateThrowEvent>')
    with pytest.raises(DeployError, match=r"dialect.bpmn:\d+: .*camunda:expression"):
        deploy(empty_db, definitions(process("telling", throw) + '<bpmn:message id="m" name="plan"/>'))


def test_an_untyped_task_in_a_spiffarena_file_waits_for_someone_to_mark_it_done(empty_db) -> None:
    body = definitions(process("arena", '<bpmn:task id="set_data" name="Set Data"/>',
                               attributes='spiffworkflow:note="x"')).replace(b"<bpmn:definitions ",
                                                                           f"<bpmn:definitions {SPIFF} ".encode())
    report = deploy(empty_db, body)
    assert any("drawn for SpiffArena" in w for w in report.warnings)
    case = services.start_instance(empty_db, "arena", services.Actor.operator(), {})
    (task,) = services.show_instance(empty_db, case, services.Actor.operator()).open_tasks
    supervisor = services.Actor("zhang", frozenset({"cs-supervisor"}))  # the unassigned queue's keeper
    services.complete(empty_db, task.id, supervisor, {})
    assert services.show_instance(empty_db, case, services.Actor.operator()).status == "completed"


def test_an_untyped_task_in_a_camunda_file_passes_through(empty_db) -> None:
    deploy(empty_db, definitions(process("plain", '<bpmn:task id="note" name="记一笔"/>')))
    case = services.start_instance(empty_db, "plain", services.Actor.operator(), {})
    assert services.show_instance(empty_db, case, services.Actor.operator()).status == "completed"
