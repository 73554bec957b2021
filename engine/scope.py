"""Camunda 7 process variables: one scope per process instance, shared by every branch, and the
local scopes of activities with input parameters.

SpiffWorkflow gives each task its own copy of the data: a value a parallel branch sets stays
invisible to the other branches until they join. In Camunda a variable set anywhere in a process
instance (a form submitted, a script, a call activity's output) is set on the nearest scope that
already holds it, else on the instance (`execution.setVariable`), so every other branch sees it at
once. `share` copies what one task changed to the other live tasks (ready, waiting, started) of
the same process instance that see that scope: its embedded sub-processes too, but not a called
process (a call activity's instance has its own variables; only camunda:in/out cross).

Local scopes (`camunda:inputOutput`, docs.camunda.org 7.2x "Input/Output Variable Mapping"):
- when an activity with input parameters is entered (`enter`), each parameter is evaluated in the
  enclosing scope and becomes a LOCAL variable of the activity: a form, a script, a call
  activity's result written under that name stays in the activity (and, for a sub-process, is seen
  by its inner tasks only); a variable of that name outside is hidden meanwhile and unchanged;
- when it completes (`leave`), output parameters are evaluated in the activity's scope, the local
  variables end (a hidden outer value is visible again, with any change made to it meanwhile),
  and the outputs are set in the enclosing scope as `setVariable` would set them.
The locals live in the task's data (scripts and expressions read them by name); the task's
internal data keeps which names are local, their values, and the outer values they hide.

The cost of `share` is one pass over the live tasks per change, whatever the number of variables
the instance holds; scope look-ups happen only in instances whose process has local scopes.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
#: The task spec extension holding the parameters: {"input": [[name, python], …], "output": […]}.
IO = "camunda_io"
#: Process specs with a local scope somewhere set this attribute (parser.py); others skip scopes.
HAS_LOCALS = "bpmdesk_local_scopes"
#: Set on the call activity spec class (parser.MappedCallActivity).
CALLS_ANOTHER_INSTANCE = "calls_another_instance"
_LOCALS = "bpmdesk_locals"  # internal data: {"values": {name: value}, "outer": {name: hidden value}}


def share(task: Task, changed: Mapping[str, Any], removed: Iterable[str] = ()) -> None:
    """Set `changed` (and drop `removed`) where Camunda's setVariable would: on the nearest scope
    of `task` holding the name, else the instance; every live task seeing that scope gets it."""
    removed = list(removed)
    if not changed and not removed:
        return
    workflows = _instance_workflows(task.workflow)
    if any(getattr(workflow.spec, HAS_LOCALS, False) for workflow in workflows):
        _share_scoped(task, workflows, changed, removed)
        return
    for workflow in workflows:
        for other in workflow.tasks.values():
            if other is task or not other.state & _LIVE:
                continue
            for name, value in changed.items():
                other.data[name] = deepcopy(value)
            for name in removed:
                other.data.pop(name, None)


def share_changes(task: Task, before: Mapping[str, Any]) -> None:
    """`share` what differs between `before` (a shallow copy of the data) and the data now."""
    changed = {name: value for name, value in task.data.items()
               if name not in before or before[name] is not value and before[name] != value}
    share(task, changed, [name for name in before if name not in task.data])


_ABSENT = object()


def _share_scoped(task: Task, workflows: list[Any], changed: Mapping[str, Any], removed: list[str]) -> None:
    writes = {**changed, **dict.fromkeys(removed, _ABSENT)}
    targets = {name: _holder(task, name) for name in writes}
    for workflow in workflows:
        for other in workflow.tasks.values():
            if not other.state & _LIVE:
                continue
            for name, value in writes.items():
                holder = _holder(other, name)
                if holder is targets[name]:
                    if other is not task:
                        _put(other.data, name, value)
                    if holder is other:
                        _put(other.internal_data[_LOCALS]["values"], name, value)
                elif holder is other and _holder(_enclosing(other), name) is targets[name]:
                    _put(other.internal_data[_LOCALS]["outer"], name, value)  # the value it hides


def _put(data: dict[str, Any], name: str, value: Any) -> None:
    if value is _ABSENT:
        data.pop(name, None)
    else:
        data[name] = deepcopy(value)


def _holder(task: Task | None, name: str) -> Task | None:
    """The nearest task (this one or an enclosing sub-process) holding `name` locally; None: the instance."""
    while task is not None:
        if name in task.internal_data.get(_LOCALS, {}).get("values", ()):
            return task
        task = _enclosing(task)
    return None


def _enclosing(task: Task | None) -> Task | None:
    """The embedded sub-process task whose scope holds this task (None at the instance's top)."""
    if task is None:
        return None
    owner = _owner(task.workflow)
    return None if owner is None or _calls_another_instance(owner) else owner


def local_variables(task: Task) -> dict[str, Any]:
    """The task's own local variables (`camunda:in … local="true"` passes these)."""
    return {name: deepcopy(task.data.get(name)) for name in task.internal_data.get(_LOCALS, {}).get("values", {})}


def instance_variables(task: Task) -> dict[str, Any]:
    """The task's data as its process instance holds it: without the local variables of the task
    and of its enclosing sub-processes (a hidden outer value in their place)."""
    data = dict(task.data)
    holder: Task | None = task
    while holder is not None:
        marker = holder.internal_data.get(_LOCALS)
        for name in marker["values"] if marker else ():
            if name in marker["outer"]:
                data[name] = marker["outer"][name]
            else:
                data.pop(name, None)
        holder = _enclosing(holder)
    return data


def set_local(task: Task, values: Mapping[str, Any]) -> None:
    """Set `values` as local variables of the task (`camunda:out … local="true"`)."""
    marker = task.internal_data.setdefault(_LOCALS, {"values": {}, "outer": {}})
    for name, value in values.items():
        if name not in marker["values"] and name in task.data:
            marker["outer"][name] = deepcopy(task.data[name])
        marker["values"][name] = deepcopy(value)
        task.data[name] = deepcopy(value)


def enter(workflow: Any, task: Task) -> None:
    """The activity is entered: its input parameters become its local variables (connected to the
    task spec's update event, which SpiffWorkflow emits once the task has its predecessor's data)."""
    marker = task.internal_data.get(_LOCALS)
    if marker is not None:  # updated again while it waits: its predecessor's data was copied over it
        task.data.update(deepcopy(marker["values"]))
        return
    inputs = {name: _evaluate(task, "input", name, python) for name, python in task.task_spec.extensions[IO]["input"]}
    if inputs:
        set_local(task, inputs)


def leave(workflow: Any, task: Task) -> None:
    """The activity completed: outputs are evaluated in its scope, its locals end, the outputs are
    set in the enclosing scope (connected to the task spec's completed event)."""
    outputs = {name: _evaluate(task, "output", name, python) for name, python in task.task_spec.extensions[IO]["output"]}
    marker = task.internal_data.pop(_LOCALS, None)
    if marker is not None:
        for name in marker["values"]:
            if name in marker["outer"]:
                task.data[name] = marker["outer"][name]
            else:
                task.data.pop(name, None)
    task.data.update(outputs)
    share(task, outputs)


def _evaluate(task: Task, direction: str, name: str, python: str) -> Any:
    try:
        return task.workflow.script_engine.evaluate(task, python)
    except WorkflowTaskException:
        raise
    except Exception as error:  # noqa: BLE001 - the diagram's parameter failed: name it
        raise WorkflowTaskException(f"camunda:{direction}Parameter {name} ({python}) failed: "
                                    f"{type(error).__name__}: {error}", task=task) from error


def _owner(workflow: Any) -> Task | None:
    """The task that runs this sub-workflow (None for the case's own workflow)."""
    parent_id = getattr(workflow, "parent_task_id", None)
    if parent_id is None:
        return None
    top = workflow.top_workflow
    for candidate in (top, *top.subprocesses.values()):
        if parent_id in candidate.tasks:
            return candidate.tasks[parent_id]
    return None


def _calls_another_instance(task: Task) -> bool:
    """A call activity's instance has its own variables (an embedded sub-process, which stock
    SpiffWorkflow's Camunda parser also builds as a CallActivity, shares its caller's)."""
    return getattr(task.task_spec, CALLS_ANOTHER_INSTANCE, False)


def instance_root(workflow: Any) -> Any:
    """The workflow whose variables this one shares — the process instance's (a called process is
    its own): climb out of embedded sub-processes."""
    while True:
        owner = _owner(workflow)
        if owner is None or _calls_another_instance(owner):
            return workflow
        workflow = owner.workflow


def _instance_workflows(workflow: Any) -> list[Any]:
    root = instance_root(workflow)
    subs = [sub for sub in workflow.top_workflow.subprocesses.values() if instance_root(sub) is root]
    return [root, *[sub for sub in subs if sub is not root]]


def loop_variables(task: Task) -> dict[str, int]:
    """Camunda's multi-instance variables for an expression evaluated on one instance (as
    `completionCondition` is, after each instance completes): `loopCounter` (the instance's index,
    from 0), `nrOfInstances`, `nrOfActiveInstances`, `nrOfCompletedInstances`. Empty elsewhere."""
    parent = task.parent
    spec = parent.task_spec if parent is not None else None
    if not isinstance(spec, MultiInstanceTask):
        return {}
    instances = [child for child in parent.children if child.task_spec.name == spec.task_spec]
    completed = len(parent.internal_data.get("merged", []))
    active = sum(1 for child in instances if not child.has_state(TaskState.FINISHED_MASK))
    total = len(instances)
    if isinstance(spec, SequentialMultiInstanceTask):
        total += len(parent.internal_data.get("remaining", [])) if spec.data_input is not None else (
            parent.internal_data.get("cardinality", 0) - parent.internal_data.get("current", 0))
    index = task.internal_data.get("key_or_index")
    counter = index if isinstance(index, int) else next(
        (position for position, child in enumerate(instances) if child is task), 0)
    return {"loopCounter": counter, "nrOfInstances": total, "nrOfActiveInstances": active,
            "nrOfCompletedInstances": completed}
