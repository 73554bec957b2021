"""External tasks in the service layer: locks (expiry, one holder, racing workers on PostgreSQL),
priorities, long polling, failures and incidents, BPMN errors, and what the history shows."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from engine import clock, services
from engine.services import Actor
from engine.compat import SourceFile
from engine.errors import DeployError, Forbidden, InvalidInput, NotFound
from engine.services import external
from engine.services.timers import list_timers

ROOT = Path(__file__).resolve().parents[1]
PAYMENT = ROOT / "tests" / "data" / "engine_rest" / "payment.bpmn"
PAY = [external.TopicRequest("refund-pay", 60_000)]
OP = Actor.operator()
W, W2, CLERK = Actor("w", {"worker"}), Actor("w2", {"worker"}), Actor("clerk", {"front-desk"})


@pytest.fixture
def db(empty_db):
    services.deploy_paths(empty_db, [PAYMENT], OP)
    for name in ("w", "w2"):
        services.add_user(empty_db, name, ["worker"], actor=OP)
    services.add_user(empty_db, "clerk", ["front-desk"], actor=OP)
    return empty_db


def start(db, amount: int = 1) -> int:
    return services.start_instance(db, "refund_payment", OP, {"amount": amount})


def test_an_external_task_waits_until_a_worker_completes_it_with_variables(db):
    case = start(db)
    assert services.show_instance(db, case, OP).active_elements >= {"Task_Pay"}
    assert services.list_tasks(db, CLERK).items == []  # no person's task yet
    [task] = external.fetch_and_lock(db, W, "worker-1", PAY, 5)
    assert (task.topic, task.priority, task.variables, task.element_id) == ("refund-pay", 5, {"amount": 1}, "Task_Pay")
    assert external.fetch_and_lock(db, W, "worker-2", PAY, 5) == []  # locked: nobody else gets it
    external.complete(db, W, task.id, "worker-1", {"bank_ref": "B-1"})
    view = services.show_instance(db, case, OP)
    assert [t.element_id for t in view.open_tasks] == ["Task_Confirm"] and view.data["bank_ref"] == "B-1"
    with pytest.raises(NotFound):
        external.complete(db, W, task.id, "worker-1", {})
    assert [e.type for e in services.history(db, case, OP)][1:4] == [
        "external_task_created", "external_task_locked", "external_task_completed"]
    assert services.replay(db, case, OP).agrees


def test_only_the_lock_holder_answers_and_an_expired_lock_can_be_taken_over(db):
    start(db)
    [task] = external.fetch_and_lock(db, W, "worker-1", [external.TopicRequest("refund-pay", 1000)], 1)
    with pytest.raises(InvalidInput, match="worker-1"):
        external.complete(db, W, task.id, "worker-2", {})
    later = clock.now() + timedelta(seconds=2)
    with clock.frozen(later):
        with pytest.raises(InvalidInput, match="过期"):
            external.extend_lock(db, W, task.id, "worker-1", 5000)
        [again] = external.fetch_and_lock(db, W2, "worker-2", PAY, 1)
        assert again.id == task.id
        with pytest.raises(InvalidInput):
            external.complete(db, W, task.id, "worker-1", {})
        external.extend_lock(db, W2, task.id, "worker-2", 120_000)
        external.unlock(db, W2, task.id)
        assert [t.id for t in external.fetch_and_lock(db, W, "worker-3", PAY, 1)] == [task.id]


def test_workers_need_the_worker_group(db):
    start(db)
    with pytest.raises(Forbidden):
        external.fetch_and_lock(db, CLERK, "x", PAY, 1)
    [task] = external.fetch_and_lock(db, W, "worker-1", PAY, 1)
    with pytest.raises(Forbidden):
        external.complete(db, CLERK, task.id, "worker-1", {})


def test_priority_orders_the_fetch_when_asked(db, tmp_path):
    low = tmp_path / "low.bpmn"
    low.write_text(PAYMENT.read_text(encoding="utf-8").replace('camunda:taskPriority="5"', 'camunda:taskPriority="1"')
                   .replace('id="refund_payment"', 'id="refund_low"'), encoding="utf-8")
    services.deploy_paths(db, [low], OP)
    services.start_instance(db, "refund_low", OP, {"amount": 1})
    start(db)
    assert [t.priority for t in external.fetch_and_lock(db, W, "a", PAY, 1, use_priority=True)] == [5]
    assert [t.priority for t in external.fetch_and_lock(db, W, "a", PAY, 1)] == [1]


def test_failures_retry_then_become_an_incident_shown_in_timers_until_retries_are_set(db):
    case = start(db)
    [task] = external.fetch_and_lock(db, W, "a", PAY, 1)
    external.failure(db, W, task.id, "a", "bank offline", "stack", retries=1, retry_timeout_ms=60_000)
    assert external.fetch_and_lock(db, W, "a", PAY, 1) == []  # not before its retry time
    assert [(t.kind, t.status) for t in list_timers(db)] == [("externalRetry", "running")]
    with clock.frozen(clock.now() + timedelta(minutes=2)):
        [again] = external.fetch_and_lock(db, W, "a", PAY, 1)
        assert (again.retries, again.error_message, again.error_details) == (1, "bank offline", "stack")
        external.failure(db, W, task.id, "a", "still offline", None, retries=0, retry_timeout_ms=0)
        assert external.fetch_and_lock(db, W, "a", PAY, 1) == []
    assert [(t.instance_id, t.kind, t.status) for t in list_timers(db)] == [(case, "externalTask", "incident")]
    assert "external_task_incident" in [e.type for e in services.history(db, case, OP)]
    external.set_retries(db, W, task.id, 2)
    assert [t.id for t in external.fetch_and_lock(db, W, "a", PAY, 1)] == [task.id]
    assert "external_task_incident_resolved" in [e.type for e in services.history(db, case, OP)]
    assert services.replay(db, case, OP).agrees


def test_a_bpmn_error_takes_the_boundary_path_and_an_unknown_code_ends_the_execution(db):
    caught, uncaught = start(db, 3), start(db, 4)
    tasks = {t.instance_id: t for t in external.fetch_and_lock(db, W, "a", PAY, 2)}
    assert external.bpmn_error(db, W, tasks[caught].id, "a", "CARD_DECLINED", "declined", {"reason": "expired"})
    assert [t.element_id for t in services.show_instance(db, caught, OP).open_tasks] == ["Task_CallCustomer"]
    assert not external.bpmn_error(db, W, tasks[uncaught].id, "a", "OTHER", None, {})
    view = services.show_instance(db, uncaught, OP)
    assert view.open_tasks == [] and "Task_Confirm" not in view.completed_elements
    for case in (caught, uncaught):
        assert services.replay(db, case, OP).agrees


@pytest.mark.postgres
def test_a_waiting_fetch_gets_a_task_created_meanwhile_at_once(db):
    got: list[list[external.LockedTask]] = []
    waiter = threading.Thread(target=lambda: got.append(external.fetch_and_lock(db, W, "a", PAY, 1, wait_seconds=10)))
    waiter.start()
    time.sleep(0.3)
    began = time.monotonic()
    start(db)
    waiter.join(timeout=10)
    assert len(got[0]) == 1 and time.monotonic() - began < 1.0


@pytest.mark.postgres
def test_racing_workers_never_hold_one_task(db):
    cases = [start(db) for _ in range(12)]
    taken: list[str] = []
    lock = threading.Lock()

    def work(worker: str) -> None:
        while True:
            locked = external.fetch_and_lock(db, W, worker, PAY, 2)
            if not locked:
                return
            with lock:
                taken.extend(t.id for t in locked)

    threads = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(taken) == len(set(taken)) == len(cases)


NOTIFY = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
    id="defs" targetNamespace="http://example.com/c7">
  <bpmn:message id="M" name="refund_notice"/>
  <bpmn:process id="notify" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:intermediateThrowEvent id="Tell" name="通知仓库">
      <bpmn:messageEventDefinition messageRef="M" camunda:type="external" camunda:topic="warehouse-notice"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:endEvent id="Done" name="通知客户">
      <bpmn:messageEventDefinition messageRef="M" camunda:type="external" camunda:topic="customer-notice" camunda:taskPriority="7"/>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Tell"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Tell" targetRef="Done"/>
  </bpmn:process>
</bpmn:definitions>'''


def test_message_throw_and_end_events_sent_by_a_worker_are_external_tasks(db):
    report = services.deploy_files(db, [SourceFile("notify.bpmn", NOTIFY.encode())], OP)
    assert any('endEvent "Done" (通知客户) camunda:type=external camunda:topic=customer-notice' in note
               for note in report.translations)
    case = services.start_instance(db, "notify", OP, {"order": "A-1"})
    [tell] = external.fetch_and_lock(db, W, "w-1", [external.TopicRequest("warehouse-notice", 60_000)], 5)
    assert (tell.element_id, tell.variables) == ("Tell", {"order": "A-1"})
    assert external.fetch_and_lock(db, W, "w-1", [external.TopicRequest("customer-notice", 60_000)], 5) == []
    external.complete(db, W, tell.id, "w-1", {"warehouse_ref": "W-9"})
    [done] = external.fetch_and_lock(db, W, "w-1", [external.TopicRequest("customer-notice", 60_000)], 5)
    assert (done.element_id, done.priority) == ("Done", 7)
    assert services.show_instance(db, case, OP).status == "running"  # the end event waits for its worker
    external.complete(db, W, done.id, "w-1", {})
    assert services.show_instance(db, case, OP).status == "completed"
    assert services.replay(db, case, OP).agrees


def test_an_external_message_event_without_a_topic_is_refused_at_deploy(db):
    with pytest.raises(DeployError) as raised:
        services.deploy_files(db, [SourceFile("notify.bpmn", NOTIFY.replace(
            ' camunda:topic="warehouse-notice"', "").encode())], OP)
    assert raised.value.problems[0].startswith("notify.bpmn:8: intermediateThrowEvent \"Tell\" (通知仓库) is an "
                                               "external task without camunda:topic")
