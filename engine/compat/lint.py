"""Deploy-time checks of one BPMN file: what this Python engine cannot run is named, with FILE:LINE.

A construct that would change what the process does (Java code, external workers, other script
languages, Camunda 8 extensions, a lost assignment) is an error. Something that only the Camunda
engine or modeler used (job executor settings, external form references, history settings) is a
warning that says what is ignored. Unknown extensions are warned about, never dropped silently.
JUEL/FEEL expressions and timers are checked where they are translated (translate.py).

Choices worth knowing:
- listeners are refused even with a Python script: SpiffWorkflow's Camunda specs have no hook to
  run them, and a listener that silently never runs is worse than a script task in the diagram;
- `zeebe:` (Camunda 8) is refused, except an empty `zeebe:userTask` marker (nothing to lose) and a
  `zeebe:formDefinition` pointing at an external form, which is a warning like `camunda:formRef`;
- a service or send task needs an implementation (Camunda 7 refuses one without, too); here none
  exists, so a bare one is refused instead of waiting forever (business logic goes into script
  tasks calling the business functions, `engine.sandbox.business_functions`);
- a plain `task` and a `manualTask` run straight through, as in Camunda 7 (parser.py).
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from lxml import etree

from engine.compat.foureyes import FOUR_EYES, read_four_eyes
from engine.compat.juel import is_juel
from engine.compat.xmlsafe import (BPMN_NS, CAMUNDA_NS, SPIFF_NS, ZEEBE_NS, Findings, describe,
                                   owner, short_name)
from engine.dmn import MAPPINGS
from engine.sandbox import rejection

_SILENT_NAMESPACES = {
    BPMN_NS, None, "http://www.omg.org/spec/BPMN/20100524/DI", "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI", "http://www.w3.org/2001/XMLSchema-instance",
    "http://www.w3.org/XML/1998/namespace", "http://camunda.org/schema/modeler/1.0",
    "http://bpmn.io/schema/bpmn/biocolor/1.0", "http://www.omg.org/spec/BPMN/non-normative/color/1.0",
}
_RESERVED_IDS = {"Start", "End", "Root", "StartEventSplit", "StartEventJoin"}
_RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")
_IMPLEMENTED_TASKS = {"serviceTask", "sendTask", "businessRuleTask"}
_PROPERTY_OWNERS = {"task", "manualTask", "userTask", "businessRuleTask", "subProcess", "callActivity",
                    "transaction"}
_FORM_OWNERS = {"userTask", "startEvent"}

#: camunda: attributes this deployment reads, or that carry no behaviour at all.
_CAMUNDA_USED = {
    "assignee", "candidateUsers", "candidateGroups", "dueDate", "followUpDate", "priority", "formKey",
    "formRef", "formRefBinding", "formRefVersion", "candidateStarterGroups", "collection",
    "elementVariable", "decisionRef", "initiator", "expression", "resultVariable", "type", "topic",
    "errorMessage", "historyTimeToLive", "versionTag", "isStartableInTasklist", "diagramRelationId",
    "modelerTemplate", "modelerTemplateVersion", "class", "delegateExpression", "mapDecisionResult",
    "calledElementBinding", "calledElementVersion", "calledElementVersionTag", "decisionRefBinding",
    "decisionRefVersion", "decisionRefVersionTag",
    "variableName", "variableEvents",  # conditional events (variableEvents is refused where checked)
    "taskPriority",  # of an external task, or of a process: the default of its external tasks
}
#: camunda: attributes ignored with a warning, and why ignoring them is harmless.
_CAMUNDA_IGNORED = {
    **dict.fromkeys(("asyncBefore", "asyncAfter", "async", "exclusive", "jobPriority"),
                    "job-executor setting: every step here is committed as one unit of work"),
    **dict.fromkeys(("calledElementTenantId", "decisionRefTenantId"),
                    "there are no tenants here: every deployment is the same tenant's"),
    **dict.fromkeys(("errorCodeVariable", "errorMessageVariable", "escalationCodeVariable"),
                    "that variable will not be set when the event is caught"),
}
CAMUNDA_IGNORED = _CAMUNDA_IGNORED  # for the construct inventory (inventory.py)
#: camunda: attributes that need the Java engine.
_CAMUNDA_REFUSED = {
    "resource": "loads a script or expression from an external resource",
    "candidateStarterUsers": "is not supported: restrict starters with camunda:candidateStarterGroups",
    "variableMappingClass": "is a Java variable mapping",
    "variableMappingDelegateExpression": "is a Java variable mapping",
    "caseRef": "calls a CMMN case",
    "formHandlerClass": "is a Java form handler",
}
_LISTENER_KINDS = ("class", "expression", "delegateExpression")
#: Camunda engine objects in a script, except the `execution` methods the sandbox provides.
_CAMUNDA_OBJECTS = re.compile(r"\b(execution|task)\s*\.\s*(?!(?<=execution\.)(?:getVariables?|setVariable|"
                              r"hasVariable|removeVariable|getVariableLocal|setVariableLocal)\b)(\w+)")


@dataclass
class FileFacts:
    """What other files of the deployment must provide for this one, and what it provides."""

    processes: dict[str, etree._Element] = field(default_factory=dict)  # executable ones
    calls: list[tuple[etree._Element, str]] = field(default_factory=list)  # callActivity, process id
    decisions: list[tuple[etree._Element, str]] = field(default_factory=list)  # task, decision id
    non_executable: dict[str, etree._Element] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)  # every id in the file, for dangling references
    form_refs: list[tuple[etree._Element, str]] = field(default_factory=list)  # userTask, camunda:formRef


def check_bpmn(file: str, root: etree._Element, findings: Findings) -> FileFacts:
    """Report every problem of one BPMN document; return its cross-file references."""
    facts = FileFacts(ids=set(root.xpath("//@id")))
    processes = root.findall(f"{{{BPMN_NS}}}process")
    for process in processes:
        target = facts.processes if process.get("isExecutable", "true") == "true" else facts.non_executable
        target[process.get("id", "")] = process
    _check_executable(file, root, facts, findings)
    _check_ids(file, root, findings)
    _check_attributes(file, root, findings)
    for child in root:
        if not isinstance(child.tag, str) or etree.QName(child).localname == "BPMNDiagram":
            continue
        if child.get("id") in facts.non_executable and etree.QName(child).localname == "process":
            continue
        for element in child.iter():
            if isinstance(element.tag, str):
                _check_element(file, element, facts, findings)
    for process in facts.processes.values():
        _check_process(file, process, findings)
    return facts


def _check_executable(file: str, root: etree._Element, facts: FileFacts, findings: Findings) -> None:
    if not facts.processes and not facts.non_executable:
        findings.error(file, root, "the file defines no bpmn:process")
    elif not facts.processes:
        ids = ", ".join(f'"{pid}"' for pid in facts.non_executable)
        findings.error(file, next(iter(facts.non_executable.values())),
                       f'every process ({ids}) has isExecutable="false": nothing to deploy '
                       '(tick "Executable" in Camunda Modeler)')
    else:
        for pid, process in facts.non_executable.items():
            findings.warn(file, process, f'process "{pid}" has isExecutable="false": it is not deployed')


def _check_ids(file: str, root: etree._Element, findings: Findings) -> None:
    """Ids SpiffWorkflow uses itself, and root elements it cannot index without an id."""
    for kind in _DEFINED:
        for element in root.findall(f"{{{BPMN_NS}}}{kind}"):
            if not element.get("id"):
                findings.error(file, element, f"a bpmn:{kind} has no id")
    for element in root.iter():
        element_id = element.get("id") if isinstance(element.tag, str) else None
        if element_id and (element_id in _RESERVED_IDS or element_id.endswith(_RESERVED_SUFFIXES)):
            findings.error(file, element, f'{short_name(element.tag)} has the id "{element_id}", which '
                           "SpiffWorkflow reserves for its own tasks: rename it in the modeler")


def _check_process(file: str, process: etree._Element, findings: Findings) -> None:
    if not process.get("id"):
        findings.error(file, process, "a process has no id")
    groups = process.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups") or ""
    if is_juel(groups):
        findings.error(file, process, f"{describe(process)} camunda:candidateStarterGroups={groups} "
                       "must list group names, not an expression")
    starts = process.findall(f"{{{BPMN_NS}}}startEvent")
    if not starts:
        findings.error(file, process, f"{describe(process)} has no start event")
    timer_starts = [s for s in starts if s.find(f"{{{BPMN_NS}}}timerEventDefinition") is not None]
    if len(timer_starts) > 1:
        findings.error(file, timer_starts[1], f"{describe(process)} has {len(timer_starts)} timer start "
                       "events; the scheduler starts a process from one timer only")
    for where, text in read_four_eyes(process).problems:
        findings.error(file, where, text)


def _check_element(file: str, element: etree._Element, facts: FileFacts, findings: Findings) -> None:
    namespace = etree.QName(element).namespace
    if namespace == BPMN_NS:
        _check_bpmn_element(file, element, facts, findings)
        _check_attributes(file, element, findings)
    elif namespace == CAMUNDA_NS:
        _check_camunda_element(file, element, findings)
    elif _is_extension(element):
        _check_foreign_extension(file, element, findings)


def _is_extension(element: etree._Element) -> bool:
    parent = element.getparent()
    return parent is not None and parent.tag == f"{{{BPMN_NS}}}extensionElements"


# --- BPMN elements ------------------------------------------------------------------------------

def _check_bpmn_element(file: str, element: etree._Element, facts: FileFacts, findings: Findings) -> None:
    kind = etree.QName(element).localname
    check = _BPMN_CHECKS.get(kind)
    if check:
        check(file, element, facts, findings)
    if kind in _IMPLEMENTED_TASKS:
        _check_implementation(file, element, findings)
    if kind in _REFERENCES:
        _check_reference(file, element, kind, facts, findings)


#: Attributes naming a root element of the file; SpiffWorkflow crashes when they dangle.
_REFERENCES = {"messageEventDefinition": "messageRef", "signalEventDefinition": "signalRef",
               "errorEventDefinition": "errorRef", "escalationEventDefinition": "escalationRef",
               "sendTask": "messageRef", "receiveTask": "messageRef"}
_DEFINED = ("message", "signal", "error", "escalation")


def _check_reference(file: str, element: etree._Element, kind: str, facts: FileFacts,
                     findings: Findings) -> None:
    reference = element.get(_REFERENCES[kind])
    if reference is not None and reference not in facts.ids:
        findings.error(file, element, f'{describe(element)} {_REFERENCES[kind]}="{reference}" names no '
                       f"{_REFERENCES[kind][:-3]} of this file")


def _check_script_task(file: str, task: etree._Element, facts: FileFacts, findings: Findings) -> None:
    script_format = (task.get("scriptFormat") or "python").strip()
    if script_format.lower() != "python":
        findings.error(file, task, f'{describe(task)} has scriptFormat="{script_format}": only Python '
                       "scripts run here")
    script = task.find(f"{{{BPMN_NS}}}script")
    text = (script.text or "") if script is not None else ""
    if task.get(f"{{{CAMUNDA_NS}}}resource") is None and not text.strip():
        findings.error(file, task, f"{describe(task)} has no script")
    engine_object = _CAMUNDA_OBJECTS.search(text)
    if engine_object:
        findings.error(file, task, f"{describe(task)} script uses Camunda's {engine_object.group(1)}."
                       f"{engine_object.group(2)}: not available here; scripts read and assign variables by "
                       "name, or use execution.getVariable / setVariable / hasVariable / removeVariable")
    if task.get(f"{{{CAMUNDA_NS}}}resultVariable") is not None:
        findings.error(file, task, f"{describe(task)} uses camunda:resultVariable: not supported; "
                       "assign the variable inside the script")
    if script_format.lower() == "python" and text.strip():
        _check_script_source(file, task, script, text, findings)


def _check_script_source(file: str, task: etree._Element, script: etree._Element, text: str,
                         findings: Findings) -> None:
    """Python that does not parse is refused; what the sandbox forbids (print, imports) is a
    warning that names it, since the rest of the diagram runs until a case reaches the script."""
    rejected = rejection(text)
    if rejected is None:
        return
    line = (script.sourceline or task.sourceline or 1) + max(rejected.lineno - 1, 0)
    try:
        ast.parse(text)
    except SyntaxError:
        findings.error(file, task, f"{describe(task)} script is not valid Python: {rejected.message}",
                       rule="expression-syntax", fix="correct the Python on that line of the script", line=line)
        return
    findings.warn(file, task, f"{describe(task)} script will fail when a case reaches it: {rejected.message}",
                  rule="expression-syntax", fix="rewrite that line with what scripts may use (docs/analysts.md)",
                  line=line)


def _check_business_rule(file: str, task: etree._Element, facts: FileFacts, findings: Findings) -> None:
    if any(task.get(f"{{{CAMUNDA_NS}}}{name}") for name in ("class", "delegateExpression", "expression")):
        return  # reported as an implementation problem
    decision = (task.get(f"{{{CAMUNDA_NS}}}decisionRef") or "").strip()
    if not decision:
        findings.error(file, task, f"{describe(task)} has no camunda:decisionRef (no DMN decision to run)")
    elif is_juel(decision):
        findings.error(file, task, f"{describe(task)} camunda:decisionRef={decision!r} is an expression; "
                       "name the decision id itself")
    else:
        facts.decisions.append((task, decision))
    _check_decision_result(file, task, findings)


def _check_decision_result(file: str, task: etree._Element, findings: Findings) -> None:
    """camunda:resultVariable / mapDecisionResult as Camunda 7 accepts them."""
    result = (task.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip()
    mapping = task.get(f"{{{CAMUNDA_NS}}}mapDecisionResult")
    if mapping is not None and mapping not in MAPPINGS:
        findings.error(file, task, f'{describe(task)} camunda:mapDecisionResult="{mapping}" is none of '
                       f"{', '.join(MAPPINGS)}")
    if result == "decisionResult":
        findings.error(file, task, f'{describe(task)} camunda:resultVariable="decisionResult": Camunda reserves '
                       "that name for the decision result itself; choose another variable name")
    elif result and is_juel(result):
        findings.error(file, task, f"{describe(task)} camunda:resultVariable={result!r} is an expression; "
                       "name the variable itself")
    elif mapping is not None and not result:
        findings.warn(file, task, f'{describe(task)} camunda:mapDecisionResult="{mapping}" has no effect '
                      "without camunda:resultVariable: each output column is set under its own name")


def _check_call_activity(file: str, task: etree._Element, facts: FileFacts, findings: Findings) -> None:
    called = (task.get("calledElement") or "").strip()
    if not called:
        findings.error(file, task, f"{describe(task)} has no calledElement (which process to call)")
    elif is_juel(called):
        findings.error(file, task, f"{describe(task)} calledElement={called!r} is an expression; "
                       "name the process id itself")
    else:
        facts.calls.append((task, called))


def _check_subprocess(file: str, task: etree._Element, facts: FileFacts, findings: Findings) -> None:
    if task.find(f"{{{BPMN_NS}}}startEvent") is None:
        findings.error(file, task, f"embedded {describe(task)} has no start event")


def _check_start_event(file: str, event: etree._Element, facts: FileFacts, findings: Findings) -> None:
    _check_forms(file, event, facts, findings)
    parent = event.getparent()
    if parent is not None and etree.QName(parent).localname == "process" \
            and event.find(f"{{{BPMN_NS}}}conditionalEventDefinition") is not None:
        findings.error(file, event, f"{describe(event)} is a conditional start event: Camunda starts these "
                       "only through evaluateStartConditions, which has no counterpart here; use a message "
                       "start event (bpmdesk correlate) or a none start event")


def _check_timer(file: str, event: etree._Element, facts: FileFacts, findings: Findings) -> None:
    if not any(event.find(f"{{{BPMN_NS}}}{kind}") is not None
               for kind in ("timeDate", "timeDuration", "timeCycle")):
        findings.error(file, event, f"{describe(event)} has an empty timerEventDefinition (no date, "
                       "duration or cycle)", rule="timer-empty",
                       fix="give the timer a Duration (PT15M), a Date (2026-06-01T09:00) or a Cycle (R/P1D)")


def _check_flow(file: str, flow: etree._Element, facts: FileFacts, findings: Findings) -> None:
    for end in ("sourceRef", "targetRef"):
        if flow.get(end) not in facts.ids:
            findings.error(file, flow, f'{describe(flow)} {end}="{flow.get(end) or ""}" names no element of '
                           "this file")


def _check_boundary(file: str, event: etree._Element, facts: FileFacts, findings: Findings) -> None:
    if event.get("attachedToRef") not in facts.ids:
        findings.error(file, event, f'{describe(event)} is attached to "{event.get("attachedToRef") or ""}", '
                       "which is no element of this file")
    if not any(etree.QName(child).localname.endswith("EventDefinition") for child in event
               if isinstance(child.tag, str)):
        findings.error(file, event, f"{describe(event)} has no event definition (timer, message, error, …)")


def _check_link(file: str, event: etree._Element, facts: FileFacts, findings: Findings) -> None:
    if not (event.get("name") or "").strip():
        findings.error(file, event, f"{describe(event)} has a linkEventDefinition without a name "
                       "(the name pairs a throwing link with its catching link)")


def _check_conditional(file: str, event: etree._Element, facts: FileFacts, findings: Findings) -> None:
    condition = event.find(f"{{{BPMN_NS}}}condition")
    if condition is None or not (condition.text or "").strip():
        findings.error(file, event, f"{describe(event)} has a conditionalEventDefinition without condition")
    if (event.get(f"{{{CAMUNDA_NS}}}variableEvents") or "").strip():
        findings.error(file, event, f"{describe(event)} camunda:variableEvents is not supported: the condition "
                       "is evaluated on every change (of camunda:variableName, if set); remove variableEvents")


def _refuse(what: str):
    def check(file: str, element: etree._Element, facts: FileFacts, findings: Findings) -> None:
        findings.error(file, element, f"{describe(element)}: {what}")
    return check


def _check_send_task(file: str, task: etree._Element, facts: FileFacts, findings: Findings) -> None:
    """Camunda 7 runs a send task like a service task: without an implementation it refuses it."""
    if not _implementation_attributes(task) and task.find(
            f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}connector") is None:
        findings.error(file, task, f"{describe(task)} has no implementation (Camunda 7 refuses a send task "
                       "without one too): to send a message draw a message intermediate throw event; "
                       "to run business logic use a script task that calls a business function")


def _check_forms(file: str, element: etree._Element, facts: FileFacts, findings: Findings) -> None:
    key = element.get(f"{{{CAMUNDA_NS}}}formKey")
    if key and ":" in key:
        findings.warn(file, element, f'{describe(element)} camunda:formKey="{key}" is an external form: '
                      "ignored; the form is built from camunda:formData")
    ref = (element.get(f"{{{CAMUNDA_NS}}}formRef") or "").strip()
    if ref and etree.QName(element).localname == "userTask":
        facts.form_refs.append((element, ref))  # resolved against the deployment's .form files
    elif ref:
        findings.warn(file, element, f'{describe(element)} camunda:formRef="{ref}" (Camunda Forms) is an '
                      "external form: ignored; the form is built from camunda:formData")


def _check_user_task(file: str, task: etree._Element, facts: FileFacts, findings: Findings) -> None:
    _check_forms(file, task, facts, findings)
    if not any((task.get(f"{{{CAMUNDA_NS}}}{name}") or "").strip()
               for name in ("assignee", "candidateUsers", "candidateGroups")):
        findings.warn(file, task, f"{describe(task)} has no assignee and no candidates: nobody sees it in "
                      "an inbox until a supervisor or admin assigns it from the 未分配 (unassigned) queue",
                      rule="task-nobody", fix="set camunda:assignee or camunda:candidateGroups")


_BPMN_CHECKS = {
    "scriptTask": _check_script_task,
    "businessRuleTask": _check_business_rule,
    "callActivity": _check_call_activity,
    "subProcess": _check_subprocess,
    "transaction": _check_subprocess,
    "timerEventDefinition": _check_timer,
    "linkEventDefinition": _check_link,
    "sequenceFlow": _check_flow,
    "boundaryEvent": _check_boundary,
    "conditionalEventDefinition": _check_conditional,
    "compensateEventDefinition": _refuse("compensation events are not supported by SpiffWorkflow"),
    "complexGateway": _refuse("complex gateways are not supported by SpiffWorkflow"),
    "sendTask": _check_send_task,
    "userTask": _check_user_task,
    "startEvent": _check_start_event,
}


def _implementation_attributes(task: etree._Element) -> list[str]:
    names = ("class", "delegateExpression", "expression", "type")
    return [name for name in names if task.get(f"{{{CAMUNDA_NS}}}{name}")]


def _check_implementation(file: str, task: etree._Element, findings: Findings) -> None:
    """Service-like tasks: Java, JUEL, external workers and connectors cannot run here."""
    attribute = lambda name: task.get(f"{{{CAMUNDA_NS}}}{name}")  # noqa: E731
    if attribute("class"):
        findings.error(file, task, f'{describe(task)} uses camunda:class="{attribute("class")}" (Java '
                       "delegate): not supported by this Python engine")
    if attribute("delegateExpression"):
        findings.error(file, task, f'{describe(task)} uses camunda:delegateExpression='
                       f'"{attribute("delegateExpression")}" (Java bean): not supported by this Python '
                       "engine")
    if attribute("expression"):
        findings.error(file, task, f'{describe(task)} uses camunda:expression="{attribute("expression")}" '
                       "(JUEL method call): not supported; use a script task")
    if attribute("type") == "external":
        _check_external(file, task, attribute("topic"), findings)
    connector = task.find(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}connector")
    if connector is not None:
        connector_id = connector.findtext(f"{{{CAMUNDA_NS}}}connectorId") or ""
        findings.error(file, connector, f'{describe(task)} uses camunda:connector "{connector_id.strip()}": '
                       "connectors are not supported; use a script task")
    plain_service = (etree.QName(task).localname == "serviceTask" and connector is None
                     and not _implementation_attributes(task) and not _foreign_children(task))
    if plain_service:
        findings.error(file, task, f"{describe(task)} has no implementation; service tasks do not run "
                       "here: use a script task that calls a business function")


def _check_external(file: str, task: etree._Element, topic: str | None, findings: Findings) -> None:
    """An external task is fetched by workers by its topic (``/engine-rest/external-task``)."""
    kind = etree.QName(task).localname
    if kind not in ("serviceTask", "sendTask"):
        findings.error(file, task, f'{describe(task)} uses camunda:type="external": only service and send '
                       "tasks can be external tasks here; use camunda:decisionRef for a decision")
    elif not (topic or "").strip():
        findings.error(file, task, f'{describe(task)} is an external task without camunda:topic: set the '
                       "topic its workers subscribe to (Implementation → External → Topic)")
    elif task.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics") is not None:
        findings.error(file, task, f"{describe(task)} is a multi-instance external task: not supported; "
                       "put the external task in a multi-instance subprocess")
    else:
        findings.translated(file, task, f'{describe(task)} camunda:type=external camunda:topic={topic.strip()}: '
                            "it waits until a worker fetches and completes it through "
                            "/engine-rest/external-task (fetchAndLock), as in Camunda 7")
    priority = task.get(f"{{{CAMUNDA_NS}}}taskPriority")
    if priority is not None and not re.fullmatch(r"-?\d{1,9}", priority.strip()):
        findings.error(file, task, f'{describe(task)} camunda:taskPriority="{priority}" is not a whole '
                       "number (expressions are not supported here)")


def _foreign_children(task: etree._Element) -> list[etree._Element]:
    extensions = task.find(f"{{{BPMN_NS}}}extensionElements")
    return [] if extensions is None else [
        child for child in extensions if isinstance(child.tag, str)
        and etree.QName(child).namespace in (ZEEBE_NS, SPIFF_NS)]


# --- attributes on BPMN elements ---------------------------------------------------------------

def _check_attributes(file: str, element: etree._Element, findings: Findings) -> None:
    for name, value in element.attrib.items():
        qname = etree.QName(name)
        if qname.namespace == CAMUNDA_NS:
            _check_camunda_attribute(file, element, qname.localname, value, findings)
        elif qname.namespace == ZEEBE_NS:
            findings.error(file, element, f'{describe(element)} uses zeebe:{qname.localname}="{value}" '
                           "(Camunda 8): not supported by this engine")
        elif qname.namespace not in _SILENT_NAMESPACES:
            findings.warn(file, element, f"{describe(element)} attribute {{{qname.namespace}}}"
                          f"{qname.localname} is an unknown extension: ignored")


def _message_sent_by_worker(element: etree._Element) -> bool:
    """The message definition of a throw or end event with `camunda:type="external"`: Camunda 7
    creates an external task for it, as for a send task."""
    parent = element.getparent()
    return (etree.QName(element).localname == "messageEventDefinition" and parent is not None
            and etree.QName(parent).localname in ("intermediateThrowEvent", "endEvent")
            and element.get(f"{{{CAMUNDA_NS}}}type") == "external")


def _check_camunda_attribute(file: str, element: etree._Element, name: str, value: str,
                             findings: Findings) -> None:
    kind = etree.QName(element).localname
    sent_by_worker = _message_sent_by_worker(element)
    if name == "type" and value == "external" and sent_by_worker:
        return  # made an external send task at translation (translate.py), topic checked there
    if name in ("class", "delegateExpression", "type") and kind not in _IMPLEMENTED_TASKS:
        findings.error(file, element, f'{describe(element)} uses camunda:{name}="{value}" (Java delegate '
                       "or external task): not supported by this Python engine")
    elif name in _CAMUNDA_REFUSED:
        findings.error(file, element, f'{describe(element)} camunda:{name}="{value}" '
                       f"{_CAMUNDA_REFUSED[name]}")
    elif name in _CAMUNDA_IGNORED:
        findings.warn(file, element, f"{describe(element)} camunda:{name} is ignored: "
                      f"{_CAMUNDA_IGNORED[name]}")
    elif name == "expression" and kind == "messageEventDefinition" and is_juel(value):
        findings.error(file, element, f'{describe(element)} camunda:expression="{value}" is a JUEL '
                       "implementation: not supported (a Python payload expression is)")
    elif name == "type" and value != "external":
        findings.error(file, element, f'{describe(element)} camunda:type="{value}" is not supported')
    elif name == "taskPriority" and kind not in ("serviceTask", "sendTask", "process") and not sent_by_worker:
        findings.warn(file, element, f"{describe(element)} camunda:taskPriority is ignored: it is the "
                      "priority of external tasks only")
    elif name not in _CAMUNDA_USED:
        findings.warn(file, element, f"{describe(element)} camunda:{name} is not supported here: ignored",
                      rule="camunda-unknown", fix=f"remove camunda:{name} (or check its spelling)")


# --- extension elements ----------------------------------------------------------------------------

def _check_camunda_element(file: str, element: etree._Element, findings: Findings) -> None:
    kind = etree.QName(element).localname
    check = _CAMUNDA_ELEMENT_CHECKS.get(kind)
    if check:
        check(file, element, findings)
    elif _is_extension(element) and kind not in _CAMUNDA_KNOWN_CHILDREN:
        findings.warn(file, element, f"{describe(element)} camunda:{kind} is not supported here: ignored",
                      rule="camunda-unknown", fix=f"remove camunda:{kind} (or check its spelling)")


def _check_listener(file: str, listener: etree._Element, findings: Findings) -> None:
    kind = short_name(listener.tag)
    event = listener.get("event", "")
    for attribute in _LISTENER_KINDS:
        if listener.get(attribute):
            findings.error(file, listener, f'{describe(listener)} has a {kind} ({event}) with {attribute}='
                           f'"{listener.get(attribute)}" (Java/JUEL listener): not supported here')
            return
    script = listener.find(f"{{{CAMUNDA_NS}}}script")
    language = script.get("scriptFormat", "") if script is not None else ""
    findings.error(file, listener, f"{describe(listener)} has a {kind} ({event}) with a script "
                   f"(scriptFormat={language}): script listeners are not supported; model the logic "
                   "as a script task")


_MAPPING_ATTRIBUTES = {"source", "sourceExpression", "target", "variables", "local", "businessKey"}


def _check_call_mapping(file: str, mapping: etree._Element, findings: Findings) -> None:
    """camunda:in / camunda:out as Camunda 7 documents them (see parser.MappedCallActivity)."""
    kind = short_name(mapping.tag)
    if etree.QName(owner(mapping)).localname != "callActivity":
        findings.error(file, mapping, f"{describe(mapping)} {kind} belongs on a call activity")
        return
    unknown = sorted(set(mapping.attrib) - _MAPPING_ATTRIBUTES)
    if unknown:
        findings.error(file, mapping, f"{describe(mapping)} {kind} has {', '.join(unknown)}: not a camunda:"
                       f"{kind.split(':')[-1]} attribute (source, sourceExpression, target, variables, local)")
    if mapping.get("businessKey") is not None:
        findings.warn(file, mapping, f"{describe(mapping)} {kind} businessKey is ignored: the called case "
                      "gets no business key")
        return
    if mapping.get("variables") not in (None, "all"):
        findings.error(file, mapping, f'{describe(mapping)} {kind} variables="{mapping.get("variables")}": '
                       'only variables="all" is defined')
    elif mapping.get("variables") == "all":
        return
    sources = [name for name in ("source", "sourceExpression") if mapping.get(name) is not None]
    if len(sources) != 1 or not (mapping.get("target") or "").strip():
        findings.error(file, mapping, f"{describe(mapping)} {kind} needs exactly one of source or "
                       'sourceExpression, and a target (or variables="all")')


def _check_properties(file: str, properties: etree._Element, findings: Findings) -> None:
    parent = properties.getparent()
    owner_kind = etree.QName(owner(properties)).localname
    if parent is not None and parent.tag == f"{{{CAMUNDA_NS}}}formField":
        return
    if owner_kind == "process" and all(p.get("name") == FOUR_EYES
                                         for p in properties.findall(f"{{{CAMUNDA_NS}}}property")):
        return  # the process-wide four-eyes option (foureyes.py)
    if owner_kind not in _PROPERTY_OWNERS:
        findings.warn(file, properties, f"{describe(properties)} camunda:properties are only kept on tasks "
                      "and subprocesses: ignored here")


def _check_form_data(file: str, form: etree._Element, findings: Findings) -> None:
    if etree.QName(owner(form)).localname not in _FORM_OWNERS:
        findings.warn(file, form, f"{describe(form)} camunda:formData is only used on user tasks and "
                      "start events: ignored here")


def _warn_element(reason: str):
    def check(file: str, element: etree._Element, findings: Findings) -> None:
        findings.warn(file, element, f"{describe(element)} {short_name(element.tag)} is ignored: {reason}")
    return check


def _refuse_element(reason: str):
    def check(file: str, element: etree._Element, findings: Findings) -> None:
        findings.error(file, element, f"{describe(element)} uses {short_name(element.tag)}: {reason}")
    return check


_CAMUNDA_ELEMENT_CHECKS = {
    "executionListener": _check_listener,
    "taskListener": _check_listener,
    "in": _check_call_mapping,
    "out": _check_call_mapping,
    "properties": _check_properties,
    "formData": _check_form_data,
    "failedJobRetryTimeCycle": _warn_element("job retries belong to the Camunda job executor"),
    "field": _refuse_element("field injection is for Java delegates, which are not supported"),
    "errorEventDefinition": _refuse_element("error mapping of external tasks is not supported"),
    "potentialStarter": _refuse_element("restrict starters with camunda:candidateStarterGroups"),
}
#: Extension children whose meaning is checked elsewhere (by their parent or by the parser).
_CAMUNDA_KNOWN_CHILDREN = {"inputOutput", "connector", "formData", "properties"}

_ZEEBE_ALLOWED = {"userTask"}  # a marker without content: nothing is lost
_SPIFF_REFUSED = {
    "serviceTaskOperator": "a SpiffArena connector (needs a connector proxy); use a script task",
    "preScript": "a SpiffArena pre-script would not run; use a script task",
    "postScript": "a SpiffArena post-script would not run; use a script task",
    "calledDecisionId": "a SpiffArena decision reference; use camunda:decisionRef",
}


def _check_foreign_extension(file: str, element: etree._Element, findings: Findings) -> None:
    namespace, kind = etree.QName(element).namespace, etree.QName(element).localname
    if namespace == ZEEBE_NS:
        _check_zeebe(file, element, kind, findings)
    elif namespace == SPIFF_NS and kind in _SPIFF_REFUSED:
        findings.error(file, element, f'{describe(element)} uses spiffworkflow:{kind} '
                       f'"{element.get("id", "")}": {_SPIFF_REFUSED[kind]}')
    else:
        findings.warn(file, element, f"{describe(element)} {short_name(element.tag)} is an extension this "
                      "engine does not read: ignored")


def _check_zeebe(file: str, element: etree._Element, kind: str, findings: Findings) -> None:
    if kind in _ZEEBE_ALLOWED and len(element) == 0 and not element.attrib:
        return
    details = " ".join(f'{key}="{value}"' for key, value in element.attrib.items())
    nested = sorted({short_name(child.tag) for child in element.iter() if child is not element
                     and isinstance(child.tag, str)})
    shown = " ".join(part for part in (details, f"({', '.join(nested)})" if nested else "") if part)
    if kind == "formDefinition" and not nested and re.search(r"form(Id|Key)|externalReference", details):
        findings.warn(file, element, f"{describe(element)} zeebe:formDefinition {details} is an external "
                      "form: ignored; the form is built from camunda:formData")
        return
    findings.error(file, element, f"{describe(element)} uses zeebe:{kind} {shown}".rstrip()
                   + ": Camunda 8 extensions are not supported by this engine")
