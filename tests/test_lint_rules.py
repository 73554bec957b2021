"""The analyst's lint rules (docs/analysts.md, Lint rules): each finding has its rule id, the element
and a fix, at the line of the element, for the upload page, `bpmdesk deploy` and the REST deploy."""
from __future__ import annotations

import pytest

from engine.compat import load_bundle
from engine.errors import DeployError

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'id="d" targetNamespace="http://bpmn.io/schema/bpmn">\n')


def diagram(body: str, *, undrawn: tuple[str, ...] = ()) -> bytes:
    """A process with `body` and a shape or edge for every element id in it but `undrawn`."""
    import re
    ids = [i for i in re.findall(r'<bpmn:(?!conditionExpression|timeDuration)\w+ id="([^"]+)"', body)
           if i not in undrawn]
    shapes = "".join(
        f'<bpmndi:BPMNEdge id="{i}_di" bpmnElement="{i}"><di:waypoint x="0" y="0"/><di:waypoint x="10" y="0"/></bpmndi:BPMNEdge>'
        if i.startswith("f") else
        f'<bpmndi:BPMNShape id="{i}_di" bpmnElement="{i}"><dc:Bounds x="{n * 120}" y="0" width="100" height="80"/></bpmndi:BPMNShape>'
        for n, i in enumerate(ids))
    return (HEAD + f'<bpmn:process id="p" name="测试" isExecutable="true">\n{body}\n</bpmn:process>\n'
            f'<bpmndi:BPMNDiagram id="dia"><bpmndi:BPMNPlane id="plane" bpmnElement="p">{shapes}'
            '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>\n</bpmn:definitions>\n').encode()


ASK = ('<bpmn:userTask id="ask" name="审核" camunda:candidateGroups="front-desk"><bpmn:extensionElements>'
       '<camunda:formData><camunda:formField id="amount" label="金额" type="long"/></camunda:formData>'
       '</bpmn:extensionElements></bpmn:userTask>')


def findings(content: bytes) -> list:
    try:
        bundle = load_bundle([("a.bpmn", content)])
    except DeployError as error:
        return error.problems + error.warnings
    return bundle.warnings


def by_rule(content: bytes, rule: str) -> list:
    return [f for f in findings(content) if f.rule == rule]


def line_of(content: bytes, text: str) -> int:
    return next(n for n, line in enumerate(content.decode().splitlines(), 1) if text in line)


def test_a_clean_diagram_has_no_findings() -> None:
    content = diagram(f'<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ask"/>\n{ASK}\n'
                      '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="e"/>\n<bpmn:endEvent id="e"/>')
    assert findings(content) == []


def test_an_element_no_flow_leads_to_is_unreachable() -> None:
    content = diagram(f'<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ask"/>\n{ASK}\n'
                      '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="e"/>\n<bpmn:endEvent id="e"/>\n'
                      '<bpmn:manualTask id="orphan" name="孤立的任务"/>\n'
                      '<bpmn:sequenceFlow id="f3" sourceRef="orphan" targetRef="e"/>')
    [found] = by_rule(content, "unreachable")
    assert (found.line, found.element_id, found.element_name) == (line_of(content, 'id="orphan"'), "orphan", "孤立的任务")
    assert found.fix and str(found).startswith(f"a.bpmn:{found.line}: ")


def test_boundary_events_and_event_subprocesses_are_reached() -> None:
    content = diagram(f'<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ask"/>\n{ASK}\n'
                      '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="e"/>\n<bpmn:endEvent id="e"/>\n'
                      '<bpmn:boundaryEvent id="late" attachedToRef="ask"><bpmn:timerEventDefinition>'
                      '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>\n'
                      '<bpmn:sequenceFlow id="f3" sourceRef="late" targetRef="e2"/>\n<bpmn:endEvent id="e2"/>')
    assert by_rule(content, "unreachable") == []


