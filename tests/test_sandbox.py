"""The script sandbox, exercised through real BPMN and DMN run by SpiffWorkflow."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.sandbox import SandboxEnvironment, make_script_engine

ENGINE = make_script_engine()
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))


def _definitions(body: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>""".encode()


def _chain(*elements: str) -> bytes:
    """start → elements… → end; each element is XML with id ``E{i}`` and no flows of its own."""
    ids = ["Begin", *[f"E{i}" for i in range(len(elements))], "Finish"]
    nodes = ['<bpmn:startEvent id="Begin"/>', *elements, '<bpmn:endEvent id="Finish"/>']
    flows = [f'<bpmn:sequenceFlow id="F{i}" sourceRef="{a}" targetRef="{b}"/>'
             for i, (a, b) in enumerate(zip(ids, ids[1:]))]
    return _definitions("".join(nodes + flows))


def _script(index: int, source: str) -> str:
    return (f'<bpmn:scriptTask id="E{index}" name="脚本{index}" scriptFormat="python">'
            f"<bpmn:script><![CDATA[{source}]]></bpmn:script></bpmn:scriptTask>")


def _run(bpmn: bytes, data: dict[str, Any], dmn: bytes | None = None,
         engine: PythonScriptEngine = ENGINE) -> BpmnWorkflow:
    parser = CamundaParser()
    parser.add_bpmn_str(bpmn)
    if dmn is not None:
        parser.add_dmn_str(dmn)
    workflow = BpmnWorkflow(parser.get_spec("p"), parser.get_subprocess_specs("p"), script_engine=engine)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    workflow.do_engine_steps()
    return workflow


def _run_script(source: str, data: dict[str, Any], engine: PythonScriptEngine = ENGINE) -> BpmnWorkflow:
    return _run(_chain(_script(0, source)), data, engine=engine)


def _failure(source: str, data: dict[str, Any], engine: PythonScriptEngine = ENGINE) -> WorkflowTaskException:
    with pytest.raises(WorkflowTaskException) as caught:
        _run_script(source, data, engine)
    return caught.value


def _final_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    assert workflow.is_completed()
    return workflow.last_task.data


# --- scripts and task data -------------------------------------------------------------------

def test_a_script_computes_values_and_calls_a_business_function() -> None:
    script = ("fee = cancellation_fee(price, fee_rate)\n"
              "refund = price - fee\n"
              "summary = f'退单费 {fee:.2f} 元'")
    data = _final_data(_run_script(script, {"price": 1005, "fee_rate": 0.1}))
    assert data == {"price": 1005, "fee_rate": 0.1, "fee": 100.5, "refund": 904.5, "summary": "退单费 100.50 元"}


def test_task_data_after_a_script_holds_only_data() -> None:
    script = """
items = [{'name': n, 'qty': q} for n, q in zip(names, qtys)]
total = 0
for item in items:
    total += item['qty']
def label(item):
    return item['name'] + ' x' + str(item['qty'])
labels = sorted(map(label, items))
pick = lambda item: item['qty']
record['checked'] = True
record['count'] = len(items)
first, *rest = names
del obsolete
due = datetime(2026, 1, 5, 9, 0) + timedelta(days=7)
"""
    data = _final_data(_run_script(script, {"names": ["床", "桌"], "qtys": [2, 3], "record": {}, "obsolete": 1}))
    assert data == {
        "names": ["床", "桌"], "qtys": [2, 3],
        "record": {"checked": True, "count": 2},
        "items": [{"name": "床", "qty": 2}, {"name": "桌", "qty": 3}],
        "total": 5, "item": {"name": "桌", "qty": 3}, "labels": ["床 x2", "桌 x3"],
        "first": "床", "rest": ["桌"], "due": datetime(2026, 1, 12, 9, 0),
    }


def test_camunda_literals_true_false_null_read_as_python_ones_unless_task_data_names_them() -> None:
    data = _final_data(_run_script("flags = [true, false, null]\nmine = null", {"null": "空"}))
    assert data == {"null": "空", "flags": [True, False, "空"], "mine": "空"}


def test_locals_shows_a_copy_of_the_data_variables_only() -> None:
    script = ("seen = sorted(locals())\n"
              "flag = 'hey' in locals()\n"
              "locals()['injected'] = 1")
    data = _final_data(_run_script(script, {"hey": False, "price": 3}))
    assert data == {"hey": False, "price": 3, "seen": ["hey", "price"], "flag": True}


