"""Completing a human task."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task

from engine import listeners, runtime, scope


def complete(workflow: BpmnWorkflow, task: Task, values: Mapping[str, Any], by: str | None = None) -> None:
    """``by`` submits ``values`` (already validated) on the READY ``task``; run to the next wait.

    The values are set on the case's one variable scope, as Camunda does (``engine.scope``):
    other branches see them at once, not only after a join. ``by`` holds the task from now on
    (``task.getAssignee()`` in its complete listener).
    """
    if by:
        listeners.assigned(task, by)
    task.data.update(values)
    scope.share(task, values)
    task.run()
    workflow.do_engine_steps()


def reassign(workflow: BpmnWorkflow, task: Task, to: str | None) -> None:
    """The open ``task`` was given to ``to`` (claimed, delegated, assigned; None: unclaimed): its
    update and assignment listeners run, as in Camunda (engine.listeners), then the engine runs on
    (a listener may change variables a waiting condition reads)."""
    if listeners.reacts_to_assignment(task.task_spec):
        listeners.reassigned(task, to)
        workflow.do_engine_steps()


def change_due(task: Task, due_at: datetime) -> list[str]:
    """A supervisor's new due time for the open ``task``: its dueDate, and the boundary timer that
    set its due time (the earliest, not a cycle) now waits until then; its update listeners run.
    The ids of the timers moved."""
    moved = [str(timer.id) for timer in runtime.set_due_date(task, due_at)]
    listeners.updated(task)
    return moved
