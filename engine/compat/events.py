"""Message, signal and conditional events with Camunda 7's meaning, on SpiffWorkflow's own machinery.

What stock SpiffWorkflow 3.2 (Camunda flavour) does differently, and what runs here instead:
- a caught message's payload lands under ``<element>_Response`` (Camunda's parser class); in
  Camunda the variables a correlation carries become process variables: the plain BPMN
  `MessageEventDefinition` does that (``set_data(**payload)``), so every message event uses it;
- a thrown signal reaches other instances only when nothing in its own instance caught it; a
  Camunda signal is a broadcast: `BroadcastSignal` always leaves it in ``workflow.bpmn_events``
  too, where the service layer picks it up and delivers it to every other waiting instance and
  signal start event (engine/services/events.py);
- a signal end event is parsed as a none end event (the stock end-event parser looks for no
  signal): the end-event parser here reads it;
- a condition naming a variable not set yet fails the case; in Camunda the event waits:
  `VariableCondition` is false until the variable exists. It reads the variables as the instance
  has them now (the waiting event's own data and the newest step's), because a waiting task's own
  data never changes while it waits.
- an event sub-process with a message, signal or conditional start is started only when its
  event is caught, by changing the (shared, cached) spec, and without Camunda's scope rules:
  `attach_event_subprocesses` starts it with its scope instead, so it waits at its start event
  like any catch, and engine/catching.py applies the scope rules (interrupting or not);
Message throw and end events are made none events at translation (translate.py): in Camunda 7
such an event without an implementation sends nothing.
"""
from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.parser.event_parsers import (CANCEL_EVENT_XPATH, ERROR_EVENT_XPATH,
                                                     ESCALATION_EVENT_XPATH, MESSAGE_EVENT_XPATH,
                                                     SIGNAL_EVENT_XPATH, TERMINATION_EVENT_XPATH)
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (ErrorEventDefinition,
                                                                         EscalationEventDefinition,
                                                                         SignalEventDefinition)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.camunda.parser.event_parsers import CamundaEndEventParser

from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS


class NewestData:
    """A catch that fires sees the variables as they are now (Camunda's variables belong to the
    process instance): the newest step's variables it lacks are added to its own; what the event
    carries is then set on the whole instance (engine.scope), as Camunda sets it on the instance."""

    def update_task_data(self, my_task: Any) -> None:
        newest = my_task.workflow.top_workflow.last_task
        if newest is not None and newest is not my_task:
            my_task.data = {**newest.data, **my_task.data}
        super().update_task_data(my_task)
        carried = my_task.internal_data.get(getattr(self, "name", None) or "")
        if isinstance(carried, dict) and carried:
            from engine.scope import share  # engine.scope imports the parser, which imports this

            share(my_task, carried)


class CamundaMessage(NewestData, MessageEventDefinition):
    """A message: its variables become process variables where it is caught."""


class BroadcastSignal(NewestData, SignalEventDefinition):
    """A signal thrown in a diagram: caught in its own instance and broadcast to all others."""

    def throw(self, my_task: Any) -> None:
        event = BpmnEvent(self, payload=deepcopy(my_task.data))
        top = my_task.workflow.top_workflow
        top.catch(event)
        if not any(known is event for known in top.bpmn_events):
            top.bpmn_events.append(event)


class VariableCondition(NewestData, ConditionalEventDefinition):
    """A conditional event's condition, false while a variable it names does not exist.

    ``variable_name`` (``camunda:variableName``): evaluated again only when that variable changed
    (it is always evaluated when the event is reached), as Camunda does."""

    def __init__(self, expression: str, variable_name: str | None = None, **kwargs: Any):
        super().__init__(expression, **kwargs)
        self.variable_name = variable_name

    def has_fired(self, my_task: Any) -> bool:
        variables = {**my_task.data, **_newest_data(my_task.workflow)}
        if self.variable_name and not _watched_changed(my_task, variables.get(self.variable_name, _UNSET)):
            return False
        try:
            fired = bool(my_task.workflow.script_engine.environment.evaluate(self.expression, variables))
        except NameError:
            fired = False
        my_task._set_internal_data(has_fired=fired)
        return fired


_UNSET = "bpmdesk:unset"
_WATCHED = "bpmdesk_watched_value"


def _watched_changed(my_task: Any, value: Any) -> bool:
    """Whether the watched variable differs from when the condition was last evaluated."""
    text = json.dumps(value, sort_keys=True, default=str)
    changed = my_task.internal_data.get(_WATCHED) != text
    my_task.internal_data[_WATCHED] = text
    return changed


def _newest_data(workflow: Any) -> dict[str, Any]:
    last = workflow.top_workflow.last_task
    return dict(last.data) if last is not None else {}


