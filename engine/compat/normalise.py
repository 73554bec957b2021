"""What Camunda's parser accepts as written but SpiffWorkflow would lose: fixed before any check.

- An element without `id` (a sequence flow drawn by hand, or exported by another tool) gets a
  stable generated one. SpiffWorkflow indexes flows by id, so flows without one collapsed into a
  single entry and the process jumped to its end; Camunda runs them as drawn.
- QName references with a prefix (`messageRef="tns:Msg"`, `attachedToRef="tns:Task"`) name an
  element of this file the way Camunda resolves them; the prefix is dropped when the local name is
  an id of the file, so every later check and SpiffWorkflow see a plain id.
- Plain BPMN `humanPerformer` / `potentialOwner` are read as Camunda 7 reads them: the performer
  is the assignee; a potential owner `user(x)` a candidate user, `group(x)` or a bare name a
  candidate group. They become the `camunda:` attributes the rest of the deployment reads.
- Uncontrolled flow (BPMN 2.0, Camunda 7): several outgoing flows from an activity or event are
  an implicit parallel split (or, when every one carries a condition, each true one is taken, the
  activity's `default` flow when none is); several incoming flows an implicit merge (the element
  runs once per arriving token). SpiffWorkflow refuses both, so the equivalent gateway is drawn in
  (`<id>__split`, `<id>__merge`). Conditional and plain flows mixed on one element are refused.
The same tree goes through here at deploy and whenever specs are rebuilt, so generated ids are
the same every time (they depend only on the file's content).
"""
from __future__ import annotations

from lxml import etree

import re

from engine.compat.assignment import split_names
from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS, Findings, describe, short_name

_SCOPES = {"process", "subProcess", "transaction", "adHocSubProcess"}
#: Children of a scope that are not flow elements and need no id.
_NOT_FLOW_ELEMENTS = {"documentation", "extensionElements", "laneSet", "ioSpecification", "property",
                      "auditing", "monitoring", "multiInstanceLoopCharacteristics",
                      "standardLoopCharacteristics", "incoming", "outgoing"}
#: Attributes whose value is a QName (BPMN 2.0 XSD) naming an element of the file.
_QNAME_ATTRIBUTES = ("messageRef", "signalRef", "errorRef", "escalationRef", "attachedToRef",
                     "processRef", "operationRef", "structureRef", "itemSubjectRef", "inMessageRef",
                     "outMessageRef", "calledElement", "dataStoreRef")
#: Elements whose text is a QName naming a flow element.
_QNAME_TEXTS = ("incoming", "outgoing", "flowNodeRef")


def normalise_bpmn(file: str, root: etree._Element, findings: Findings) -> None:
    """Give every flow element an id and resolve prefixed references, in place."""
    ids = set(root.xpath("//@id"))
    _give_ids(file, root, ids, findings)
    _resolve_qnames(root, ids)
    for task in root.iter(f"{{{BPMN_NS}}}userTask"):
        _read_resources(file, task, findings)
    for scope in list(root.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in _SCOPES))):
        _draw_implicit_gateways(file, scope, ids, findings)


def _give_ids(file: str, root: etree._Element, ids: set[str], findings: Findings) -> None:
    for scope in root.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in _SCOPES)):
        for element in scope:
            if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
                continue
            kind = etree.QName(element).localname
            if kind in _NOT_FLOW_ELEMENTS or element.get("id"):
                continue
            new_id = _unique(_proposed_id(element, kind), ids)
            element.set("id", new_id)
            findings.translated(file, element, f'a {short_name(element.tag)} without id runs with the '
                                f'generated id "{new_id}" (set an id in the modeler to name it yourself)')


def _proposed_id(element: etree._Element, kind: str) -> str:
    if kind == "sequenceFlow" and element.get("sourceRef") and element.get("targetRef"):
        return f"Flow_{element.get('sourceRef')}_{element.get('targetRef')}"
    return f"{kind}_line{element.sourceline}"


def _unique(candidate: str, ids: set[str]) -> str:
    found, number = candidate, 2
    while found in ids:
        found, number = f"{candidate}_{number}", number + 1
    ids.add(found)
    return found


def _local(value: str, ids: set[str]) -> str:
    prefix, _, local = value.strip().partition(":")
    return local if local and prefix and local in ids else value


def _resolve_qnames(root: etree._Element, ids: set[str]) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace != BPMN_NS:
            continue
        for attribute in _QNAME_ATTRIBUTES:
            value = element.get(attribute)
            if value and ":" in value:
                element.set(attribute, _local(value, ids))
        if etree.QName(element).localname in _QNAME_TEXTS and element.text and ":" in element.text:
            element.text = _local(element.text, ids)


