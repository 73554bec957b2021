"""The analyst's lint rules: mistakes in a diagram that deploys and runs, but not as meant.

Each finding carries a rule id documented in docs/analysts.md with an example and the fix. They run
after translation (conditions are Python by then) on the executable processes of one BPMN file.
Warnings, not errors: Camunda 7 deploys these diagrams too, and runs them exactly as drawn.

- `unreachable`: a flow node no path from a start event reaches (boundary events count as reached
  with their activity, event sub-processes with their scope, catching links with their throw);
- `gateway-no-default`: an exclusive or inclusive gateway whose outgoing flows all carry a
  condition and none is the default: when none holds, the step fails ("no outgoing flow");
- `missing-di`: a flow node or flow with no shape in the file's diagram: the case page and the
  version pages cannot draw it (a file with no drawing at all is not flagged: the pages say so);
- `condition-unset`: a condition reads a variable that no form field, script, decision result or
  call mapping of the process sets; skipped for processes whose variables also come from outside
  (messages, signals, external workers, a decision's outputs by name, `camunda:out variables="all"`).
"""
from __future__ import annotations

import ast
from collections.abc import Iterator

from lxml import etree

from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS, Findings, describe
from engine.sandbox import provided_names

BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
_SCOPES = {"process", "subProcess", "transaction", "adHocSubProcess"}
_NODES = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "sendTask", "receiveTask",
          "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
          "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
          "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
_CHOICES = {"exclusiveGateway", "inclusiveGateway"}
#: Variables the engine itself sets inside a multi-instance activity (Camunda's names).
_LOOP_NAMES = {"loopCounter", "nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances"}


def check_model(file: str, root: etree._Element, findings: Findings) -> None:
    """Run every rule on the executable processes of one (translated) BPMN file."""
    drawn = {shape.get("bpmnElement") for shape in root.iter(f"{{{BPMNDI_NS}}}BPMNShape",
                                                            f"{{{BPMNDI_NS}}}BPMNEdge")}
    for process in root.findall(f"{{{BPMN_NS}}}process"):
        if process.get("isExecutable", "true") != "true":
            continue
        _check_reachable(file, process, findings)
        _check_defaults(file, process, findings)
        _check_drawn(file, process, drawn, findings)
        _check_condition_variables(file, process, findings)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _written(element: etree._Element) -> bool:
    """Drawn by the analyst, not added by normalise.py (an implicit gateway has no source line)."""
    return element.sourceline is not None


# --- unreachable ---------------------------------------------------------------------------------

def _check_reachable(file: str, scope: etree._Element, findings: Findings) -> None:
    nodes = {n.get("id"): n for n in scope if _local(n) in _NODES and n.get("id")}
    reached = _reached(scope, nodes)
    for node_id, node in nodes.items():
        if node_id not in reached and _written(node):
            findings.warn(file, node, f"{describe(node)} cannot be reached from a start event: it never runs",
                          rule="unreachable", fix="draw a sequence flow to it from the step that should lead "
                          "there, or delete it")
        elif _local(node) in _SCOPES:
            _check_reachable(file, node, findings)


def _reached(scope: etree._Element, nodes: dict[str, etree._Element]) -> set[str]:
    flows: dict[str, list[str]] = {}
    for flow in scope.findall(f"{{{BPMN_NS}}}sequenceFlow"):
        flows.setdefault(flow.get("sourceRef", ""), []).append(flow.get("targetRef", ""))
    pending = [i for i, n in nodes.items() if _local(n) == "startEvent" or n.get("triggeredByEvent") == "true"]
    reached: set[str] = set()
    while pending:
        reached.update(pending)
        pending = [target for node_id in pending for target in _next(node_id, nodes, flows, reached)
                   if target not in reached]
    return reached


def _next(node_id: str, nodes: dict[str, etree._Element], flows: dict[str, list[str]],
          reached: set[str]) -> Iterator[str]:
    yield from flows.get(node_id, ())
    for other_id, other in nodes.items():
        if _local(other) == "boundaryEvent" and other.get("attachedToRef") == node_id:
            yield other_id
    name = _link_name(nodes[node_id]) if node_id in nodes else None
    if name is not None and _local(nodes[node_id]) == "intermediateThrowEvent":
        yield from (i for i, n in nodes.items() if _local(n) == "intermediateCatchEvent" and _link_name(n) == name)


def _link_name(node: etree._Element) -> str | None:
    link = node.find(f"{{{BPMN_NS}}}linkEventDefinition")
    return (link.get("name") or node.get("name") or "").strip() if link is not None else None


# --- gateway without default ---------------------------------------------------------------------

