"""What differs between two versions of a process, in an analyst's words and for the diagram.

Compared on the files as the analyst wrote them (before translation), element by element id, as
Camunda Modeler keeps ids stable across edits: elements added, removed, renamed, retyped, moved
(drawn elsewhere) or reconnected; timers; form fields (added, removed, type, required);
assignment (assignee, candidate users and groups, due dates); conditions and default flows;
decision tables of the DMN files (hit policy, rules added, removed or changed).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from engine.compat.model import ProcessBundle, SourceFile
from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS, DMN_NAMESPACES, UnreadableXml, read_xml

DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
KIND_LABELS = {
    "userTask": "用户任务", "scriptTask": "脚本任务", "serviceTask": "服务任务", "businessRuleTask": "规则任务",
    "manualTask": "人工任务", "task": "任务", "sendTask": "发送任务", "receiveTask": "接收任务",
    "callActivity": "调用活动", "subProcess": "子流程", "transaction": "事务子流程",
    "startEvent": "开始事件", "endEvent": "结束事件", "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件", "boundaryEvent": "边界事件",
    "exclusiveGateway": "排他网关", "parallelGateway": "并行网关", "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关", "sequenceFlow": "顺序流",
}
_ASSIGNMENT = {"assignee": "办理人", "candidateUsers": "候选人", "candidateGroups": "候选组",
               "dueDate": "到期时间", "followUpDate": "跟进时间", "priority": "优先级", "formRef": "表单引用"}
_TIMERS = ("timeDuration", "timeDate", "timeCycle")


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, renamed, type, moved, flow, timer, form, assignment, condition, decision
    element_id: str
    text: str  # in Chinese, for the analyst


@dataclass
class VersionDiff:
    """The differences from `old` to `new`, and which ids to colour on each one's diagram."""

    changes: list[Change] = field(default_factory=list)
    added: set[str] = field(default_factory=set)  # drawn green on the new diagram
    removed: set[str] = field(default_factory=set)  # drawn red on the old diagram
    changed: set[str] = field(default_factory=set)  # drawn amber on both

    def note(self, kind: str, element_id: str, text: str) -> None:
        self.changes.append(Change(kind, element_id, text))
        target = {"added": self.added, "removed": self.removed}.get(kind, self.changed)
        target.add(element_id)

    def of_kind(self, *kinds: str) -> list[Change]:
        return [c for c in self.changes if c.kind in kinds]


def diff_bundles(old: ProcessBundle, new: ProcessBundle) -> VersionDiff:
    """Every difference an analyst would want named before deploying or migrating."""
    diff = VersionDiff()
    before, after = _elements(old), _elements(new)
    shapes_before, shapes_after = _shapes(old.bpmn), _shapes(new.bpmn)
    for element_id in after.keys() - before.keys():
        diff.note("added", element_id, f"新增{_label(after[element_id])}")
    for element_id in before.keys() - after.keys():
        diff.note("removed", element_id, f"删除{_label(before[element_id])}")
    for element_id in sorted(before.keys() & after.keys()):
        _compare(diff, element_id, before[element_id], after[element_id])
        if shapes_before.get(element_id) != shapes_after.get(element_id) and element_id in shapes_after:
            diff.note("moved", element_id, f"{_label(after[element_id])}在图上的位置改变")
    _compare_decisions(diff, old.dmn, new.dmn)
    decisions = {c.element_id for c in diff.of_kind("decision")}
    diff.changed |= {i for i, e in after.items() if e.get(f"{{{CAMUNDA_NS}}}decisionRef") in decisions}
    diff.changes.sort(key=lambda c: (_ORDER.index(c.kind), c.element_id))
    return diff


_ORDER = ["added", "removed", "renamed", "type", "flow", "condition", "timer", "form", "assignment",
          "decision", "moved"]


def _root(source: SourceFile) -> etree._Element | None:
    try:
        return read_xml(source.content)
    except UnreadableXml:
        return None


def _elements(bundle: ProcessBundle) -> dict[str, etree._Element]:
    """Flow nodes and flows of the bundle's process, by id (nested scopes included)."""
    root = _root(bundle.bpmn)
    if root is None:
        return {}
    process = next((p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == bundle.process_id), None)
    if process is None:
        return {}
    return {e.get("id"): e for e in process.iter() if isinstance(e.tag, str) and e.get("id")
            and etree.QName(e).localname in KIND_LABELS}


def _shapes(source: SourceFile) -> dict[str, tuple]:
    root = _root(source)
    found: dict[str, tuple] = {}
    if root is None:
        return found
    for shape in root.iter(f"{{{DI_NS}}}BPMNShape"):
        bounds = shape.find(f"{{{DC_NS}}}Bounds")
        if bounds is not None:
            found[shape.get("bpmnElement")] = tuple(bounds.get(k) for k in ("x", "y", "width", "height"))
    return found


def _kind(element: etree._Element) -> str:
    return etree.QName(element).localname


def _label(element: etree._Element) -> str:
    name = (element.get("name") or "").strip()
    return f"{KIND_LABELS.get(_kind(element), _kind(element))}「{name or element.get('id')}」"