_PREFIXED = re.compile(r"^(user|group)\((.*)\)$", re.DOTALL)


def _read_resources(file: str, task: etree._Element, findings: Findings) -> None:
    """humanPerformer → camunda:assignee; potentialOwner → camunda:candidateUsers/Groups."""
    found = {"assignee": [], "candidateUsers": [], "candidateGroups": []}
    for kind in ("humanPerformer", "potentialOwner"):
        for resource in task.findall(f"{{{BPMN_NS}}}{kind}"):
            text = " ".join(resource.itertext()).strip()
            for item in split_names(text):
                match = _PREFIXED.match(item)
                who, name = (match.group(1), match.group(2).strip()) if match else (None, item)
                key = "assignee" if kind == "humanPerformer" else (
                    "candidateUsers" if who == "user" else "candidateGroups")
                found[key].append(name)
            task.remove(resource)
    for key, names in found.items():
        if not names:
            continue
        attribute = f"{{{CAMUNDA_NS}}}{key}"
        written = split_names(task.get(attribute))
        value = ", ".join(dict.fromkeys([*written, *names]))
        if key == "assignee" and (written or len(names) > 1):
            findings.error(file, task, f"{describe(task)} has more than one assignee ({value}): a task has "
                           "one assignee; put the others in potentialOwner or camunda:candidateUsers")
            continue
        task.set(attribute, value)
        findings.translated(file, task, f'{describe(task)} {"humanPerformer" if key == "assignee" else "potentialOwner"}'
                            f' is read as camunda:{key}="{value}"')


_NOT_NODES = _NOT_FLOW_ELEMENTS | {"sequenceFlow", "textAnnotation", "association", "group", "dataObject",
                                   "dataObjectReference", "dataStoreReference"}


def _draw_implicit_gateways(file: str, scope: etree._Element, ids: set[str], findings: Findings) -> None:
    flows = scope.findall(f"{{{BPMN_NS}}}sequenceFlow")
    for node in list(scope):
        if not isinstance(node.tag, str) or etree.QName(node).namespace != BPMN_NS:
            continue
        kind = etree.QName(node).localname
        if kind in _NOT_NODES or kind.endswith("Gateway") or not node.get("id"):
            continue
        outgoing = [f for f in flows if f.get("sourceRef") == node.get("id")]
        incoming = [f for f in flows if f.get("targetRef") == node.get("id")]
        if len(outgoing) > 1:
            _split(file, scope, node, outgoing, ids, findings)
        if len(incoming) > 1:
            _merge(scope, node, incoming, ids)


def _gateway(scope: etree._Element, kind: str, gateway_id: str, ids: set[str]) -> etree._Element:
    gateway = etree.SubElement(scope, f"{{{BPMN_NS}}}{kind}")
    gateway.set("id", _unique(gateway_id, ids))
    return gateway


def _flow(scope: etree._Element, source: str, target: str, ids: set[str]) -> None:
    flow = etree.SubElement(scope, f"{{{BPMN_NS}}}sequenceFlow")
    flow.set("id", _unique(f"{source}__to__{target}", ids))
    flow.set("sourceRef", source)
    flow.set("targetRef", target)


def _split(file: str, scope: etree._Element, node: etree._Element, outgoing: list[etree._Element],
           ids: set[str], findings: Findings) -> None:
    conditional = [f for f in outgoing if f.find(f"{{{BPMN_NS}}}conditionExpression") is not None
                   and f.get("id") != node.get("default")]
    plain = [f for f in outgoing if f not in conditional and f.get("id") != node.get("default")]
    if conditional and plain:
        findings.error(file, node, f"{describe(node)} has conditional and unconditional outgoing flows "
                       "together: draw a parallel gateway for the flows always taken and an inclusive "
                       "gateway for the conditional ones")
        return
    gateway = _gateway(scope, "inclusiveGateway" if conditional else "parallelGateway",
                       f"{node.get('id')}__split", ids)
    if node.get("default"):
        gateway.set("default", node.attrib.pop("default"))
    for flow in outgoing:
        flow.set("sourceRef", gateway.get("id"))
    _flow(scope, node.get("id"), gateway.get("id"), ids)


def _merge(scope: etree._Element, node: etree._Element, incoming: list[etree._Element], ids: set[str]) -> None:
    gateway = _gateway(scope, "exclusiveGateway", f"{node.get('id')}__merge", ids)
    for flow in incoming:
        flow.set("targetRef", gateway.get("id"))
    _flow(scope, gateway.get("id"), node.get("id"), ids)
