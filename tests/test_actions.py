"""The workflow actions on a workflow alone (no database): what the live path and replay share.

Each SpiffWorkflow workaround behind an action is pinned here, so a library upgrade that makes it
wrong (or unneeded) fails a test that names it.
"""
from __future__ import annotations

from engine import actions, clock, compat, runtime
from camunda_cases import definitions, user_task

NOW = "2026-11-23T09:00:00+08:00"


def specs(xml: bytes, pid: str = "p") -> tuple:
    bundle = compat.load_bundle([compat.SourceFile(f"{pid}.bpmn", xml)])
    return compat.parse_specs(bundle.processes[pid])


def open_names(workflow) -> list[str]:
    return sorted(t.task_spec.bpmn_name for t in runtime.open_user_tasks(workflow))


def flow(pid: str, *pairs: tuple[str, str]) -> str:
    return "".join(f'<bpmn:sequenceFlow id="{pid}_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>' for a, b in pairs)


PARALLEL = definitions(
    '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start"/>'
    '<bpmn:parallelGateway id="fork"/>'
    + user_task("a", "登记") + user_task("b", "复核")
    + '<bpmn:parallelGateway id="join"/><bpmn:endEvent id="end"/>'
    + flow("p", ("start", "fork"), ("fork", "a"), ("fork", "b"), ("a", "join"), ("b", "join"), ("join", "end"))
    + "</bpmn:process>")


def test_start_puts_the_data_on_the_start_event_and_proceed_runs_to_the_first_wait():
    workflow = actions.start(specs(PARALLEL), {"phone": "13800000000"})
    assert open_names(workflow) == []  # not yet run: a timer start decides how it runs
    actions.proceed(workflow)
    assert open_names(workflow) == ["复核", "登记"]
    assert all(t.data["phone"] == "13800000000" for t in runtime.open_user_tasks(workflow))


def test_complete_sets_the_values_on_the_case_scope_so_a_parallel_branch_sees_them():
    workflow = actions.start(specs(PARALLEL), {})
    actions.proceed(workflow)
    first = next(t for t in runtime.open_user_tasks(workflow) if t.task_spec.bpmn_name == "登记")
    actions.complete(workflow, first, {"x": "甲"})
    (other,) = runtime.open_user_tasks(workflow)
    assert other.task_spec.bpmn_name == "复核" and other.data["x"] == "甲"


def timer_start(definition: str) -> bytes:
    return definitions(
        '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start">'
        f'<bpmn:timerEventDefinition>{definition}</bpmn:timerEventDefinition></bpmn:startEvent>'
        + user_task("report", "日报") + '<bpmn:endEvent id="end"/>'
        + flow("p", ("start", "report"), ("report", "end")) + "</bpmn:process>")


def test_a_cycle_timer_start_runs_one_repetition_in_one_case():
    workflow = actions.start(specs(timer_start('<bpmn:timeCycle>R/PT24H</bpmn:timeCycle>')), {})
    with clock.frozen(NOW):
        start = actions.start_by_timer(workflow, clock.now())
    assert start is not None and start.task_spec.bpmn_id == "start"
    assert open_names(workflow) == ["日报"]  # one path: the second engine pass created it
    assert runtime.waiting_timers(workflow) == []  # the cycle does not repeat inside this case


def test_a_duration_timer_start_runs_at_once_when_the_scheduler_says_so():
    workflow = actions.start(specs(timer_start('<bpmn:timeDuration>PT1H</bpmn:timeDuration>')), {})
    with clock.frozen(NOW):
        actions.start_by_timer(workflow, clock.now())
    assert open_names(workflow) == ["日报"] and runtime.waiting_timers(workflow) == []


REMINDER = definitions(
    '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="start"/>'
    + user_task("wait", "等待") + '<bpmn:endEvent id="end"/><bpmn:endEvent id="late_end"/>'
    '<bpmn:boundaryEvent id="late" attachedToRef="wait"><bpmn:timerEventDefinition>'
    '<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
    + flow("p", ("start", "wait"), ("wait", "end"), ("late", "late_end")) + "</bpmn:process>")


def test_fire_timers_fires_only_what_is_due_by_the_clock():
    workflow = actions.start(specs(REMINDER), {})
    with clock.frozen(NOW):
        actions.proceed(workflow)
    with clock.frozen("2026-11-23T09:30:00+08:00"):
        actions.fire_timers(workflow)
    assert open_names(workflow) == ["等待"] and len(runtime.waiting_timers(workflow)) == 1
    with clock.frozen("2026-11-23T10:00:01+08:00"):
        actions.fire_timers(workflow)
    assert open_names(workflow) == [] and workflow.is_completed()


def test_cancel_leaves_nothing_open_and_no_timer_waiting():
    workflow = actions.start(specs(REMINDER), {})
    with clock.frozen(NOW):
        actions.proceed(workflow)
    actions.cancel(workflow)
    assert open_names(workflow) == [] and runtime.waiting_timers(workflow) == []


def _events_specs(name: str, pid: str) -> tuple:
    from pathlib import Path

    source = (Path(__file__).with_name("data") / "events" / name).read_bytes()
    return compat.parse_specs(compat.load_bundle([compat.SourceFile(name, source)]).processes[pid])


def test_correlate_and_send_signal_deliver_to_the_waiting_element_only():
    workflow = actions.start(_events_specs("orders.bpmn", "order_flow"), {}, "A-1")
    actions.proceed(workflow)
    assert not actions.correlate(workflow, "Receive_confirmation", "deliveryConfirmed", {})  # not there yet
    assert actions.correlate(workflow, "Wait_payment", "paymentReceived", {"amount": 5})
    assert actions.correlate(workflow, "Receive_confirmation", "deliveryConfirmed", {})
    assert open_names(workflow) == ["发货"] and runtime.open_user_tasks(workflow)[0].data["amount"] == 5
    watch = actions.start(_events_specs("alarms.bpmn", "alarm_watch"), {})
    actions.proceed(watch)
    assert actions.send_signal(watch, "Alarm_during_patrol", "fireAlarm", {"floor": "2F"})
    assert open_names(watch) == ["现场核查"]


def test_start_by_event_and_enter_choose_the_way_into_the_case():
    tickets = _events_specs("tickets.bpmn", "ticket_by_message")
    by_message = actions.start(tickets, {})
    assert actions.start_by_event(by_message, "Start_ticket", "message", "ticketIn", {"phone": "138"})
    assert open_names(by_message) == ["处理工单"]  # the none start is not taken
    by_hand = actions.start(tickets, {})
    actions.enter(by_hand)
    assert open_names(by_hand) == ["手工录入"]
    only_message = actions.start(_events_specs("callback.bpmn", "callback_request"), {})
    actions.enter(only_message)  # its only start is a message start: entered there
    assert open_names(only_message) == ["回电"]
