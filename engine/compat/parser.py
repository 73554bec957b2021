"""SpiffWorkflow's CamundaParser, extended where stock 3.2 loses what an analyst modelled.

- user tasks: `extensions['camunda']` carries the assignment (assignee, candidates, dates,
  priority) next to the `camunda:properties` stock already keeps;
- start events: a start form (`camunda:formData`) becomes `task_spec.form`, the same `Form` a user
  task has, and `camunda:initiator` goes to `extensions['camunda']['initiator']`;
- plain tasks and manual tasks: complete as soon as they are reached, as Camunda 7 runs them
  (stock SpiffWorkflow makes them wait for someone to run them, and nobody's inbox shows them);
- call activities: `camunda:in` / `camunda:out` decide what passes into the called process and back,
  as in Camunda 7 — without a mapping nothing passes (stock SpiffWorkflow passes everything both
  ways); see `MappedCallActivity`;
- `camunda:inputOutput` on any element: local variables as in Camunda 7 (`_LocalScopes`, engine.scope);
- execution and task listeners: run at Camunda's moments (`_Listeners`, engine.listeners);
- message, signal and conditional events: Camunda 7's meaning (events.py);
- business rule tasks: a missing `camunda:decisionRef` no longer crashes the parser with a
  KeyError (deploy reports it properly before SpiffWorkflow ever sees the file); decisions are
  read and evaluated by engine.dmn (FEEL, every hit policy, required decisions), handed to each
  task through SpiffWorkflow's `get_engine` hook, with `camunda:resultVariable` and
  `camunda:mapDecisionResult` kept on the task;
- external tasks (`camunda:type="external"` on a service or send task) become SpiffWorkflow's
  `ServiceTask`, which waits STARTED until completed from outside, with topic and priority in
  `extensions['camunda']` (see engine/services/external.py).
Trees handed to this parser must have been translated by translate.py.
"""
from __future__ import annotations

import functools
from copy import deepcopy
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import ReceiveTaskParser, SendTaskParser
from SpiffWorkflow.bpmn.specs.defaults import (BoundaryEvent, CallActivity, EndEvent, IntermediateCatchEvent,
                                               IntermediateThrowEvent, NoneTask, ReceiveTask, SendTask, ServiceTask,
                                               StartEvent)
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (CamundaBoundaryEventParser,
                                                        CamundaIntermediateCatchEventParser,
                                                        CamundaIntermediateThrowEventParser,
                                                        CamundaStartEventParser)
from SpiffWorkflow.camunda.parser.task_spec import (BusinessRuleTaskParser, CallActivityParser,
                                                    CamundaTaskParser, UserTaskParser)
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.camunda.specs.user_task import UserTask

from engine import catching, listeners, scope
from engine.compat import listeners as compat_listeners
from engine.compat.assignment import assignment_of
from engine.compat.foureyes import FourEyes, read_four_eyes
from engine.compat.events import CamundaEvents, SignalEndEventParser, attach_event_subprocesses
from engine.compat.iomapping import parameters
from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS
from engine.sandbox import FACTS, facts_of
from engine.dmn.model import Decision, blocked_by, read_dmn
from engine.dmn.task import DecisionEngine, DecisionTask


class AssignedUserTaskParser(UserTaskParser):
    """Keeps Camunda assignment attributes, which stock SpiffWorkflow ignores, and the user tasks
    this one checks (``fourEyes``, foureyes.py), resolved once per process."""

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        extensions["camunda"] = assignment_of(self.node)
        checked = self._four_eyes().checks.get(self.node.get("id"))
        if checked:
            extensions["camunda"]["fourEyes"] = list(checked)
        return extensions

    def _four_eyes(self) -> FourEyes:
        process = next(self.node.iterancestors(f"{{{BPMN_NS}}}process"))
        cache = self.process_parser.parser.four_eyes
        if process not in cache:
            cache[process] = read_four_eyes(process)
        return cache[process]


class FormStartEventParser(CamundaEvents, CamundaStartEventParser):
    """Start events with a start form get a `form`, read exactly as a user task's form is."""

    get_form = UserTaskParser.get_form
    get_enum_field = UserTaskParser.get_enum_field

    def create_task(self):
        task = super().create_task()
        if self.xpath("./bpmn:extensionElements/camunda:formData"):
            task.form = self.get_form()
        task.interrupting = self.node.get("isInterrupting", "true") != "false"  # of an event sub-process
        return task

    def parse_extensions(self, node=None):
        initiator = (self.node.get(f"{{{CAMUNDA_NS}}}initiator") or "").strip()
        return {"camunda": {"initiator": initiator}} if initiator else {}


class PassThroughTask(NoneTask):
    """A `bpmn:task` or `bpmn:manualTask`: Camunda 7 completes it at once (no one is asked)."""

    def __init__(self, wf_spec, bpmn_id, **kwargs):
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


class MappedCallActivityParser(CallActivityParser):
    """Reads `camunda:in` / `camunda:out` (sourceExpression already translated to Python)."""

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        extensions["camunda"] = {direction: [_mapping(item) for item in self.xpath(
            f"./bpmn:extensionElements/camunda:{direction}")] for direction in ("in", "out")}
        return extensions