def test_the_workflow_with_script_results_serialises_and_restores() -> None:
    workflow = _run_script("due = now() + timedelta(hours=48)\nfee = cancellation_fee(price, 0.1)", {"price": 300})
    restored = SERIALIZER.deserialize_json(SERIALIZER.serialize_json(workflow))
    assert restored.last_task.data == workflow.last_task.data
    assert restored.last_task.data["fee"] == 30.0
    assert isinstance(restored.last_task.data["due"], datetime)


def test_scripts_read_the_engine_clock() -> None:
    with clock.frozen("2026-01-05T14:30:00+08:00"):
        data = _final_data(_run_script("at = now_iso()\nday = today().isoformat()\nutc = now()", {}))
    assert data == {"at": "2026-01-05T14:30:00+08:00", "day": "2026-01-05",
                    "utc": datetime(2026, 1, 5, 6, 30, tzinfo=timezone.utc)}


def test_reading_the_wall_clock_directly_is_refused_with_the_alternative() -> None:
    error = _failure("x = datetime.now()", {})
    assert "use now() or today()" in str(error)


def test_a_script_error_names_the_task_and_the_line() -> None:
    error = _failure("a = 1\nb = a / 0\nc = 2", {})
    assert error.task.task_spec.bpmn_id == "E0"
    assert error.line_number == 2
    assert error.error_line == "b = a / 0"
    assert "ZeroDivisionError" in str(error)


def test_a_rejected_script_names_its_line() -> None:
    error = _failure("a = 1\nimport os", {})
    assert error.line_number == 2
    assert "import statements are not allowed" in str(error)


def test_assigning_to_a_business_function_name_is_refused_clearly() -> None:
    error = _failure("cancellation_fee = 1", {})
    assert "cancellation_fee is a business function" in str(error)


def test_task_data_named_like_a_business_function_is_refused_clearly() -> None:
    error = _failure("x = 1", {"hours_between": 3})
    assert "hours_between has the name of a business function" in str(error)


@pytest.mark.parametrize(("source", "message"), [
    ("keys = d.keys()", "keys holds a dict_keys, which task data cannot store (convert it with list(...))"),
    ("gen = (v for v in [1])", "gen holds a generator"),
    ("day = date(2026, 1, 5)", "day holds a date; store it as text with .isoformat()"),
    ("nested = {'f': lambda: 1}", "nested holds a function"),
    ("loop = []\nloop.append(loop)", "loop contains itself"),
    ("row = [0] * 100\ngrid = [row] * 100\ncube = [grid] * 1000", "cube is too large for task data"),
    ("deep = []\nfor i in range(100):\n    deep = [deep]", "deep is nested too deeply"),
])
def test_values_task_data_cannot_store_are_refused_by_name(source: str, message: str) -> None:
    error = _failure(source, {"d": {}})
    assert message in str(error)
    assert error.task.data == {"d": {}}


# --- gateways, timers, DMN -------------------------------------------------------------------

GATEWAY = _definitions("""
<bpmn:startEvent id="Begin"/>
<bpmn:exclusiveGateway id="Within48h" default="Late"/>
<bpmn:scriptTask id="Free" scriptFormat="python"><bpmn:script>route = 'free'</bpmn:script></bpmn:scriptTask>
<bpmn:scriptTask id="Fee" scriptFormat="python"><bpmn:script>route = 'fee'</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="Finish"/>
<bpmn:sequenceFlow id="F0" sourceRef="Begin" targetRef="Within48h"/>
<bpmn:sequenceFlow id="InTime" sourceRef="Within48h" targetRef="Free">
  <bpmn:conditionExpression>
    order_kind == 'ordinary' and hours_between(ordered_at, now()) &lt;= 48
  </bpmn:conditionExpression>
</bpmn:sequenceFlow>
<bpmn:sequenceFlow id="Late" sourceRef="Within48h" targetRef="Fee"/>
<bpmn:sequenceFlow id="F1" sourceRef="Free" targetRef="Finish"/>
<bpmn:sequenceFlow id="F2" sourceRef="Fee" targetRef="Finish"/>
""")


@pytest.mark.parametrize(("ordered_at", "route"), [("2026-01-05 15:30", "free"), ("2026-01-05 13:30", "fee")])
def test_an_exclusive_gateway_condition_calls_a_business_function(ordered_at: str, route: str) -> None:
    with clock.frozen("2026-01-07T14:30:00+08:00"):
        data = _final_data(_run(GATEWAY, {"order_kind": "ordinary", "ordered_at": ordered_at}))
    assert data["route"] == route


def test_a_forbidden_condition_fails_with_the_reason() -> None:
    hostile = GATEWAY.replace(b"hours_between(ordered_at, now())", b"len(open('/etc/passwd').read())")
    with pytest.raises(WorkflowTaskException) as caught:
        _run(hostile, {"order_kind": "ordinary", "ordered_at": "2026-01-05 15:30"})
    assert "open() is not available" in str(caught.value)


