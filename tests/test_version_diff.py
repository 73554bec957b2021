"""What changed between two versions, in words and drawn: the analyst's check before deploying."""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from engine.compat import SourceFile
from engine.compat.diff import diff_bundles
from engine.compat.model import ProcessBundle
from engine.diagram import render_svg

ROOT = Path(__file__).resolve().parents[1]
COMPLAINT = (ROOT / "processes" / "complaint_handling.bpmn").read_bytes()
RETURNS = (ROOT / "processes" / "order_cancellation_return.bpmn").read_bytes()
POLICY = (ROOT / "processes" / "return_policy.dmn").read_bytes()


def bundle(bpmn: bytes, process_id: str = "complaint_handling", dmn: list[bytes] = ()) -> ProcessBundle:
    return ProcessBundle(process_id, None, SourceFile("p.bpmn", bpmn), [SourceFile("d.dmn", d) for d in dmn],
                         [], [], None)


def edited(content: bytes, *replacements: tuple[str, str]) -> bytes:
    text = content.decode()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode()


NEW = edited(
    COMPLAINT,
    ('name="投诉分类"', 'name="投诉分类与登记"'),
    ('<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT15M</bpmn:timeDuration>',
     '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT20M</bpmn:timeDuration>'),
    ('<bpmn:userTask id="Task_ReportToGM" name="重大投诉事件报告（报总经理助理）" camunda:candidateGroups="cs-manager">',
     '<bpmn:userTask id="Task_ReportToGM" name="重大投诉事件报告（报总经理助理）" camunda:candidateGroups="cs-supervisor">'),
    ("${complaint_severity == 'major'}", "${complaint_severity == 'major' || complaint_severity == 'severe'}"),
    ('<camunda:formField id="phone" label="联系电话" type="string">',
     '<camunda:formField id="email" label="电子邮件" type="string"/><camunda:formField id="phone" label="联系电话" type="long">'),
)


def texts(diff, kind: str) -> list[str]:
    return [c.text for c in diff.of_kind(kind)]


def test_each_kind_of_change_is_named_in_words() -> None:
    diff = diff_bundles(bundle(COMPLAINT), bundle(NEW))
    assert texts(diff, "renamed") == ["用户任务「投诉分类」改名为「投诉分类与登记」"]
    assert texts(diff, "timer") == ["边界事件「15分钟未取单」的时限：PT15M → PT20M"]
    assert texts(diff, "assignment") == ["用户任务「重大投诉事件报告（报总经理助理）」的候选组：cs-manager → cs-supervisor"]
    assert any("complaint_severity == 'severe'" in t for t in texts(diff, "condition"))
    form = texts(diff, "form")
    assert any("新增字段 email（string）" in t for t in form) and any("phone 类型：string → long" in t for t in form)
    assert diff.added == set() and diff.removed == set()
    assert {"Task_ClassifyComplaint", "Timer_PickUpOverdue", "Task_ReportToGM"} <= diff.changed


def test_elements_added_and_removed_are_drawn_green_and_red() -> None:
    new = edited(COMPLAINT, ('<bpmn:boundaryEvent id="Timer_PickUpOverdue"', '<bpmn:boundaryEvent id="Timer_PickUpLate"'))
    diff = diff_bundles(bundle(COMPLAINT), bundle(new))
    assert "Timer_PickUpLate" in diff.added and "Timer_PickUpOverdue" in diff.removed
    svg = etree.fromstring(render_svg(COMPLAINT, "complaint_handling", removed=diff.removed).encode())
    group = svg.xpath("//*[@data-element-id='Timer_PickUpOverdue']")[0]
    assert "removed" in group.get("class").split()


def test_a_changed_decision_rule_is_named_and_its_task_drawn_changed() -> None:
    new_policy = edited(POLICY, ('<text>"clearance"</text>', '<text>"clearance","outlet"</text>'))
    diff = diff_bundles(bundle(RETURNS, "order_cancellation_return", [POLICY]),
                        bundle(RETURNS, "order_cancellation_return", [new_policy]))
    [change] = diff.of_kind("decision")
    assert "Rule_clearance" in change.text and '"clearance","outlet"' in change.text
    assert "Task_ApplyReturnPolicy" in diff.changed
