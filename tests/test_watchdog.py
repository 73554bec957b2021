"""Budgets enforced from outside the step: a diagram that spins in SpiffWorkflow's own loops, or
in one C-level call the sandbox cannot interrupt, is stopped; nothing of its step is saved; a
serving process keeps a memory cap and ends itself when a step is stuck holding the interpreter."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine import compat, services, watchdog
from engine.errors import ProcessError
from engine.store import Database

ROOT = Path(__file__).resolve().parents[1]
PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{id}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    {node}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Work"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
CYCLE = ('<bpmn:intermediateCatchEvent id="Work"><bpmn:timerEventDefinition>'
         '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">${cycle}</bpmn:timeCycle>'
         '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
SCRIPTS = {
    "zip_all": "x = list(range(1000000))\ny = list(zip(*[x] * 1000))",
    "str_all": "x = ['a' * 1000000] * 1000000\ny = str(x)",
    "compare_all": "x = ['a' * 1000000] * 1000000\nz = ['a' * 999999 + 'a'] * 1000000\ny = x == z",
}


def source(process_id: str, node: str) -> compat.SourceFile:
    return compat.SourceFile(f"{process_id}.bpmn", PROCESS.format(id=process_id, node=node).encode())


def script(name: str) -> compat.SourceFile:
    return source(name, f'<bpmn:scriptTask id="Work" scriptFormat="python"><bpmn:script>{SCRIPTS[name]}'
                        "</bpmn:script></bpmn:scriptTask>")


def test_a_cycle_of_period_zero_from_an_expression_is_stopped_at_the_step_budget(
        empty_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMDESK_STEP_SECONDS", "0.5")
    services.deploy_files(empty_db, [source("spin", CYCLE)], services.Actor.operator("test"))
    started = time.monotonic()
    with pytest.raises(ProcessError, match="运行超过 0.5 秒.*BPMDESK_STEP_SECONDS"):
        services.start_instance(empty_db, "spin", services.Actor.operator(), {"cycle": "R/PT0S"})
    assert time.monotonic() - started < 5
    assert services.search_cases(empty_db, services.CaseQuery(), services.Actor.operator()).total == 0
    assert services.start_instance(empty_db, "spin", services.Actor.operator(), {"cycle": "R2/PT1H"})  # the process is fine


def test_a_step_in_any_thread_is_aborted_and_a_short_one_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BPMDESK_STEP_SECONDS", "0.3")
    outcome: list[str] = []

    def spin() -> None:
        try:
            with watchdog.step_budget("测试"):
                while True:
                    pass
        except ProcessError as error:
            outcome.append(str(error))

    thread = threading.Thread(target=spin)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and "测试运行超过 0.3 秒" in outcome[0]
    with watchdog.step_budget("短"):
        time.sleep(0.5)  # waiting is not CPU: a step blocked on a lock is the statement timeout's
    time.sleep(0.2)  # nothing lands after the step either


GUARDED = """
import sys, time
from engine import compat, services, watchdog
from engine.errors import ProcessError
from engine.store import Database
watchdog.HARD_EXIT_GRACE_S = float(sys.argv.pop(1))
watchdog.guard_process()
db = Database(sys.argv[1])
for name in sys.argv[2:]:
    started = time.monotonic()
    try:
        services.start_instance(db, name, services.Actor.operator(), {})
        print(name, "finished")
    except ProcessError as error:
        print(name, "refused", round(time.monotonic() - started, 1), str(error)[:80])
    sys.stdout.flush()
print("alive")
"""


def guarded(db: Database, *names: str, grace: float = 8.0) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BPMDESK_MEMORY_MB": "1024", "BPMDESK_STEP_SECONDS": "1"}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", GUARDED, str(grace), db.url, *names], capture_output=True, text=True,
                            env=env, timeout=120)
    return result, time.monotonic() - started


def test_single_c_level_calls_fail_at_the_memory_cap_and_the_process_goes_on(db: Database) -> None:
    services.deploy_files(db, [script("zip_all"), script("str_all")], services.Actor.operator("test"))
    result, _ = guarded(db, "zip_all", "str_all")
    lines = result.stdout.splitlines()
    assert result.returncode == 0 and lines[-1] == "alive", result.stderr[-2000:]
    assert [line.split()[:2] for line in lines[:-1]] == [["zip_all", "refused"], ["str_all", "refused"]]
    assert all(float(line.split()[2]) < 20 for line in lines[:-1]), lines
    assert services.search_cases(db, services.CaseQuery(), services.Actor.operator()).total == 0


def test_a_step_stuck_in_c_code_ends_the_serving_process_and_nothing_is_saved(db: Database) -> None:
    services.deploy_files(db, [script("compare_all")], services.Actor.operator("test"))
    result, took = guarded(db, "compare_all", grace=1.0)
    assert result.returncode != 0 and "alive" not in result.stdout
    assert "Timeout" in result.stderr  # faulthandler's dump of where it was stuck
    assert took < 30
    assert services.search_cases(db, services.CaseQuery(), services.Actor.operator()).total == 0
