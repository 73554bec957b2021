"""Camunda 7 execution and task listeners, run in the sandbox at the moments Camunda documents.

docs.camunda.org 7.2x, "Delegation Code" → Execution Listener / Task Listener:
- execution listener `start`: the activity (event, gateway, sub-process) is entered, after its
  input parameters are set, before it does its work; `end`: it is left (after its output
  parameters), also when it is cancelled (an interrupting boundary event, the case cancelled);
  `take`: a sequence flow is taken (before the target's `start`). On a multi-instance activity
  `start`/`end` run for each instance. On the process: `start` when a case starts, `end` when it ends.
- task listener (user tasks) `create`: the task exists with its properties set; `assignment`:
  after `create` when the diagram gives the task an assignee, and whenever it is given to someone
  later (claim, delegation); `complete`: the task is completed, before the execution listener
  `end`; `delete`: the task is removed without being completed (cancelled), so never with `complete`.
Each body is Python (the listener's script, or its `${…}` expression translated at deploy,
engine.compat.listeners), run as a script task's is: `engine.sandbox` with Camunda's `execution`
(and `task` in a task listener), variables set on the case's scope (engine.scope).

SpiffWorkflow has no listeners; its task spec events are the hooks (`connect`). Which moments
already happened is kept in the task's internal data, so a task updated again while it waits
does not start again, and only a started task ends on cancel.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.task import Task

from engine import runtime
from engine.sandbox import FACTS, facts_of

#: The task's internal data: "started" once entered, "ended" once left; the assignee a listener
#: or a person gave it (`task.getAssignee()`).
_STATE = "bpmdesk_listened"
ASSIGNEE = "bpmdesk_assignee"
_TASK_LISTENERS = "bpmdesk_task_listeners"  # set on a user task spec with task listeners
_ASSIGNMENT_LISTENERS = "bpmdesk_assignment_listeners"  # its listeners, when giving it to someone runs some

Listeners = Mapping[str, Sequence[str]]  # event → Python bodies; "take" → {source element id: bodies}


def connect(spec: Any, listeners: Mapping[str, Any]) -> None:
    """Hook an element's listeners to its task spec (the inner spec of a multi-instance activity
    for `start`/`end` and task events; `take` goes on the outer one — see parser._Listeners).
    A parallel or inclusive gateway is entered when it passes (SpiffWorkflow's join has no update
    event; a take listener into one is refused at deploy)."""
    if any(listeners.get(event) for event in TASK_EVENTS):
        setattr(spec, _TASK_LISTENERS, True)
    if listeners.get("assignment") or listeners.get("update"):
        setattr(spec, _ASSIGNMENT_LISTENERS, listeners)
    joins = isinstance(spec, UnstructuredJoin)
    (spec.ready_event if joins else spec.update_event).connect(_entered, listeners)
    if listeners.get("create") or listeners.get("assignment"):
        spec.ready_event.connect(_created, listeners)
    if listeners.get("complete"):
        spec.run_event.connect(_run_event, "complete", listeners)
    spec.completed_event.connect(_left, listeners)
    spec.cancelled_event.connect(_cancelled, listeners)


def connect_process(start_spec: Any, end_spec: Any, listeners: Listeners) -> None:
    """The process's own `start` (when a case starts) and `end` (when it ends) listeners."""
    if listeners.get("start"):
        start_spec.run_event.connect(_run_event, "start", listeners)
    if listeners.get("end"):
        end_spec.run_event.connect(_run_event, "end", listeners)


def _entered(workflow: Any, task: Task, listeners: Mapping[str, Any]) -> None:
    if _STATE in task.internal_data:
        return
    task.internal_data[_STATE] = "started"
    source = _source_element(task)
    if source is not None:
        run(task, "take", listeners.get("take", {}).get(source, ()))
    run(task, "start", listeners.get("start", ()))


