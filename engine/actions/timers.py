"""Timers: firing the due timers of a case, and starting a case from its timer start event."""
from __future__ import annotations

from datetime import datetime, timedelta

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.task import Task


def fire_timers(workflow: BpmnWorkflow) -> None:
    """Let every timer whose due time has passed (by ``engine.clock``) fire, and run on."""
    workflow.refresh_timers()
    workflow.do_engine_steps()


def start_by_timer(workflow: BpmnWorkflow, now: datetime) -> Task | None:
    """Run a new case from its timer start event, which the scheduler has decided is due; the
    start event's task (None if the diagram has no timer start event).

    SpiffWorkflow would wait on the start event's timer (and repeat a cycle inside this one
    instance), so the timer is marked as fired in the task's internal data; a cycle is made to
    complete one repetition, which needs a second engine pass to create the path after the event.
    """
    start = _timer_start_event(workflow)
    if start is not None:
        if isinstance(start.task_spec.event_definition, CycleTimerEventDefinition):
            start._set_internal_data(event_value={"cycles": 1, "duration": 0.0,
                                                  "next": (now - timedelta(seconds=1)).isoformat()})
        else:
            start._set_internal_data(event_fired=True)
    for _ in range(2):  # the second pass completes a cycle start event (see above)
        workflow.do_engine_steps()
    return start


def _timer_start_event(workflow: BpmnWorkflow) -> Task | None:
    for task in workflow.get_tasks():
        spec = task.task_spec
        if isinstance(spec, StartEvent) and isinstance(getattr(spec, "event_definition", None),
                                                       TimerEventDefinition):
            return task
    return None