def _mapping(item) -> dict:
    return {"all": item.get("variables") == "all", "local": item.get("local") == "true",
            "source": item.get("source"), "expression": item.get("sourceExpression"),
            "target": item.get("target"), "businessKey": item.get("businessKey")}


class MappedCallActivity(CallActivity):
    """A call activity passing variables as Camunda 7 does: only what `camunda:in` names goes into
    the called instance when it starts, only what `camunda:out` names comes back when it ends
    (onto the calling case, which keeps all its other variables). A missing source variable
    passes null. `local="true"` on camunda:in passes the call activity's own local variables (its
    input parameters); on camunda:out it sets the results as local variables of the call
    activity (gone when it ends, unless an output parameter maps them)."""

    calls_another_instance = True  # engine.scope: its instance has variables of its own

    def copy_data(self, my_task, subworkflow):
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True, spec_name="Start")
        passed = {**self._mapped(my_task, "in", my_task.data, local=False),
                  **self._mapped(my_task, "in", scope.local_variables(my_task), local=True)}
        start.set_data(**passed)
        for item in self.extensions.get("camunda", {}).get("in", []):
            if item.get("businessKey") is not None:  # `camunda:in businessKey`: the called instance's key
                key = self._evaluate(my_task, "in businessKey", item["businessKey"], my_task.data)
                catching.set_business_key(subworkflow, None if key is None else str(key))

    def update_data(self, my_task, subworkflow):
        data = subworkflow.last_task.data
        returned = self._mapped(my_task, "out", data, local=False)
        my_task.data.update(returned)
        scope.share(my_task, returned)
        scope.set_local(my_task, self._mapped(my_task, "out", data, local=True))

    def _mapped(self, my_task, direction: str, data: dict, local: bool) -> dict:
        found: dict = {}
        for item in self.extensions.get("camunda", {}).get(direction, []):
            if item["local"] != local or item.get("businessKey") is not None:
                continue
            if item["all"]:
                found.update(deepcopy(data))
            elif item["expression"] is not None:
                found[item["target"]] = self._evaluate(my_task, f"{direction} sourceExpression", item["expression"], data)
            elif item["source"]:
                found[item["target"]] = deepcopy(data.get(item["source"]))
        return found

    @staticmethod
    def _evaluate(my_task, what: str, expression: str, data: dict):
        try:
            return my_task.workflow.script_engine.environment.evaluate(expression, dict(data),
                                                                       {FACTS: facts_of(my_task)})
        except Exception as error:  # noqa: BLE001 - the diagram's expression failed: name it
            raise WorkflowTaskException(f"camunda:{what} {expression} failed: "
                                        f"{type(error).__name__}: {error}", task=my_task) from error


class _LocalScopes:
    """Mixed into every element parser: `camunda:inputOutput` (read by iomapping.py) goes into the
    task spec's extensions, and engine.scope's `enter` / `leave` are connected to the spec that
    carries it (for a multi-instance activity the inner one: Camunda maps inputs per instance)."""

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        if self.xpath("./bpmn:extensionElements/camunda:inputOutput") or self._local_call_outputs():
            extensions[scope.IO] = {direction: [[p.name, p.python] for p in parameters(self.node, direction)]
                                    for direction in ("input", "output")}
        return extensions

    def _local_call_outputs(self) -> bool:
        return bool(self.xpath('./bpmn:extensionElements/camunda:out[@local="true"]'))

    def parse_node(self):
        spec = super().parse_node()
        carrier = self.spec.task_specs.get(f"{self.bpmn_id} [child]", self.task)
        if scope.IO in (getattr(carrier, "extensions", None) or {}):
            carrier.update_event.connect(scope.enter)
            carrier.completed_event.connect(scope.leave)
            setattr(self.spec, scope.HAS_LOCALS, True)
        return spec


