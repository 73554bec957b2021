"""Timers the centre's bounds refuse at deploy, each with FILE:LINE and what to write instead; the
bounds are settings (BPMDESK_TIMER_*), not hidden constants; values computed at run time that no
deploy could check fail the step as the diagram's error, never as an internal one."""
from __future__ import annotations

import pytest

from engine import compat, services
from engine.errors import DeployError, ProcessError
from engine.store import Database

TIMER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="timed" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateCatchEvent id="Wait" name="等待">
      <bpmn:timerEventDefinition>
        <bpmn:{kind} xsi:type="bpmn:tFormalExpression">{text}</bpmn:{kind}>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Wait"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def deploy(db: Database, kind: str, text: str):
    source = compat.SourceFile("processes/timed.bpmn", TIMER.format(kind=kind, text=text).encode())
    return services.deploy_files(db, [source], services.Actor.operator("test"))


@pytest.mark.parametrize("kind, text, says", [
    ("timeCycle", "R/PT0S", "repeats every 0 s, more often than PT1M (BPMDESK_TIMER_MIN_CYCLE"),
    ("timeCycle", "R1000000/PT0.001S", "repeats 1000000 times, more than 10000 (BPMDESK_TIMER_MAX_REPEATS"),
    ("timeDuration", "P9999Y", "longer than the longest timer allowed, P3660D (BPMDESK_TIMER_MAX_SPAN"),
    ("timeDuration", "P99999999D", "BPMDESK_TIMER_MAX_SPAN"),
    ("timeDuration", "P99999999999999999Y", "BPMDESK_TIMER_MAX_SPAN"),
    ("timeDate", "9999-12-31T00:00:00", "later than the latest timer date allowed, 2099-12-31"),
    ("timeCycle", "R/9999-01-01T00:00:00/P1D", "BPMDESK_TIMER_LATEST_DATE"),
    ("timeDate", "0001-01-01T00:00:00", "before the earliest date a timer can hold"),
])
def test_unbounded_timers_are_refused_at_deploy_with_file_and_line(empty_db: Database, kind: str, text: str,
                                                                   says: str) -> None:
    with pytest.raises(DeployError) as refused:
        deploy(empty_db, kind, text)
    (problem,) = refused.value.problems
    assert problem.startswith("processes/timed.bpmn:8: ") and says in problem, problem
    assert "write" in problem  # and what to write instead
    assert services.list_definitions(empty_db) == []


def test_the_bounds_are_the_operators_settings(empty_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DeployError):
        deploy(empty_db, "timeCycle", "R10/PT10S")
    monkeypatch.setenv("BPMDESK_TIMER_MIN_CYCLE", "PT10S")
    assert deploy(empty_db, "timeCycle", "R10/PT10S").processes
    monkeypatch.setenv("BPMDESK_TIMER_MAX_SPAN", "P1D")
    with pytest.raises(DeployError, match="P1D"):
        deploy(empty_db, "timeDuration", "P2D")


@pytest.mark.parametrize("value", ["P9999Y", "P99999999D", "PT-5M", 5])
def test_a_timer_expression_giving_an_unusable_value_fails_the_step_as_the_diagrams_error(
        empty_db: Database, value: object) -> None:
    deploy(empty_db, "timeDuration", "${wait}")
    with pytest.raises(ProcessError, match="流程「timed」运行出错"):
        services.start_instance(empty_db, "timed", services.Actor.operator(), {"wait": value})
    assert services.search_cases(empty_db, services.CaseQuery(), services.Actor.operator()).total == 0


def test_a_short_bounded_cycle_over_within_the_minimum_deploys(empty_db: Database) -> None:
    """R2/PT0.1S fires twice and is done (a burst like two timers); R/PT0.1S would never stop."""
    assert deploy(empty_db, "timeCycle", "R2/PT0.1S").processes
    with pytest.raises(DeployError, match="BPMDESK_TIMER_MIN_CYCLE"):
        deploy(empty_db, "timeCycle", "R/PT0.1S")
    with pytest.raises(DeployError, match="BPMDESK_TIMER_MIN_CYCLE"):
        deploy(empty_db, "timeCycle", "R601/PT0.1S")