def test_a_gateway_with_a_condition_on_every_flow_needs_a_default() -> None:
    body = (f'<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ask"/>\n{ASK}\n'
            '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="g"/>\n<bpmn:exclusiveGateway id="g" name="金额？"{default}/>\n'
            '<bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e"><bpmn:conditionExpression>${{amount &gt; 1000}}'
            '</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
            '<bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="e"><bpmn:conditionExpression>${{amount &lt; 500}}'
            '</bpmn:conditionExpression></bpmn:sequenceFlow>\n<bpmn:endEvent id="e"/>')
    [found] = by_rule(diagram(body.format(default="")), "gateway-no-default")
    assert (found.element_id, found.element_name) == ("g", "金额？")
    assert by_rule(diagram(body.format(default=' default="f4"')), "gateway-no-default") == []


def test_an_element_without_a_shape_is_missing_di() -> None:
    content = diagram(f'<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ask"/>\n{ASK}\n'
                      '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="e"/>\n<bpmn:endEvent id="e"/>',
                      undrawn=("ask", "f2"))
    assert sorted(f.element_id for f in by_rule(content, "missing-di")) == ["ask", "f2"]


def test_a_condition_on_a_variable_nobody_sets() -> None:
    body = (f'<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="ask"/>\n{ASK}\n'
            '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="g"/>\n<bpmn:exclusiveGateway id="g" default="f4"/>\n'
            '<bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e"><bpmn:conditionExpression>${{{name} &gt; 1000}}'
            '</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
            '<bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="e"/>\n<bpmn:endEvent id="e"/>')
    [found] = by_rule(diagram(body.format(name="amout")), "condition-unset")
    assert found.element_id == "f3" and '"amout"' in found and 'id "amout"' in found.fix
    assert by_rule(diagram(body.format(name="amount")), "condition-unset") == []


def test_a_variable_a_script_sets_is_set() -> None:
    content = diagram('<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>\n'
                      '<bpmn:scriptTask id="calc" scriptFormat="python"><bpmn:script>total = 3\nexecution.setVariable("vip", True)'
                      '</bpmn:script></bpmn:scriptTask>\n<bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="g"/>\n'
                      '<bpmn:exclusiveGateway id="g" default="f4"/>\n'
                      '<bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e"><bpmn:conditionExpression>${total &gt; 1 &amp;&amp; vip}'
                      '</bpmn:conditionExpression></bpmn:sequenceFlow>\n'
                      '<bpmn:sequenceFlow id="f4" sourceRef="g" targetRef="e"/>\n<bpmn:endEvent id="e"/>')
    assert findings(content) == []


@pytest.mark.parametrize("script, kind", [("total = = 3", "error"), ("print(1)", "warning")])
def test_a_script_that_cannot_run_is_found_at_deploy(script: str, kind: str) -> None:
    content = diagram('<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="calc"/>\n'
                      f'<bpmn:scriptTask id="calc" name="计算" scriptFormat="python"><bpmn:script>{script}</bpmn:script>'
                      '</bpmn:scriptTask>\n<bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="e"/>\n<bpmn:endEvent id="e"/>')
    try:
        load_bundle([("a.bpmn", content)])
        refused = False
    except DeployError:
        refused = True
    [found] = by_rule(content, "expression-syntax")
    assert refused == (kind == "error") and found.element_id == "calc"
    assert found.line == line_of(content, "<bpmn:script>")


@pytest.mark.parametrize("timer, rule", [("", "timer-empty"), ("<bpmn:timeDuration>P7</bpmn:timeDuration>", "timer-invalid")])
def test_a_timer_without_a_value_or_with_an_impossible_one(timer: str, rule: str) -> None:
    content = diagram(f'<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>\n'
                      f'<bpmn:intermediateCatchEvent id="wait" name="等待"><bpmn:timerEventDefinition>{timer}'
                      '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>\n'
                      '<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>\n<bpmn:endEvent id="e"/>')
    [found] = by_rule(content, rule)
    assert found.element_id == "wait" and found.fix


def test_unknown_camunda_attributes_and_tasks_nobody_sees() -> None:
    content = diagram('<bpmn:startEvent id="s"/>\n<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/>\n'
                      '<bpmn:userTask id="t" name="无人" camunda:asignee="wang"/>\n'
                      '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>\n<bpmn:endEvent id="e"/>')
    assert [f.element_id for f in by_rule(content, "camunda-unknown")] == ["t"]
    assert [f.element_id for f in by_rule(content, "task-nobody")] == ["t"]