class _Listeners:
    """Mixed into every element parser: the element's Camunda listeners and the take listeners of
    the flows into it (compat/listeners.py, checked at deploy) are hooked to its task spec
    (engine.listeners) — for a multi-instance activity, start/end and task events on each instance."""

    def parse_node(self):
        spec = super().parse_node()
        own = compat_listeners.bodies(self.node)
        takes = compat_listeners.take_bodies(self.node.getparent().xpath(
            "./bpmn:sequenceFlow[@targetRef=$id][bpmn:extensionElements/camunda:executionListener]",
            id=self.bpmn_id, namespaces={"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}))
        carrier = self.spec.task_specs.get(f"{self.bpmn_id} [child]", self.task)
        if carrier is not self.task:
            if own:
                listeners.connect(carrier, own)
            own = {}
        if own or takes:
            listeners.connect(self.task, {**own, "take": takes})
        return spec


@functools.cache
def _with_local_scopes(parser: type) -> type:
    return type(parser.__name__, (_Listeners, _LocalScopes, parser), {})


class DecisionTaskParser(BusinessRuleTaskParser):
    @staticmethod
    def get_decision_ref(node):
        return node.get(f"{{{CAMUNDA_NS}}}decisionRef")

    def create_task(self):
        engine = self.process_parser.parser.get_engine(self.get_decision_ref(self.node), self.node)
        return DecisionTask(self.spec, self.bpmn_id, dmnEngine=engine,
                            result_variable=(self.node.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip() or None,
                            map_decision_result=self.node.get(f"{{{CAMUNDA_NS}}}mapDecisionResult"),
                            **self.bpmn_attributes)


def _with_events(parser: type) -> type:
    return type(parser.__name__, (CamundaEvents, parser), {})


class _ExternalWork:
    """For a service or send task done by an external worker (``camunda:type="external"``):
    SpiffWorkflow's ServiceTask runs nothing and stays STARTED, which is exactly the wait state an
    external task needs."""

    def _camunda(self, name: str) -> str:
        return (self.node.get(f"{{{CAMUNDA_NS}}}{name}") or "").strip()

    def create_task(self):
        if self._camunda("type") == "external":
            return ServiceTask(self.spec, self.bpmn_id, **self.bpmn_attributes)
        return super().create_task()

    def parse_extensions(self, node=None):
        extensions = super().parse_extensions(node)
        if self._camunda("type") == "external":
            process_priority = (self.process_parser.node.get(f"{{{CAMUNDA_NS}}}taskPriority") or "").strip()
            extensions["camunda"] = {"type": "external", "topic": self._camunda("topic"),
                                     "taskPriority": self._camunda("taskPriority") or process_priority}
        return extensions


class ExternalServiceTaskParser(_ExternalWork, CamundaTaskParser):
    pass


class ExternalSendTaskParser(_ExternalWork, SendTaskParser):
    pass


_PROCESS_LISTENERS = "bpmdesk_process_listeners"  # set on a process spec once its listeners are connected


class DeskParser(CamundaParser):
    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        full_tag("userTask"): (AssignedUserTaskParser, UserTask),
        full_tag("startEvent"): (FormStartEventParser, StartEvent),
        full_tag("businessRuleTask"): (DecisionTaskParser, DecisionTask),
        full_tag("callActivity"): (MappedCallActivityParser, MappedCallActivity),
        full_tag("task"): (CamundaTaskParser, PassThroughTask),
        full_tag("manualTask"): (CamundaTaskParser, PassThroughTask),
        # message, signal and conditional events as Camunda 7 runs them (events.py)
        full_tag("endEvent"): (SignalEndEventParser, EndEvent),
        full_tag("intermediateCatchEvent"): (_with_events(CamundaIntermediateCatchEventParser),
                                             IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_with_events(CamundaIntermediateThrowEventParser),
                                             IntermediateThrowEvent),
        full_tag("boundaryEvent"): (_with_events(CamundaBoundaryEventParser), BoundaryEvent),
        full_tag("receiveTask"): (_with_events(ReceiveTaskParser), ReceiveTask),


        full_tag("serviceTask"): (ExternalServiceTaskParser, ServiceTask),
        full_tag("sendTask"): (ExternalSendTaskParser, SendTask),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decisions: dict[str, Decision] = {}
        self.four_eyes: dict[Any, FourEyes] = {}  # bpmn:process element → its checks

    def add_dmn_xml(self, node, filename=None):
        """Every decision of a DMN file (checked at deploy), compiled by engine.dmn."""
        self.decisions.update(read_dmn(filename or "", node).decisions)

    def _get_parser_class(self, tag):
        parser, spec_class = super()._get_parser_class(tag)
        return (_with_local_scopes(parser) if parser is not None else None), spec_class

    def get_engine(self, decision_ref, node):
        blocked = blocked_by(self.decisions, decision_ref) if decision_ref in self.decisions else (
            f'decision "{decision_ref}" is not in the deployed DMN files '
            f"(deployed: {', '.join(sorted(self.decisions)) or 'none'})")
        if blocked:
            raise ValidationException(blocked, node=node)
        return DecisionEngine(self.decisions, decision_ref)


    def get_spec(self, process_id, required=True):
        """Every spec, sub-process specs included (get_subprocess_specs asks here for each)."""
        spec = super().get_spec(process_id, required)
        if spec is not None:
            attach_event_subprocesses(spec, self._spec_of)
            self._connect_process_listeners(spec, process_id)
        return spec

    def _connect_process_listeners(self, spec, process_id) -> None:
        """A process's own start/end listeners (not an embedded sub-process's: its element has them)."""
        parser = self.process_parsers.get(process_id)
        if parser is None or parser.node.tag != f"{{{BPMN_NS}}}process" or getattr(spec, _PROCESS_LISTENERS, False):
            return
        setattr(spec, _PROCESS_LISTENERS, True)
        found = compat_listeners.bodies(parser.node)
        if found:
            listeners.connect_process(spec.task_specs["Start"], spec.task_specs["End"], found)

    def _spec_of(self, name):
        return self.process_parsers[name].get_spec()


def build_parser() -> DeskParser:
    """A parser for translated trees; XSD validation already happened at deploy."""
    return DeskParser()
