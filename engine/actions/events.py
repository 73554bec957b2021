"""Messages and signals reaching a case, and entering a case by hand (engine.catching does the
work on SpiffWorkflow's own event machinery; these are the actions the services and replay run).

| action                          | function          | its event                               |
| ------------------------------- | ----------------- | --------------------------------------- |
| correlate a message             | ``correlate``     | ``message_correlated`` (element, name, variables) |
| send a signal                   | ``send_signal``   | ``signal_received`` (element, name, variables)    |
| start by a message or a signal  | ``start_by_event``| ``instance_started`` + one of the above with ``start_event`` |
| start by hand                   | ``enter``         | ``instance_started``                    |
"""
from __future__ import annotations

from typing import Any, Mapping

from SpiffWorkflow.bpmn import BpmnWorkflow

from engine import catching


def _deliver(workflow: BpmnWorkflow, kind: str, element_id: str, name: str, variables: Mapping[str, Any]) -> bool:
    task = catching.waiting_task(workflow, kind, name, element_id)
    if task is None:
        return False
    catching.deliver(workflow, task, dict(variables))
    return True


def correlate(workflow: BpmnWorkflow, element_id: str, name: str, variables: Mapping[str, Any]) -> bool:
    """The message reaches the event of this element waiting for it (its variables become
    process variables); the engine runs to the next wait. False: nothing there waits for it."""
    return _deliver(workflow, catching.MESSAGE, element_id, name, variables)


def send_signal(workflow: BpmnWorkflow, element_id: str, name: str, variables: Mapping[str, Any]) -> bool:
    """The signal reaches the case where this element waits for it (and, SpiffWorkflow's catch
    being the case's, every other catch of it in the case); the engine runs to the next wait."""
    return _deliver(workflow, catching.SIGNAL, element_id, name, variables)


def start_by_event(workflow: BpmnWorkflow, start_event: str, kind: str, name: str,
                   variables: Mapping[str, Any]) -> bool:
    """A new case entered at this message or signal start event (its other start events are not
    taken). False: that start event does not wait for it."""
    return catching.start_by_event(workflow, start_event, kind, name, dict(variables))


def enter(workflow: BpmnWorkflow) -> None:
    """Run a new case to its first wait as Camunda's startProcessInstanceByKey enters it (its none
    start event; a process whose only start is a message or signal start, there). ValueError:
    several such starts and no none start."""
    catching.start_run(workflow, catching.hand_start(workflow.spec))