def _check_defaults(file: str, process: etree._Element, findings: Findings) -> None:
    for scope in process.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in _SCOPES)):
        flows = scope.findall(f"{{{BPMN_NS}}}sequenceFlow")
        for gateway in scope:
            if _local(gateway) not in _CHOICES or gateway.get("default"):
                continue
            outgoing = [f for f in flows if f.get("sourceRef") == gateway.get("id")]
            if len(outgoing) > 1 and all(f.find(f"{{{BPMN_NS}}}conditionExpression") is not None
                                         and (f.findtext(f"{{{BPMN_NS}}}conditionExpression") or "").strip()
                                         for f in outgoing):
                where = gateway if _written(gateway) else _drawn_source(scope, gateway)
                findings.warn(file, where, f"{describe(where)} has a condition on every outgoing flow and no "
                              "default flow: when no condition holds, the step fails", rule="gateway-no-default",
                              fix="mark one outgoing flow as the default flow (Modeler: wrench → Default flow)")


def _drawn_source(scope: etree._Element, gateway: etree._Element) -> etree._Element:
    """The element an implicit split gateway stands for (its only incoming flow's source)."""
    for flow in scope.findall(f"{{{BPMN_NS}}}sequenceFlow"):
        if flow.get("targetRef") == gateway.get("id"):
            found = scope.xpath("*[@id=$id]", id=flow.get("sourceRef"))
            if found:
                return found[0]
    return gateway


# --- missing DI -----------------------------------------------------------------------------------

def _check_drawn(file: str, process: etree._Element, drawn: set[str | None], findings: Findings) -> None:
    missing = [e for e in process.iter() if (_local(e) in _NODES or _local(e) == "sequenceFlow")
               and _written(e) and e.get("id") and e.get("id") not in drawn]
    if not drawn:
        return  # a file without any drawing (generated, or a test's): the pages say it has no diagram
    for element in missing:
        findings.warn(file, element, f"{describe(element)} has no shape in the diagram: the case and version "
                      "pages cannot draw it", rule="missing-di",
                      fix="delete and redraw it in Camunda Modeler (or add its BPMNShape/BPMNEdge)")


# --- conditions on variables nobody sets -----------------------------------------------------------
# Set: form fields, script assignments, camunda:resultVariable / elementVariable / initiator,
# camunda:out targets, camunda:outputParameter names.

#: Elements through which a case receives variables this file does not name.
_OUTSIDE = (f"{{{BPMN_NS}}}messageEventDefinition", f"{{{BPMN_NS}}}signalEventDefinition",
            f"{{{BPMN_NS}}}receiveTask")


def _check_condition_variables(file: str, process: etree._Element, findings: Findings) -> None:
    if _variables_from_outside(process):
        return
    known = _set_variables(process) | provided_names() | _LOOP_NAMES
    for condition in process.iter(f"{{{BPMN_NS}}}conditionExpression", f"{{{BPMN_NS}}}completionCondition"):
        for name in sorted(_read_names(condition.text or "") - known):
            findings.warn(file, condition, f'{describe(condition)} condition reads "{name}", which no form field, '
                          "script, decision result or call mapping of this process sets: unless the case is "
                          "started with it, evaluating the condition fails", rule="condition-unset",
                          fix=f'add a form field with id "{name}" to the task before it, or correct the name')


def _variables_from_outside(process: etree._Element) -> bool:
    if any(True for _ in process.iter(*_OUTSIDE)):
        return True
    if any(e.get(f"{{{CAMUNDA_NS}}}type") == "external" for e in process.iter()):
        return True
    if any(not (t.get(f"{{{CAMUNDA_NS}}}resultVariable") or "").strip()
           for t in process.iter(f"{{{BPMN_NS}}}businessRuleTask")):
        return True
    return any(out.get("variables") == "all" for out in process.iter(f"{{{CAMUNDA_NS}}}out"))


def _set_variables(process: etree._Element) -> set[str]:
    names = {f.get("id") for f in process.iter(f"{{{CAMUNDA_NS}}}formField")}
    for element in process.iter():
        for attribute in ("resultVariable", "elementVariable", "initiator"):
            names.add(element.get(f"{{{CAMUNDA_NS}}}{attribute}"))
    names |= {out.get("target") for out in process.iter(f"{{{CAMUNDA_NS}}}out")}
    names |= {out.get("name") for out in process.iter(f"{{{CAMUNDA_NS}}}outputParameter")}
    for script in process.iter(f"{{{BPMN_NS}}}script"):
        names |= _assigned_names(script.text or "")
    return {name.strip() for name in names if name}


def _assigned_names(source: str) -> set[str]:
    """What a Python script assigns: plain names and `execution.setVariable("x", …)`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for call in ast.walk(tree):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("setVariable", "setVariableLocal") and call.args
                and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
            names.add(call.args[0].value)
    return names


def _read_names(expression: str) -> set[str]:
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError:
        return set()  # reported as expression-syntax where it is translated
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    bound |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)} - bound
