"""The case page's diagram: drawn from the BPMN file's own DI, states highlighted, names escaped."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from lxml import etree

from engine.diagram import render_svg, wrap
from engine.errors import InvalidInput, NotFound

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path("/work/shared/corpus/public")
SVG = "{http://www.w3.org/2000/svg}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
PROCESSES = sorted((ROOT / "processes").glob("*.bpmn"))


def corpus_processes() -> list[tuple[str, str]]:
    if not CORPUS.is_dir():
        return []
    files = [row["file"] for row in csv.DictReader(open(CORPUS / "MANIFEST.tsv", encoding="utf-8"),
                                                   delimiter="\t")]
    return [(name, process.get("id")) for name in files
            for process in etree.parse(str(CORPUS / name)).iter(f"{BPMN}process")]


def parsed(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode("utf-8"))


def group_of(svg: etree._Element, element_id: str) -> etree._Element:
    found = svg.xpath("//svg:g[@data-element-id=$id]", namespaces={"svg": SVG[1:-1]}, id=element_id)
    assert len(found) == 1, f"{element_id} drawn {len(found)} times"
    return found[0]


def classes(svg: etree._Element, element_id: str) -> set[str]:
    return set(group_of(svg, element_id).get("class").split())


def one_task(name: str, *, extra_xml: str = "", doctype: str = "") -> bytes:
    """A minimal Camunda Modeler-style diagram: start → user task (named ``name``) → end."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>{doctype}
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" name="测试" isExecutable="true">
    <bpmn:startEvent id="start" name="开始"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <bpmn:userTask id="task" name="{name}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
    <bpmn:endEvent id="end"/>
    {extra_xml}
  </bpmn:process>
  <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36"/>
      <bpmndi:BPMNLabel><dc:Bounds x="100" y="140" width="40" height="14"/></bpmndi:BPMNLabel></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="task_di" bpmnElement="task"><dc:Bounds x="200" y="78" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="360" y="100" width="36" height="36"/></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="136" y="118"/><di:waypoint x="200" y="118"/></bpmndi:BPMNEdge>
    <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="300" y="118"/><di:waypoint x="360" y="118"/></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>""".encode("utf-8")


@pytest.mark.parametrize(("file", "process_id"), corpus_processes())
def test_every_corpus_process_with_a_drawing_renders_every_shape(file: str, process_id: str) -> None:
    data = (CORPUS / file).read_bytes()
    try:
        svg = parsed(render_svg(data, process_id))
    except NotFound as error:
        assert "图形信息" in str(error)  # a process the file has no drawing of (a called process)
        return
    assert svg.tag == f"{SVG}svg" and svg.get("viewBox")
    drawn = {g.get("data-element-id") for g in svg.iter(f"{SVG}g") if g.get("data-element-id")}
    assert drawn, "nothing drawn"
    for g in svg.iter(f"{SVG}g"):
        if g.get("data-element-id"):
            assert len(g) > 1, f"{g.get('data-element-id')} has a title but no shape"


@pytest.mark.parametrize("path", PROCESSES, ids=[p.name for p in PROCESSES])
def test_every_deployed_diagram_renders_with_its_chinese_names(path: Path) -> None:
    data = path.read_bytes()
    for process in etree.fromstring(data).iter(f"{BPMN}process"):
        svg = render_svg(data, process.get("id"))
        names = [t.get("name") for t in process.iter(f"{BPMN}userTask") if t.get("name")]
        text = "".join(parsed(svg).itertext())
        for name in names:
            assert name[:4] in text, f"task name {name} missing from the drawing"


def test_shapes_follow_the_bpmn_kind_and_lanes_are_frames() -> None:
    data = (CORPUS / "spiffworkflow__lanes.bpmn").read_bytes()
    svg = parsed(render_svg(data, "lanes"))
    assert group_of(svg, "StartEvent_1").find(f"{SVG}circle") is not None
    gateway = group_of(svg, "Gateway_askQuestion")
    assert gateway.find(f"{SVG}path") is not None and len(gateway.findall(f"{SVG}path")) == 2  # diamond + X
    task = group_of(svg, "Activity_A1").find(f"{SVG}rect")
    assert task.get("rx") == "10" and task.get("width") == "100"
    lane = group_of(svg, "A_id").find(f"{SVG}rect")
    assert (lane.get("x"), lane.get("y"), lane.get("width"), lane.get("height")) == ("190", "60", "960", "125")
    flow = group_of(svg, "Flow_0jwejm5")
    assert flow.find(f"{SVG}polyline").get("points") == "255,110 300,110"
    assert "head" in flow.find(f"{SVG}path").get("class")  # arrowhead


def test_boundary_events_are_drawn_as_double_circles_on_their_task() -> None:
    data = (CORPUS / "spiffworkflow__boundary_timer_on_task.bpmn").read_bytes()
    root = etree.fromstring(data)
    process_id = next(root.iter(f"{BPMN}process")).get("id")
    boundary = next(root.iter(f"{BPMN}boundaryEvent")).get("id")
    circles = group_of(parsed(render_svg(data, process_id)), boundary).findall(f"{SVG}circle")
    assert len(circles) >= 3  # outer, inner, clock face


def test_states_are_highlighted_by_element_id() -> None:
    svg = parsed(render_svg(one_task("受理"), "p", completed={"start", "f1"}, active={"task"},
                            escalated={"task"}))
    assert {"done"} <= classes(svg, "start") and {"done"} <= classes(svg, "f1")
    assert {"active", "escalated"} <= classes(svg, "task")
    assert not {"done", "active", "escalated"} & classes(svg, "end")


def test_a_script_in_a_task_name_is_text_not_markup() -> None:
    hostile = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot; &lt;img src=x onerror=alert(2)&gt;"
    svg = render_svg(one_task(hostile), "p")
    assert "<script" not in svg and "<img" not in svg
    assert "&lt;script&gt;alert(1)" in svg
    assert not parsed(svg).xpath("//*[local-name()='script' or local-name()='img' or @onerror]")


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE d [<!ENTITY leak SYSTEM "file:///etc/hostname">]>',
    '<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
], ids=["external-entity", "entity-expansion"])
def test_a_file_with_a_doctype_is_refused_before_any_entity_is_read(doctype: str) -> None:
    with pytest.raises(InvalidInput, match="DOCTYPE"):
        render_svg(one_task("&leak;&b;", doctype=doctype), "p")


def test_missing_process_no_drawing_and_not_xml_are_clear_errors() -> None:
    with pytest.raises(NotFound, match="没有流程 nope"):
        render_svg(one_task("x"), "nope")
    without_di = one_task("x").split(b"<bpmndi:BPMNDiagram")[0] + b"</bpmn:definitions>"
    with pytest.raises(NotFound, match="没有图形信息"):
        render_svg(without_di, "p")
    with pytest.raises(InvalidInput, match="无法读取"):
        render_svg(b"<bpmn:definitions", "p")


def test_a_plane_left_pointing_at_an_old_process_id_still_draws_the_process() -> None:
    data = (CORPUS / "camunda-bpm-platform__eventingWithIntermediateCatch.bpmn").read_bytes()
    svg = parsed(render_svg(data, "eventingWithIntermediateCatch"))
    assert len([g for g in svg.iter(f"{SVG}g") if g.get("data-element-id")]) > 3


def test_task_names_wrap_to_the_box_and_long_ones_are_cut() -> None:
    assert wrap("向总经理汇报重大投诉", 88, 4) == ["向总经理汇报重", "大投诉"]
    assert wrap("Clarifying Questions?", 88, 4) == ["Clarifying", "Questions?"]
    lines = wrap("非常" * 40, 88, 3)
    assert len(lines) == 3 and lines[-1].endswith("…")
