"""Every construct of a deployed BPMN file and what bpmdesk does with it (`bpmdesk deploy -v`).

An analyst moving diagrams from Camunda 7 needs to see, per file, that nothing was deployed
without its semantics: each BPMN element kind, `camunda:` attribute and `camunda:` extension
element is listed as "runs" (with Camunda 7's meaning), "ignored" (with why that changes nothing),
"refused" (the deployment fails with FILE:LINE saying what to write instead), or "unknown" (not
in this list: the deploy warnings say what happens to it). Kept next to lint.py, whose checks it summarises.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from lxml import etree

from engine.compat.juel import is_juel
from engine.compat.lint import CAMUNDA_IGNORED
from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS

#: BPMN elements that run as Camunda 7 runs them (or are pure structure / documentation).
_BPMN_RUNS = frozenset({
    "process", "startEvent", "endEvent", "userTask", "scriptTask", "script", "businessRuleTask",
    "callActivity", "subProcess", "transaction", "task", "manualTask", "receiveTask", "sendTask",
    "serviceTask", "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
    "sequenceFlow", "conditionExpression", "boundaryEvent", "intermediateCatchEvent",
    "intermediateThrowEvent", "timerEventDefinition", "timeDuration", "timeDate", "timeCycle",
    "errorEventDefinition", "escalationEventDefinition", "signalEventDefinition",
    "messageEventDefinition", "linkEventDefinition", "terminateEventDefinition",
    "conditionalEventDefinition", "condition", "multiInstanceLoopCharacteristics", "loopCardinality",
    "completionCondition", "message", "signal", "error", "escalation", "humanPerformer",
    "potentialOwner", "resourceAssignmentExpression", "formalExpression", "extensionElements",
    "incoming", "outgoing", "definitions", "documentation",  # a task's documentation shows on its page
    "cancelEventDefinition", "standardLoopCharacteristics", "loopCondition",
})
#: Refused at deploy with FILE:LINE (lint.py says what to write instead); listed for completeness.
_REFUSED = frozenset({
    "bpmn:compensateEventDefinition", "bpmn:complexGateway", "camunda:class", "camunda:delegateExpression",
    "camunda:expression", "camunda:connector", "camunda:connectorId", "camunda:executionListener",
    "camunda:taskListener", "camunda:field", "camunda:type", "camunda:topic",
})
#: BPMN elements with no effect on a run, and why.
_BPMN_IGNORED = {
    **dict.fromkeys(("textAnnotation", "text", "association", "group", "category",
                     "categoryValue", "dataState", "resource"), "documentation only (as in Camunda)"),
    **dict.fromkeys(("laneSet", "lane", "flowNodeRef", "childLaneSet", "collaboration", "participant",
                     "messageFlow"), "drawing structure: who works on a task comes from its assignment"),
    **dict.fromkeys(("dataObject", "dataObjectReference", "dataStore", "dataStoreReference",
                     "dataInputAssociation", "dataOutputAssociation", "property", "sourceRef",
                     "targetRef", "ioSpecification", "dataInput", "dataOutput", "inputSet",
                     "outputSet", "itemDefinition"), "data modelling is documentation here, as in "
                    "Camunda 7: variables live in the case"),
}
#: camunda: attributes and extension elements that run as Camunda 7 documents them.
_CAMUNDA_RUNS = frozenset({
    "assignee", "candidateUsers", "candidateGroups", "dueDate", "followUpDate", "priority",
    "formData", "formField", "validation", "constraint", "value", "properties", "property",
    "collection", "elementVariable", "decisionRef", "decisionRefBinding", "decisionRefVersion",
    "decisionRefVersionTag", "calledElementBinding",
    "calledElementVersion", "calledElementVersionTag", "initiator", "in", "out",
    "candidateStarterGroups", "resultVariable", "mapDecisionResult", "versionTag", "errorMessage",
    "inputOutput", "inputParameter", "outputParameter", "list", "map", "entry",
    "script",  # in an input/output parameter: a Python expression (elsewhere refused with FILE:LINE)
    "formRef", "formRefBinding",  # with the .form file in the deployment (else the deploy warning says so)
})
_CAMUNDA_IGNORED = {
    **CAMUNDA_IGNORED,
    "historyTimeToLive": "history cleanup belongs to the Camunda engine: the history here is kept",
    "isStartableInTasklist": "who may start a case comes from camunda:candidateStarterGroups",
    "formKey": "the form is built from camunda:formData",
    "formRefVersion": "the form is built from camunda:formData",
    "diagramRelationId": "a Modeler setting",
    "modelerTemplate": "a Modeler setting", "modelerTemplateVersion": "a Modeler setting",
    "failedJobRetryTimeCycle": "job retries belong to the Camunda job executor",
}


@dataclass(frozen=True)
class Construct:
    name: str  # "bpmn:userTask", "camunda:assignee"
    count: int
    verdict: str  # "runs", "ignored", "unknown"
    reason: str = ""

    def line(self) -> str:
        return f"{self.verdict:<8} {self.name} ×{self.count}" + (f" — {self.reason}" if self.reason else "")


def inventory(root: etree._Element) -> list[Construct]:
    """What the file uses, in document order of first use."""
    found: Counter[str] = Counter()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        namespace, kind = etree.QName(element).namespace, etree.QName(element).localname
        if namespace == BPMN_NS:
            found[f"bpmn:{kind}"] += 1
        elif namespace == CAMUNDA_NS:
            found[f"camunda:{kind}"] += 1
        for attribute, value in element.attrib.items():
            qname = etree.QName(attribute)
            if qname.namespace == CAMUNDA_NS:
                found[_attribute_name(kind, qname.localname, value)] += 1
    return [_verdict(name, count) for name, count in found.items()]


#: An attribute that means something else where it stands: listed under its own name.
_LITERAL_MESSAGE_EXPRESSION = "camunda:expression (plain text on a message event)"


_EXTERNAL_TASK = {"type": 'camunda:type="external"', "topic": "camunda:topic (of an external task)",
                  "taskPriority": "camunda:taskPriority (of an external task)"}


def _attribute_name(kind: str, attribute: str, value: str) -> str:
    if kind == "messageEventDefinition" and attribute == "expression" and not is_juel(value):
        return _LITERAL_MESSAGE_EXPRESSION
    if (attribute == "type" and value == "external") or attribute == "topic" or (
            attribute == "taskPriority" and kind == "messageEventDefinition"):
        return _EXTERNAL_TASK[attribute]
    return f"camunda:{attribute}"


def _verdict(name: str, count: int) -> Construct:
    if name == _LITERAL_MESSAGE_EXPRESSION:
        return Construct(name, count, "ignored", "Camunda 7 evaluates the text and does nothing with it: "
                         "the event passes through (see the deploy warning)")
    if name in _EXTERNAL_TASK.values():
        return Construct(name, count, "runs", "an external task: workers fetch and complete it through "
                         "/engine-rest/external-task, as in Camunda 7")
    prefix, kind = name.split(":", 1)
    runs, ignored = (_BPMN_RUNS, _BPMN_IGNORED) if prefix == "bpmn" else (_CAMUNDA_RUNS, _CAMUNDA_IGNORED)
    if name in _REFUSED:
        return Construct(name, count, "refused", "the deploy errors say what to write instead")
    if kind in runs:
        return Construct(name, count, "runs")
    if kind in ignored:
        return Construct(name, count, "ignored", ignored[kind])
    return Construct(name, count, "unknown", "not in bpmdesk's list: see the deploy warnings")