def _created(workflow: Any, task: Task, listeners: Listeners) -> None:
    run(task, "create", listeners.get("create", ()))
    if listeners.get("assignment") and assignee(task):
        run(task, "assignment", listeners["assignment"])


def _run_event(workflow: Any, task: Task, event: str, listeners: Listeners) -> None:
    run(task, event, listeners.get(event, ()))


def _left(workflow: Any, task: Task, listeners: Listeners) -> None:
    task.internal_data[_STATE] = "ended"
    run(task, "end", listeners.get("end", ()))


def _cancelled(workflow: Any, task: Task, listeners: Listeners) -> None:
    if task.internal_data.get(_STATE) != "started":
        return  # never entered (a branch not taken) or already left
    task.internal_data[_STATE] = "ended"
    if getattr(task.task_spec, "manual", False):
        run(task, "delete", listeners.get("delete", ()))
    run(task, "end", listeners.get("end", ()))


def assigned(task: Task, name: str | None) -> None:
    """Someone was given the task (a listener's `task.setAssignee`, the person completing it):
    what `task.getAssignee()` answers from now on. Kept only where a task listener may ask."""
    if getattr(task.task_spec, _TASK_LISTENERS, False):
        task.internal_data[ASSIGNEE] = name


def reacts_to_assignment(spec: Any) -> bool:
    """Whether giving a task of this spec to someone runs listeners (assignment or update)."""
    return bool(getattr(spec, _ASSIGNMENT_LISTENERS, False))


def reassigned(task: Task, name: str | None) -> None:
    """The open task was given to `name` (a claim, a delegation, a supervisor's assignment; None:
    back to its groups): Camunda runs `update`, then — the assignee changed — `assignment`."""
    if assignee(task) == name:
        return
    assigned(task, name)
    listeners = getattr(task.task_spec, _ASSIGNMENT_LISTENERS, None) or {}
    run(task, "update", listeners.get("update", ()))
    run(task, "assignment", listeners.get("assignment", ()))


def updated(task: Task) -> None:
    """A property of the open task other than its assignee changed (its due time): `update`."""
    found = getattr(task.task_spec, _ASSIGNMENT_LISTENERS, None) or {}
    run(task, "update", found.get("update", ()))


def assignee(task: Task) -> str | None:
    """Who holds the task: given by a listener or a person, else the diagram's `camunda:assignee`
    (an expression that cannot be evaluated is the diagram's error, runtime.assignment)."""
    if ASSIGNEE in task.internal_data:
        return task.internal_data[ASSIGNEE]
    return next(iter(runtime.assignment(task, "assignee")), None)


def run(task: Task, event: str, bodies: Sequence[str]) -> None:
    """Run each listener body of `event` on `task`, in the diagram's order."""
    for body in bodies:
        facts = {**facts_of(task), "eventName": event, "task_listener": event in TASK_EVENTS}
        if facts["task_listener"]:
            facts["assignee"] = assignee(task)
        try:
            task.workflow.script_engine.execute(task, body, {FACTS: facts})
        except WorkflowTaskException as error:
            error.add_note(f"in the {_kind(event)} listener ({event}) of {task.task_spec.bpmn_id or 'the process'}")
            raise
        if facts["task_listener"] and facts["assignee"] != assignee(task):
            assigned(task, facts["assignee"])  # task.setAssignee(…)


TASK_EVENTS = frozenset({"create", "assignment", "complete", "delete", "update"})


def _kind(event: str) -> str:
    return "task" if event in TASK_EVENTS else "execution"


def _source_element(task: Task) -> str | None:
    """The element the token came from: the nearest ancestor that is another BPMN element
    (boundary-event splits and a multi-instance's own task are SpiffWorkflow's, not the diagram's)."""
    own = task.task_spec.bpmn_id
    parent = task.parent
    while parent is not None:
        bpmn_id = getattr(parent.task_spec, "bpmn_id", None)
        if bpmn_id is not None and bpmn_id != own:
            return bpmn_id
        parent = parent.parent
    return None
