"""The JUEL analysts write in Camunda Modeler evaluates as Camunda evaluates it — or fails clearly."""
from __future__ import annotations

from datetime import timedelta

import pytest
from engine import clock, services
from engine.compat import SourceFile
from engine.errors import DeployError, ProcessError

from camunda_cases import cli, definitions, process, user_task


def deploy(db, pid: str, content: bytes):
    return services.deploy_files(db, [SourceFile(f"{pid}.bpmn", content)], services.Actor.operator("test"))


def choice(condition: str) -> bytes:
    """start → gateway → "是" when the condition holds, else (default flow) "否"."""
    return definitions(f'''<bpmn:process id="gw" isExecutable="true">
<bpmn:startEvent id="start"/><bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="g"/>
<bpmn:exclusiveGateway id="g" default="no"/>
<bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="Yes">
<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{condition}</bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="no" sourceRef="g" targetRef="No"/>
{user_task("Yes", "是")}{user_task("No", "否")}
<bpmn:sequenceFlow id="f1" sourceRef="Yes" targetRef="end"/><bpmn:sequenceFlow id="f2" sourceRef="No" targetRef="end"/>
<bpmn:endEvent id="end"/></bpmn:process>''')


@pytest.mark.parametrize("condition, data, expected", [
    ("${amount ge 100 and amount lt 1000}", {"amount": 100}, "是"),
    ("${amount ge 100 and amount lt 1000}", {"amount": 1000}, "否"),
    ("${kind eq 'big' or kind == 'huge'}", {"kind": "huge"}, "是"),
    ("${not empty note}", {"note": ""}, "否"),
    ("${not empty note}", {"note": "已联系"}, "是"),
    ("${tags.size() &gt; 1}", {"tags": ["a", "b"]}, "是"),
    ("${tags.contains('urgent')}", {"tags": ["late"]}, "否"),
    ("${kind.equals(\"big\")}", {"kind": "big"}, "是"),
    ("${name.startsWith('张') &amp;&amp; !name.isEmpty()}", {"name": "张三"}, "是"),
    ("${execution.getVariable('vip') == true}", {}, "否"),  # not set: null, as in Camunda
    ("${execution.getVariable(\"vip\") == true}", {"vip": True}, "是"),
    ("${execution.hasVariable('vip')}", {"vip": False}, "是"),
])
def test_conditions_written_in_juel_route_as_in_camunda(empty_db, condition, data, expected):
    deploy(empty_db, "gw", choice(condition))
    instance = services.start_instance(empty_db, "gw", services.Actor.operator(), data=data)
    assert [t.name for t in services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items] == [expected]


def test_due_dates_and_assignees_from_now_date_time_and_get_variable(empty_db):
    tasks = [user_task("a", "立即", 'camunda:assignee="demo" camunda:dueDate="${now()}"'),
             user_task("b", "两天", 'camunda:assignee="demo" camunda:dueDate="${dateTime().plusDays(2).toDate()}"'),
             user_task("c", "三小时", 'camunda:assignee="${execution.getVariable(\'owner\')}" '
                                   'camunda:dueDate="${dateTime().plusHours(3).toDate()}"')]
    flows = "".join(f'<bpmn:sequenceFlow id="in{n}" sourceRef="fork" targetRef="{n}"/>'
                    f'<bpmn:sequenceFlow id="out{n}" sourceRef="{n}" targetRef="join"/>' for n in "abc")
    content = definitions(f'''<bpmn:process id="due" isExecutable="true"><bpmn:startEvent id="start"/>
<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="fork"/><bpmn:parallelGateway id="fork"/>
{"".join(tasks)}{flows}<bpmn:parallelGateway id="join"/>
<bpmn:sequenceFlow id="f1" sourceRef="join" targetRef="end"/><bpmn:endEvent id="end"/></bpmn:process>''')
    deploy(empty_db, "due", content)
    now = clock.parse_time("2026-11-23T09:00:00+08:00")
    with clock.frozen(now):
        instance = services.start_instance(empty_db, "due", services.Actor.operator(), data={"owner": "engineer"})
    found = {t.name: (t.assignee, t.due_at) for t in services.list_tasks(empty_db, services.Actor.operator(), instance_id=instance).items}
    assert found == {"立即": ("demo", now), "两天": ("demo", now + timedelta(days=2)),
                     "三小时": ("engineer", now + timedelta(hours=3))}


def test_a_missing_variable_in_an_assignee_is_a_clear_error_and_nothing_is_saved(empty_db, tmp_path):
    content = definitions(process("who", user_task("call", "回访", 'camunda:assignee="${owner}"')))
    deploy(empty_db, "who", content)
    with pytest.raises(ProcessError) as raised:
        services.start_instance(empty_db, "who", services.Actor.operator())
    assert "call（回访）" in raised.value.message and "camunda:assignee" in raised.value.message
    assert "变量 owner 不存在" in raised.value.message
    assert services.list_tasks(empty_db, services.Actor.operator()).items == []

    (tmp_path / "who.bpmn").write_bytes(content)
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", "who.bpmn").returncode == 0
    started = bpmdesk("start", "who")
    assert started.returncode == 2 and "变量 owner 不存在" in started.stderr and "call" in started.stderr
    assert bpmdesk("start", "who", "--data", '{"owner": "demo"}').returncode == 0


def test_scripts_ported_from_camunda_use_execution_get_and_set_variable(empty_db):
    script = ('total = execution.getVariable("price") * 2\n'
              'execution.setVariable("level", "高" if total &gt; 100 else "低")\n'
              'missing = execution.getVariable("nothing")\n'
              'execution.removeVariable("price")')
    content = definitions(process("port", f'<bpmn:scriptTask id="s" scriptFormat="python"><bpmn:script>{script}'
                                          "</bpmn:script></bpmn:scriptTask>", user_task("t", "查看")))
    deploy(empty_db, "port", content)
    instance = services.start_instance(empty_db, "port", services.Actor.operator(), data={"price": 80})
    assert services.show_instance(empty_db, instance, services.Actor.operator()).data == {"total": 160, "level": "高", "missing": None}


def test_engine_objects_scripts_cannot_have_are_refused_naming_them(empty_db):
    content = definitions(process("bk", '<bpmn:scriptTask id="s" scriptFormat="python"><bpmn:script>'
                                        "who = task.getAssignee()</bpmn:script></bpmn:scriptTask>"))
    with pytest.raises(DeployError) as raised:
        deploy(empty_db, "bk", content)
    assert any("task.getAssignee: not available here" in p for p in raised.value.problems)