def test_a_timer_expression_is_evaluated_in_the_sandbox() -> None:
    timer = ('<bpmn:intermediateCatchEvent id="E0"><bpmn:timerEventDefinition>'
             "<bpmn:timeDuration>'PT' + str(wait_minutes) + 'M'</bpmn:timeDuration>"
             "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")
    with clock.frozen("2026-01-05T10:00:00+08:00"):
        workflow = _run(_chain(timer), {"wait_minutes": 30})
    [waiting] = workflow.waiting_events()
    assert datetime.fromisoformat(waiting.value) == datetime(2026, 1, 5, 2, 30, tzinfo=timezone.utc)


RETURN_POLICY = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="Defs" name="policy" namespace="x">
  <decision id="return_policy" name="return policy">
    <decisionTable id="Table" hitPolicy="FIRST">
      <input id="Kind"><inputExpression id="KindExpr" typeRef="string"><text>order_kind</text></inputExpression></input>
      <input id="Hours">
        <inputExpression id="HoursExpr" typeRef="double"><text>hours_since_order</text></inputExpression>
      </input>
      <output id="Decision" name="decision" typeRef="string"/>
      <output id="Rate" name="fee_rate" typeRef="double"/>
      <rule id="R1">
        <inputEntry id="R1K"><text>"clearance"</text></inputEntry><inputEntry id="R1H"><text></text></inputEntry>
        <outputEntry id="R1D"><text>"refused"</text></outputEntry><outputEntry id="R1R"><text>0</text></outputEntry>
      </rule>
      <rule id="R2">
        <inputEntry id="R2K"><text>"ordinary"</text></inputEntry><inputEntry id="R2H"><text>&lt;= 48</text></inputEntry>
        <outputEntry id="R2D"><text>"free_cancel"</text></outputEntry><outputEntry id="R2R"><text>0</text></outputEntry>
      </rule>
      <rule id="R3">
        <inputEntry id="R3K"><text>"ordinary"</text></inputEntry><inputEntry id="R3H"><text>&gt; 48</text></inputEntry>
        <outputEntry id="R3D"><text>"cancel_with_fee"</text></outputEntry>
        <outputEntry id="R3R"><text>0.1</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>"""

CANCELLATION = _chain(
    _script(0, "hours_since_order = hours_between(ordered_at, now())"),
    '<bpmn:businessRuleTask id="E1" camunda:decisionRef="return_policy"/>',
    _script(2, "fee = cancellation_fee(price, fee_rate)"),
)


@pytest.mark.parametrize(("kind", "ordered_at", "decision", "fee"), [
    ("ordinary", "2026-01-05 15:30", "free_cancel", 0.0),
    ("ordinary", "2026-01-05 13:30", "cancel_with_fee", 128.0),
    ("clearance", "2026-01-07 10:00", "refused", 0.0),
])
def test_a_dmn_decision_evaluates_through_the_sandbox(kind: str, ordered_at: str, decision: str, fee: float) -> None:
    with clock.frozen("2026-01-07T14:30:00+08:00"):
        workflow = _run(CANCELLATION, {"order_kind": kind, "ordered_at": ordered_at, "price": 1280},
                        dmn=RETURN_POLICY)
    data = _final_data(workflow)
    assert (data["decision"], data["fee"]) == (decision, fee)
    assert SERIALIZER.deserialize_json(SERIALIZER.serialize_json(workflow)).last_task.data == data


def test_a_hostile_dmn_entry_is_refused() -> None:
    hostile = RETURN_POLICY.replace(b'<text>"refused"</text>', b"<text>[].__class__</text>")
    with pytest.raises(WorkflowTaskException) as caught:
        _run(CANCELLATION, {"order_kind": "clearance", "ordered_at": "2026-01-07 10:00", "price": 1}, dmn=hostile)
    assert "invalid attribute name" in str(caught.value)


# --- escapes ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "message"), [
    ("().__class__.__base__.__subclasses__()", '"__class__" is an invalid attribute name'),
    ("[].__class__", '"__class__" is an invalid attribute name'),
    ("getattr(x, '__class__')", "getattr() is not available"),
    ("'{0.__class__}'.format(1)", "cannot use .format of str values (use an f-string)"),
    ("str.format_map('{x.__class__}', {'x': 1})", "cannot use .format_map of str"),
    ("import os", "import statements are not allowed"),
    ("from os import path", "import statements are not allowed"),
    ("__import__('os')", '"__import__" is an invalid variable name'),
    ("open('/etc/passwd')", "open() is not available"),
    ("g = (i for i in [1])\nf = g.gi_frame", '"gi_frame" is a restricted name'),
    ("g = (i for i in [1])\nf = g.gi_frame.f_globals", '"f_globals" is a restricted name'),
    ("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    f = e.__traceback__.tb_frame",
     '"__traceback__" is an invalid'),
    ("g = (i for i in [1])\nf = g.send", "cannot use .send of generator values"),
    ("f = hours_between.__globals__", '"__globals__" is an invalid attribute name'),
    ("f = (lambda: 0).__code__", '"__code__" is an invalid attribute name'),
    ("vars()", "vars() is not available"),
    ("dir()", "dir() is not available"),
    ("t = type(x)", "type() is not available"),
    ("eval('1')", "Eval calls are not allowed"),
    ("exec('x = 2')", "Exec calls are not allowed"),
    ("class Evil:\n    pass", "class definitions are not allowed"),
    ("print(x)", "print is not available"),
    ("b = (1).to_bytes(8, 'big')", "cannot use .to_bytes of int values"),
    ("x.real = 2", "can only change items of lists and dicts"),
])
def test_escape_attempts_fail_clearly_and_change_nothing(source: str, message: str) -> None:
    error = _failure(f"leaked = 1\n{source}", {"x": 1})
    assert message in str(error)
    assert error.task.data == {"x": 1}


def test_no_file_is_written(tmp_path: Path) -> None:
    target = tmp_path / "written.txt"
    error = _failure(f"f = open({str(target)!r}, 'w')\nf.write('x')", {})
    assert "open() is not available" in str(error)
    assert not target.exists()


# --- bounded time and size -------------------------------------------------------------------

@pytest.mark.parametrize(("source", "message"), [
    ("while True: pass", "ran longer than 1 s"),
    ("n = 0\nwhile True:\n    try:\n        n += 1\n    except Exception:\n        pass", "ran longer than 1 s"),
    ("def spin():\n    while 1:\n        yield 1\ntotal = sum(spin())", "ran longer than 1 s"),
    ("f = lambda n: n < 500 and (f(n + 1) + f(n + 1))\nf(0)", "ran longer than 1 s"),
    ("x = 10**10**10", "scripts may use at most 10,000"),
    ("x = 1 << 10**9", "scripts may use at most 10,000"),
    ("x = 'a' * 10**10", "scripts may build at most 1,000,000"),
    ("x = [0] * 10**10", "scripts may build at most 1,000,000"),
    ("x = [i for i in range(10**10)]", "scripts may build at most 1,000,000"),
    ("s = 'a' * 1000\ns += s.replace('', s)", "scripts may build at most 1,000,000"),
    ("s = '-'.join(['a' * 10**5] * 100)", "scripts may build at most 1,000,000"),
    ("s = 'a'.ljust(10**10)", "scripts may build at most 1,000,000"),
    ("s = f'{1:>10000000000}'", "format width or precision of 10000000000 is too large"),
    ("s = '%10000000000d' % 1", "format width or precision of 10000000000 is too large"),
    ("x = round(5, -10**9)", "round() to -1000000000 digits is not allowed"),
    ("x = sum([[1]] * 1000, [])", "sum() adds numbers"),
])
def test_runaway_scripts_are_stopped_within_two_seconds(source: str, message: str) -> None:
    started = time.monotonic()
    error = _failure(source, {})
    assert time.monotonic() - started < 2
    assert message in str(error)


def test_the_time_limit_names_the_line_where_the_script_was_stopped() -> None:
    error = _failure("n = 0\nwhile True:\n    n += 1", {})
    assert error.line_number in (2, 3)
    assert "ran longer than 1 s" in str(error)


def test_the_time_limit_holds_in_a_worker_thread() -> None:
    outcome: list[BaseException] = []

    def work() -> None:
        try:
            _run_script("while True: pass", {})
        except WorkflowTaskException as error:
            outcome.append(error)

    worker = threading.Thread(target=work)
    started = time.monotonic()
    worker.start()
    worker.join(5)
    assert not worker.is_alive()
    assert time.monotonic() - started < 2
    assert "ran longer than 1 s" in str(outcome[0])


def test_a_memory_hungry_script_is_stopped() -> None:
    engine = make_script_engine()
    engine.environment = SandboxEnvironment(time_limit_s=5, memory_limit_mb=48)
    error = _failure("rows = [[0] * 100000 for i in range(2000)]", {}, engine)
    assert "used more than 48 MB of memory" in str(error)


def test_an_ordinary_loop_runs_well_inside_the_limit() -> None:
    data = _final_data(_run_script("total = 0\nfor i in range(100000):\n    total += i", {}))
    assert data["total"] == 4999950000
