"""A diagram's task names reach the CSV export as text a spreadsheet does not run (no formula
injection), however they start; the XES export keeps them as written."""
from __future__ import annotations

import csv
import io
from xml.sax.saxutils import quoteattr

import pytest

from engine import compat, services
from engine.store import Database

NAMES = ['=HYPERLINK("http://evil.example","点我")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\r回车", "正常名称"]


def diagram() -> bytes:
    tasks = "".join(f'<bpmn:userTask id="T{i}" name={quoteattr(name)} camunda:candidateGroups="front-desk"/>'
                    for i, name in enumerate(NAMES))
    gateway_out = "".join(f'<bpmn:sequenceFlow id="o{i}" sourceRef="fork" targetRef="T{i}"/>'
                          f'<bpmn:sequenceFlow id="e{i}" sourceRef="T{i}" targetRef="end{i}"/><bpmn:endEvent id="end{i}"/>'
                          for i in range(len(NAMES)))
    return (f'<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            f'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpmn.io/schema/bpmn">'
            f'<bpmn:process id="named" isExecutable="true"><bpmn:startEvent id="start"/>'
            f'<bpmn:parallelGateway id="fork"/><bpmn:sequenceFlow id="s" sourceRef="start" targetRef="fork"/>'
            f"{tasks}{gateway_out}</bpmn:process></bpmn:definitions>").encode()


@pytest.fixture
def exported(db: Database) -> list[dict[str, str]]:
    services.deploy_files(db, [compat.SourceFile("named.bpmn", diagram())], services.Actor.operator("test"))
    services.start_instance(db, "named", services.actor_for(db, "frontdesk"), {})
    out = io.BytesIO()
    services.export_log(db, "csv", out, services.Actor.operator(), process_id="named")
    return list(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"), newline="")))


def test_cells_that_start_like_a_formula_are_text_in_the_csv(exported: list[dict[str, str]]) -> None:
    activities = {row["concept:name"] for row in exported}
    for name in NAMES[:-1]:
        assert "'" + name in activities, (name, activities)
        assert name not in activities
    assert "正常名称" in activities
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in exported for cell in row.values())


def test_the_xes_export_keeps_names_as_written(db: Database) -> None:
    services.deploy_files(db, [compat.SourceFile("named.bpmn", diagram())], services.Actor.operator("test"))
    services.start_instance(db, "named", services.actor_for(db, "frontdesk"), {})
    out = io.BytesIO()
    services.export_log(db, "xes", out, services.Actor.operator(), process_id="named")
    assert "=HYPERLINK(&quot;http://evil.example&quot;" in out.getvalue().decode("utf-8")
