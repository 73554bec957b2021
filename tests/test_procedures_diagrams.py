"""Every diagram in processes/ deploys cleanly and reads well in Camunda Modeler.

Checked on the files themselves, so an analyst's edit that drops a shape, a candidate group or a
default flow fails here before it reaches the counter.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.compat import load_bundle

PROCESSES = Path(__file__).resolve().parents[1] / "processes"
BPMN_FILES = sorted(PROCESSES.glob("*.bpmn"))
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "camunda": "http://camunda.org/schema/1.0/bpmn",
}
FLOW_NODES = ("startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent", "intermediateThrowEvent",
              "userTask", "scriptTask", "businessRuleTask", "serviceTask", "task", "manualTask",
              "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
              "subProcess", "callActivity")
CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"
PROCEDURES = {"complaint_handling", "engineering_repair", "order_cancellation_return", "product_repair",
              "after_sales_follow_up", "household_registration", "move_in_acceptance"}
PERIODIC = {"complaint_daily_followup", "complaint_weekly_summary", "satisfaction_weekly_summary"}


def _root(path: Path) -> etree._Element:
    return etree.parse(str(path)).getroot()


def _all(root: etree._Element, *tags: str) -> list[etree._Element]:
    return [el for tag in tags for el in root.iter(f"{{{NS['bpmn']}}}{tag}")]


def test_every_procedure_and_periodic_duty_is_deployed_without_warnings():
    bundle = load_bundle([(p.name, p.read_bytes()) for p in sorted(PROCESSES.iterdir())
                          if p.suffix in (".bpmn", ".dmn")])
    assert PROCEDURES | PERIODIC <= set(bundle.processes)
    assert bundle.warnings == []


def test_periodic_duties_start_on_a_timer_cycle():
    starts = {}
    for path in BPMN_FILES:
        for process in _all(_root(path), "process"):
            cycles = process.xpath("bpmn:startEvent/bpmn:timerEventDefinition/bpmn:timeCycle/text()",
                                   namespaces=NS)
            starts[process.get("id")] = cycles
    assert all(starts[pid] and starts[pid][0].startswith("R/") for pid in PERIODIC)
    assert not any(starts[pid] for pid in PROCEDURES)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_every_flow_node_has_a_shape_and_every_flow_an_edge(path):
    root = _root(path)
    shapes = {s.get("bpmnElement") for s in root.iter(f"{{{NS['bpmndi']}}}BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")}
    nodes = {el.get("id") for el in _all(root, *FLOW_NODES)}
    assert nodes - shapes == set()
    flows = {el.get("id") for el in _all(root, "sequenceFlow")}
    assert flows - set(edges) == set()
    assert all(len(edges[f].findall("di:waypoint", NS)) >= 2 for f in flows)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_every_user_task_has_a_group_or_assignee_a_name_and_a_form(path):
    for task in _all(_root(path), "userTask"):
        assert task.get(f"{CAMUNDA}candidateGroups") or task.get(f"{CAMUNDA}assignee"), task.get("id")
        assert task.get("name"), task.get("id")
        assert task.findall(".//camunda:formData/camunda:formField", NS), f"{task.get('id')} has no form"


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_ids_are_ascii_and_choices_have_a_default(path):
    root = _root(path)
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id"):
            assert el.get("id").isascii(), el.get("id")
    for gateway in _all(root, "exclusiveGateway"):
        outgoing = gateway.findall("bpmn:outgoing", NS)
        if len(outgoing) > 1:
            assert gateway.get("default"), f"{gateway.get('id')} has no default flow"


ESCALATION_GROUPS = ("cs-supervisor", "cs-manager")


def _groups(node: etree._Element) -> str:
    return node.get(f"{CAMUNDA}candidateGroups") or ""


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_reminders_leave_the_watched_task_open(path):
    """A boundary timer on a task is a reminder (the task stays open); only a supervisor's own 督办
    is taken from him when his limit passes, and it goes one level up to the CS manager."""
    root = _root(path)
    tasks = {t.get("id"): t for t in _all(root, "userTask", "subProcess")}
    for boundary in _all(root, "boundaryEvent"):
        if boundary.find("bpmn:timerEventDefinition", NS) is None:
            continue
        watched = tasks[boundary.get("attachedToRef")]
        if _groups(watched) == "cs-supervisor":
            assert boundary.get("cancelActivity", "true") == "true", boundary.get("id")
            text = boundary.findtext("bpmn:timerEventDefinition/bpmn:timeDuration", namespaces=NS)
            assert text == "${escalation_limit}", f"{boundary.get('id')}: the centre's limit, escalation_policy.dmn"
            (flow,) = root.xpath(f"//bpmn:sequenceFlow[@sourceRef='{boundary.get('id')}']", namespaces=NS)
            assert _groups(tasks[flow.get("targetRef")]) == "cs-manager", boundary.get("id")
        else:
            assert boundary.get("cancelActivity") == "false", boundary.get("id")


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_every_supervisors_escalation_goes_up_after_its_own_limit(path):
    root = _root(path)
    watched = {b.get("attachedToRef") for b in _all(root, "boundaryEvent")
               if b.find("bpmn:timerEventDefinition", NS) is not None}
    for task in _all(root, "userTask"):
        if _groups(task) == "cs-supervisor" and task.get("name", "").endswith("督办"):
            assert task.get("id") in watched, f"{task.get('id')} never goes up to the manager"


def _reached_from_the_start(process: etree._Element) -> set[str]:
    """Ids of the process's own flow nodes that its start events reach by sequence flows."""
    targets: dict[str, list[str]] = {}
    for flow in process.findall("bpmn:sequenceFlow", NS):
        targets.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    seen: set[str] = set()
    todo = [start.get("id") for start in process.findall("bpmn:startEvent", NS)]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(targets.get(node, []))
    return seen


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.stem)
def test_the_work_ends_the_case_with_its_open_escalations(path):
    """Where the work ends there is a terminate end event, so no 督办 (they start from boundary
    timers, not from the start event) holds a finished case open."""
    for process in _all(_root(path), "process"):
        reached = _reached_from_the_start(process)
        for end in process.findall("bpmn:endEvent", NS):
            if end.get("id") in reached:
                assert end.find("bpmn:terminateEventDefinition", NS) is not None, \
                    f"{end.get('id')} is not a terminate end"