def _compare(diff: VersionDiff, element_id: str, old: etree._Element, new: etree._Element) -> None:
    label = _label(new)
    if _kind(old) != _kind(new):
        diff.note("type", element_id, f"{_label(old)}改为{KIND_LABELS.get(_kind(new), _kind(new))}")
    if (old.get("name") or "").strip() != (new.get("name") or "").strip():
        diff.note("renamed", element_id, f"{_label(old)}改名为「{(new.get('name') or '').strip()}」")
    if _kind(new) == "sequenceFlow" and (old.get("sourceRef"), old.get("targetRef")) != (
            new.get("sourceRef"), new.get("targetRef")):
        diff.note("flow", element_id, f"{label}改为从 {new.get('sourceRef')} 到 {new.get('targetRef')}")
    _compare_text(diff, element_id, label, "condition", "条件", _condition(old), _condition(new))
    _compare_text(diff, element_id, label, "condition", "默认流", old.get("default"), new.get("default"))
    for kind in _TIMERS:
        _compare_text(diff, element_id, label, "timer", "时限", _timer(old, kind), _timer(new, kind))
    for attribute, words in _ASSIGNMENT.items():
        _compare_text(diff, element_id, label, "assignment", words, old.get(f"{{{CAMUNDA_NS}}}{attribute}"),
                      new.get(f"{{{CAMUNDA_NS}}}{attribute}"))
    _compare_form(diff, element_id, label, _form(old), _form(new))


def _compare_text(diff: VersionDiff, element_id: str, label: str, kind: str, words: str,
                  old: str | None, new: str | None) -> None:
    old, new = (old or "").strip(), (new or "").strip()
    if old != new:
        diff.note(kind, element_id, f"{label}的{words}：{old or '（无）'} → {new or '（无）'}")


def _condition(element: etree._Element) -> str | None:
    condition = element.find(f"{{{BPMN_NS}}}conditionExpression")
    return condition.text if condition is not None else None


def _timer(element: etree._Element, kind: str) -> str | None:
    definition = element.find(f"{{{BPMN_NS}}}timerEventDefinition")
    return definition.findtext(f"{{{BPMN_NS}}}{kind}") if definition is not None else None


@dataclass(frozen=True)
class FormFieldShape:
    label: str
    type: str
    required: bool


def _form(element: etree._Element) -> dict[str, FormFieldShape]:
    fields = {}
    for item in element.iterfind(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}formData/{{{CAMUNDA_NS}}}formField"):
        required = any(c.get("name") == "required" for c in item.iter(f"{{{CAMUNDA_NS}}}constraint"))
        fields[item.get("id", "")] = FormFieldShape(item.get("label") or "", item.get("type") or "string", required)
    return fields


def _compare_form(diff: VersionDiff, element_id: str, label: str, old: dict[str, FormFieldShape],
                  new: dict[str, FormFieldShape]) -> None:
    for name in sorted(new.keys() - old.keys()):
        diff.note("form", element_id, f"{label}的表单新增字段 {name}（{new[name].type}"
                  f"{'，必填' if new[name].required else ''}）")
    for name in sorted(old.keys() - new.keys()):
        diff.note("form", element_id, f"{label}的表单删除字段 {name}")
    for name in sorted(old.keys() & new.keys()):
        if old[name].type != new[name].type:
            diff.note("form", element_id, f"{label}的表单字段 {name} 类型：{old[name].type} → {new[name].type}")
        if old[name].required != new[name].required:
            diff.note("form", element_id, f"{label}的表单字段 {name} 改为{'必填' if new[name].required else '选填'}")


# --- DMN -----------------------------------------------------------------------------------------

def _decisions(files: list[SourceFile]) -> dict[str, etree._Element]:
    found = {}
    for source in files:
        root = _root(source)
        if root is None:
            continue
        for namespace in DMN_NAMESPACES:
            for decision in root.iter(f"{{{namespace}}}decision"):
                found[decision.get("id")] = decision
    return found


def _rules(decision: etree._Element) -> dict[str, tuple[str, ...]]:
    rules = {}
    for index, rule in enumerate(e for e in decision.iter() if isinstance(e.tag, str)
                                 and etree.QName(e).localname == "rule"):
        cells = tuple((cell.findtext("{*}text") or "").strip() for cell in rule
                      if isinstance(cell.tag, str) and etree.QName(cell).localname in ("inputEntry", "outputEntry"))
        rules[rule.get("id") or f"#{index + 1}"] = cells
    return rules


def _hit_policy(decision: etree._Element) -> str:
    table = next((e for e in decision.iter() if isinstance(e.tag, str)
                  and etree.QName(e).localname == "decisionTable"), None)
    return (table.get("hitPolicy") or "UNIQUE") if table is not None else ""


def _compare_decisions(diff: VersionDiff, old_files: list[SourceFile], new_files: list[SourceFile]) -> None:
    old, new = _decisions(old_files), _decisions(new_files)
    for decision_id in sorted(new.keys() - old.keys()):
        diff.changes.append(Change("decision", decision_id, f"新增决策「{new[decision_id].get('name') or decision_id}」"))
    for decision_id in sorted(old.keys() - new.keys()):
        diff.changes.append(Change("decision", decision_id, f"删除决策「{old[decision_id].get('name') or decision_id}」"))
    for decision_id in sorted(old.keys() & new.keys()):
        label = f"决策「{new[decision_id].get('name') or decision_id}」"
        if _hit_policy(old[decision_id]) != _hit_policy(new[decision_id]):
            diff.changes.append(Change("decision", decision_id, f"{label}的命中策略：{_hit_policy(old[decision_id])} → "
                                                                f"{_hit_policy(new[decision_id])}"))
        before, after = _rules(old[decision_id]), _rules(new[decision_id])
        for rule in sorted(after.keys() - before.keys()):
            diff.changes.append(Change("decision", decision_id, f"{label}新增规则 {rule}：{' | '.join(after[rule])}"))
        for rule in sorted(before.keys() - after.keys()):
            diff.changes.append(Change("decision", decision_id, f"{label}删除规则 {rule}"))
        for rule in sorted(before.keys() & after.keys()):
            if before[rule] != after[rule]:
                diff.changes.append(Change("decision", decision_id, f"{label}规则 {rule}：{' | '.join(before[rule])}"
                                                                    f" → {' | '.join(after[rule])}"))
