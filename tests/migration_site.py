"""Two versions of a small process for the migration tests and scripts/bench_migrate.py: a task A
with a form and a reminder timer, then a task that the second version replaces. No tests here."""
from __future__ import annotations

from engine import compat, services
from engine.store import Database

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://bpmn.io/schema/bpmn">\n')


def version(*, name_a: str = "受理", timer: str = "PT1H", second: str = "B", second_name: str = "回访",
            x_type: str = "string") -> bytes:
    """start → A (form x, a boundary timer to a reminder) → second → end."""
    return (HEAD + f'''<bpmn:process id="mig" name="迁移测试" isExecutable="true">
<bpmn:startEvent id="s"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="A"/>
<bpmn:userTask id="A" name="{name_a}" camunda:candidateGroups="front-desk"><bpmn:extensionElements><camunda:formData>
<camunda:formField id="x" label="说明" type="{x_type}"/></camunda:formData></bpmn:extensionElements></bpmn:userTask>
<bpmn:boundaryEvent id="late" name="超时提醒" cancelActivity="false" attachedToRef="A"><bpmn:timerEventDefinition>
<bpmn:timeDuration>{timer}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:sequenceFlow id="f4" sourceRef="late" targetRef="remind"/>
<bpmn:userTask id="remind" name="督办" camunda:candidateGroups="cs-supervisor"/>
<bpmn:sequenceFlow id="f5" sourceRef="remind" targetRef="e2"/><bpmn:endEvent id="e2"/>
<bpmn:sequenceFlow id="f2" sourceRef="A" targetRef="{second}"/>
<bpmn:userTask id="{second}" name="{second_name}" camunda:candidateGroups="front-desk"/>
<bpmn:sequenceFlow id="f3" sourceRef="{second}" targetRef="e"/>
<bpmn:endEvent id="e"/>
</bpmn:process>
</bpmn:definitions>
''').encode()


def deploy(db: Database, content: bytes) -> int:
    report = services.deploy_files(db, [compat.SourceFile("mig.bpmn", content)], services.Actor.operator("test"))
    return report.processes[0].definition_id
