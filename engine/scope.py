"""Camunda 7 process variables: one scope per process instance, shared by every branch.

SpiffWorkflow gives each task its own copy of the data: a value a parallel branch sets stays
invisible to the other branches until they join. In Camunda a variable set anywhere in a process
instance (a form submitted, a script, a call activity's output) is set on the instance — the
nearest scope holding it, and here that is always the instance, since local scopes (input
mappings) are refused at deploy — so every other branch sees it at once.

`share` copies what one task changed to the other live tasks (ready, waiting, started) of the same
process instance: its embedded sub-processes too, but not a called process (a call activity's
instance has its own variables; only camunda:in/out cross). The cost is one pass over the live
tasks per change, whatever the number of variables the instance holds.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask, SequentialMultiInstanceTask
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.compat.parser import MappedCallActivity

_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def share(task: Task, changed: Mapping[str, Any], removed: Iterable[str] = ()) -> None:
    """Set `changed` (and drop `removed`) on every other live task of `task`'s process instance."""
    removed = list(removed)
    if not changed and not removed:
        return
    for workflow in _instance_workflows(task.workflow):
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
    return isinstance(task.task_spec, MappedCallActivity)


def _scope_root(workflow: Any) -> Any:
    """The workflow whose variables this one shares: climb out of embedded sub-processes."""
    while True:
        owner = _owner(workflow)
        if owner is None or _calls_another_instance(owner):
            return workflow
        workflow = owner.workflow


def _instance_workflows(workflow: Any) -> list[Any]:
    root = _scope_root(workflow)
    subs = [sub for sub in workflow.top_workflow.subprocesses.values() if _scope_root(sub) is root]
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
