"""Starting and cancelling a case."""
from __future__ import annotations

from typing import Any, Mapping

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine import catching, runtime


def start(specs: tuple[Any, dict[str, Any]], data: Mapping[str, Any],
          business_key: str | None = None) -> BpmnWorkflow:
    """A new workflow whose start event carries ``data`` (the start form, the initiator) and
    which has this business key; not yet run: an ordinary start then ``proceed``s, a timer start
    runs ``start_by_timer``, a message or signal start ``start_by_event``."""
    workflow = runtime.new_workflow(specs)
    catching.set_business_key(workflow, business_key)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    return workflow


def proceed(workflow: BpmnWorkflow) -> None:
    """Run the engine to the next wait (a user task, a timer, the end)."""
    workflow.do_engine_steps()


def cancel(workflow: BpmnWorkflow) -> None:
    """Stop the case for good: every unfinished task is cancelled, no timer waits any more."""
    workflow.cancel()