class CodeVariables:
    """An error or escalation catch with `camunda:errorCodeVariable` / `errorMessageVariable` /
    `escalationCodeVariable`: where it catches, those variables get the thrown code and message
    (`camunda:errorMessage` of the thrown `bpmn:error`), as Camunda sets them. It matches what
    stock SpiffWorkflow's definition of its kind would (stock compares classes, and throwers stay
    stock), by code."""

    def __init__(self, *args: Any, variables: dict[str, str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.variables = variables  # "code" / "message" → variable name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, self.stock) and self.code in (None, other.code)

    __hash__ = None  # type: ignore[assignment] - compared, never hashed, like the stock definitions

    def catch(self, my_task: Any, event: Any = None) -> None:
        super().catch(my_task, event)
        thrown = event.event_definition
        found = {"code": thrown.code, "message": getattr(thrown, "error_message", None)}
        carried = my_task.internal_data.get(self.name)
        values = {variable: found[what] for what, variable in self.variables.items()}
        my_task.internal_data[self.name] = {**(carried if isinstance(carried, dict) else {}), **values}


class CamundaError(CodeVariables, ErrorEventDefinition):
    stock = ErrorEventDefinition


class CamundaEscalation(CodeVariables, EscalationEventDefinition):
    stock = EscalationEventDefinition


def _code_variables(event: Any, names: dict[str, str]) -> dict[str, str]:
    return {what: value.strip() for what, attribute in names.items()
            if (value := event.get(f"{{{CAMUNDA_NS}}}{attribute}") or "").strip()}


class CamundaEvents:
    """Parser mixin: event definitions with Camunda 7's meaning (see the module docstring)."""

    def parse_error_event(self, error_event):
        definition = super().parse_error_event(error_event)
        error = error_event.getroottree().getroot().find(
            f"{{{BPMN_NS}}}error[@id='{error_event.get('errorRef') or ''}']")
        message = (error.get(f"{{{CAMUNDA_NS}}}errorMessage") or "").strip() or None if error is not None else None
        variables = _code_variables(error_event, {"code": "errorCodeVariable", "message": "errorMessageVariable"})
        if variables:
            definition = CamundaError(definition.name, definition.code, description=definition.description,
                                      variables=variables)
        definition.error_message = message  # what a catch's errorMessageVariable gets
        return definition

    def parse_escalation_event(self, escalation_event):
        definition = super().parse_escalation_event(escalation_event)
        variables = _code_variables(escalation_event, {"code": "escalationCodeVariable"})
        if not variables:
            return definition
        return CamundaEscalation(definition.name, definition.code, description=definition.description,
                                 variables=variables)

    def parse_message_event(self, message_event):
        reference = message_event.get("messageRef")
        if reference is not None:
            name = self.process_parser.parser.messages.get(reference)
            if name is None:
                self.raise_validation_exception("Expected a Message node", node=message_event)
        else:
            name = message_event.getparent().get("name")
        return CamundaMessage(name, description=self.get_event_description(message_event))

    def parse_signal_event(self, signal_event):
        definition = super().parse_signal_event(signal_event)
        return BroadcastSignal(definition.name, description=definition.description)

    def parse_conditional_event(self, event):
        definition = super().parse_conditional_event(event)
        watched = (event.get(f"{{{CAMUNDA_NS}}}variableName") or "").strip() or None
        return VariableCondition(definition.expression, watched, description=definition.description)


_ATTACHED = (MessageEventDefinition, SignalEventDefinition, ConditionalEventDefinition)


def attach_event_subprocesses(spec: Any, spec_of: Any) -> None:
    """Start the spec's message/signal/conditional event sub-processes with the spec itself;
    ``spec_of(name)``: the parsed spec of a sub-process. Idempotent."""
    for name in list(spec.start.trigger_specs):
        holder = spec.task_specs[name]
        starts = spec_of(holder.spec).bpmn_start_events
        if starts and all(isinstance(start.event_definition, _ATTACHED) for start in starts):
            holder.event_subprocess = True
            spec.event_subprocesses = True
            spec.start.connect(holder)
            holder.connect(spec.end)
            spec.start.trigger_specs.remove(name)


class SignalEndEventParser(CamundaEvents, CamundaEndEventParser):
    """End events, signal end events included."""

    def create_task(self):
        definition = self.get_event_definition([MESSAGE_EVENT_XPATH, SIGNAL_EVENT_XPATH, CANCEL_EVENT_XPATH,
                                                ERROR_EVENT_XPATH, ESCALATION_EVENT_XPATH,
                                                TERMINATION_EVENT_XPATH])
        task = self._create_task(definition)
        task.connect(self.spec.end)
        return task
