"""External tasks in the workflow: what a worker's answer does to the BPMN, live and in replay.

An external task (``camunda:type="external"``) is a SpiffWorkflow ``ServiceTask`` that ran nothing
and waits STARTED (see compat/parser.py). These functions are the one definition of each answer,
called by the services and by the replay, so both move the workflow the same way:

- ``complete``: the worker's variables become the task's data, the task completes, the engine
  runs to the next wait;
- ``throw_bpmn_error``: a BPMN error with the worker's code is thrown at the task, caught by an
  error boundary event with that code (or one without a code) on the task or an enclosing
  subprocess. Uncaught, Camunda 7 ends the execution the task belongs to ("Unhandled BPMN
  Error": the activity is left without taking its outgoing flows); so does this.
"""
from __future__ import annotations

import weakref
from typing import Any, Iterable

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import ErrorEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import scope
from engine.numbers import MAX_ID, whole_number


def camunda_of(spec: Any) -> dict[str, Any]:
    return (getattr(spec, "extensions", None) or {}).get("camunda") or {}


def is_external(spec: Any) -> bool:
    return camunda_of(spec).get("type") == "external"


def topic_of(spec: Any) -> str:
    return str(camunda_of(spec).get("topic") or "")


def priority_of(spec: Any) -> int:
    """``camunda:taskPriority`` of the task, else of its process; 0 when neither sets one."""
    return whole_number(str(camunda_of(spec).get("taskPriority") or ""), signed=True, most=MAX_ID) or 0


_HAS_EXTERNAL: "weakref.WeakKeyDictionary[Any, bool]" = weakref.WeakKeyDictionary()


def has_external(specs: tuple[Any, dict[str, Any]]) -> bool:
    """Whether a deployed version has external tasks (decided once per parsed version: the step
    path of a process without any pays nothing for them)."""
    spec, subprocesses = specs
    known = _HAS_EXTERNAL.get(spec)
    if known is None:
        known = _HAS_EXTERNAL[spec] = any(is_external(task_spec) for process in [spec, *subprocesses.values()]
                                          for task_spec in process.task_specs.values())
    return known


def waiting(workflow: BpmnWorkflow) -> list[Task]:
    """The external tasks the workflow waits on, subprocesses included."""
    return [task for task in workflow.get_tasks(state=TaskState.STARTED) if is_external(task.task_spec)]


def complete(workflow: BpmnWorkflow, task: Task, variables: dict[str, Any]) -> None:
    task.data.update(variables)
    scope.share(task, variables)  # the case's variables, as Camunda sets them: other branches see them
    task.complete()
    workflow.do_engine_steps()


def throw_bpmn_error(workflow: BpmnWorkflow, task: Task, code: str, variables: dict[str, Any],
                     message: str | None = None) -> bool:
    """Throw the error at the task; True if a boundary event caught it (else the execution ended).
    ``message``: what a catch's ``camunda:errorMessageVariable`` gets."""
    task.data.update(variables)
    scope.share(task, variables)
    catchers = [t for t in _error_boundaries(task) if t.task_spec.event_definition.code in (None, code)]
    if not catchers:
        task.cancel()
        workflow.do_engine_steps()
        return False
    thrown = ErrorEventDefinition(code, code=code)
    thrown.error_message = message or None  # as compat/events.py gives a diagram's thrown errors
    event = BpmnEvent(thrown, payload=dict(variables), target=task.workflow)
    workflow.top_workflow.catch(event)
    workflow.do_engine_steps()
    return True


def _error_boundaries(task: Task) -> Iterable[Task]:
    """Waiting error boundary events on the task and on the subprocesses around it."""
    current: Task | None = task
    while current is not None:
        parent = current.parent
        for sibling in parent.children if parent is not None else []:
            definition = getattr(sibling.task_spec, "event_definition", None)
            if isinstance(definition, ErrorEventDefinition) and sibling.state == TaskState.WAITING \
                    and getattr(sibling.task_spec, "cancel_activity", None) is not None:
                yield sibling
        current = _subprocess_task(current)


def _subprocess_task(task: Task) -> Task | None:
    """The (call activity / subprocess) task whose workflow holds this task, if any."""
    workflow = task.workflow
    parent_id = getattr(workflow, "parent_task_id", None)
    if parent_id is None:
        return None
    return workflow.top_workflow.get_task_from_id(parent_id)
