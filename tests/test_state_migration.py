"""Stored SpiffWorkflow state is migrated on load by its ``serializer_version``: a library
upgrade cannot silently misread the cases saved before it."""
from __future__ import annotations

import json

import pytest
from SpiffWorkflow.util.task import TaskState

from camunda_cases import definitions, user_task
from engine import actions, compat, runtime
from engine.errors import ProcessError

COUNTERSIGN = definitions(
    '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start"/>'
    + user_task("sign", "会签", inner='<bpmn:multiInstanceLoopCharacteristics>'
                '<bpmn:loopCardinality>2</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>')
    + '<bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sign"/>'
    '<bpmn:sequenceFlow id="f2" sourceRef="sign" targetRef="end"/></bpmn:process>')


def countersign_case() -> tuple[tuple, dict]:
    specs = compat.parse_specs(compat.load_bundle([compat.SourceFile("p.bpmn", COUNTERSIGN)]).processes["p"])
    workflow = actions.start(specs, {})
    actions.proceed(workflow)
    return specs, json.loads(runtime.dump_workflow(workflow))


def as_saved_by_1_3(state: dict) -> str:
    """The same case as SpiffWorkflow's format 1.3 kept it: a multi-instance task under way was
    WAITING (1.4 made it STARTED, merging its children by events)."""
    for task in state["tasks"].values():
        if task["task_spec"] == "sign":
            task["state"] = int(TaskState.WAITING)
    return json.dumps({**state, "serializer_version": "1.3"})


def test_a_state_saved_in_an_older_format_is_migrated_and_the_case_goes_on():
    specs, state = countersign_case()
    workflow = runtime.load_workflow(specs, as_saved_by_1_3(state))
    sign = next(t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "sign" and t.task_spec.name == "sign")
    assert sign.state == TaskState.STARTED
    for task in runtime.open_user_tasks(workflow):
        actions.complete(workflow, task, {})
    assert workflow.is_completed()
    assert json.loads(runtime.dump_workflow(workflow))["serializer_version"] == runtime.STATE_VERSION


def test_a_state_from_a_newer_library_is_refused_not_guessed_at():
    specs, state = countersign_case()
    with pytest.raises(ProcessError, match="9.9"):
        runtime.load_workflow(specs, json.dumps({**state, "serializer_version": "9.9"}))
