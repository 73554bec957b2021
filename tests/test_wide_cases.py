"""A case with many parallel tasks: the auditor's page replays it by reading the workflow's open
tasks once per step, not once per recorded event (2,000 tasks took 87 s, now under a second)."""
from __future__ import annotations

import pytest

from engine import compat, runtime, services
from engine.store import Database

WIDE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="wide" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="Check" name="逐户检查" camunda:candidateGroups="front-desk">
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>{count}</bpmn:loopCardinality></bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Check"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Check" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_the_audit_replay_of_a_wide_case_walks_the_workflow_once_per_step(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    services.deploy_files(db, [compat.SourceFile("wide.bpmn", WIDE.format(count=300).encode())], services.Actor.operator("test"))
    case = services.start_instance(db, "wide", services.actor_for(db, "frontdesk"), {})
    tasks = services.list_tasks(db, services.actor_for(db, "frontdesk"), instance_id=case, per_page=500).items
    for task in tasks[:3]:
        services.complete(db, task.id, services.actor_for(db, "frontdesk"), {})
    walks = []
    counted = runtime.open_user_tasks

    def counting(workflow):
        walks.append(1)
        return counted(workflow)

    monkeypatch.setattr(runtime, "open_user_tasks", counting)
    audited = services.audit_case(db, case, viewer=services.actor_for(db, "auditor"))
    assert audited.replay.divergence is None
    assert len([e for e in audited.timeline if e.type == "task_ready"]) == 300
    assert len(walks) <= 1 + 3 + 2, len(walks)  # the start, each completion, the comparison
    assert len(audited.replay.snapshot.open_tasks) == 297
