"""Messages and signals from outside (and signals thrown by diagrams), with Camunda 7's rules.

`correlate_message` is Camunda's ``createMessageCorrelation(name)…correlate()`` (REST
``POST /message``): the receivers are the waiting message subscriptions of running instances
(an indexed table, never a scan of instances), narrowed by business key and by process variables
that must equal the given ones (Camunda's ``correlationKeys``); exactly one must match. When none
waits, a message start event of the newest version of a process with that message name starts a
new instance (with the business key given). None at all, or more than one, is an error naming
what was looked for (or the instances): Camunda's MismatchingMessageCorrelationException. The
variables become process variables where the message is caught. ``all_matching=True``
is ``correlateAll()``: every matching waiting instance (or every matching start event) gets it.

`send_signal` is ``signalEventReceived(name)`` (REST ``POST /signal``): every waiting signal catch
of every running instance and every signal start event of the newest versions; nobody waiting is
no error. A signal thrown inside a diagram is delivered the same way, to every other instance, in
the thrower's unit of work (Camunda delivers signals synchronously, in the same transaction).

Each delivery is recorded on the receiving instance as ``message_correlated`` or
``signal_received`` (element, name, variables), which replay re-applies through
:mod:`engine.actions.events`, the functions the live path ran.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import actions, catching, limits, runtime
from engine.errors import Forbidden, InvalidInput, ProcessError
from engine.services.cases import checked_business_key
from engine.services.message_starts import latest_ids
from engine.services import access
from engine.services.access import Actor
from engine.services.steps import Case, new_case, open_case, running_diagram, save_case, translating_races
from engine.store import Database, EventSubscription, Instance
from engine.store.unit_of_work import unit_of

MAX_SIGNAL_DELIVERIES = 1000  # per unit of work: signals that keep answering each other are a loop


class MessageNotCorrelated(InvalidInput):
    """No receiver, or more than one, for a message (Camunda's MismatchingMessageCorrelationException)."""


@dataclass(frozen=True)
class Delivery:
    """Where a message or signal went: a waiting instance, or a new one it started."""

    instance_id: int
    element_id: str
    started: bool  # a start event created the instance


def _require_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"缺少{what}名称。")
    return name.strip()


def _require_mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise InvalidInput(f"{what}必须是 JSON 对象。")
    limits.check_value(value, what)
    return dict(value)




@translating_races
def correlate_message(db: Database, actor: Actor, name: str, business_key: str | None = None,
                      correlation: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
                      all_matching: bool = False) -> list[Delivery]:
    """Deliver a message to the one instance waiting for it (or start one); see the module doc."""
    name = _require_name(name, "消息")
    business_key = checked_business_key(business_key)
    correlation = _require_mapping(correlation, "correlation（关联变量）")
    variables = _require_mapping(variables, "变量")
    access.require_sender(actor)
    who = actor.name
    with db.unit_of_work() as session:
        waiting = _matching_subscriptions(session, db, name, business_key, correlation)
        if len(waiting) > 1 and not all_matching:
            cases = ", ".join(str(instance_id) for instance_id, _ in waiting)
            raise MessageNotCorrelated(f"消息「{name}」{_criteria(business_key, correlation)}匹配到多个"
                                       f"等待中的案件（{cases}），无法确定交给哪一个。")
        if waiting:
            return [_deliver(session, db, case, subscription, variables, who, "message_correlated",
                             business_key=business_key, correlation=correlation)
                    for case, subscription in _open_each(session, db, waiting)]
        starts = _start_events(session, db, catching.MESSAGE, name)
        if len(starts) > 1 and not all_matching:
            processes = ", ".join(deployed.process_id for deployed, _ in starts)
            raise MessageNotCorrelated(f"消息「{name}」可以发起多个流程（{processes}），无法确定发起哪一个。")
        if not starts:
            raise MessageNotCorrelated(f"消息「{name}」{_criteria(business_key, correlation)}没有等待中的"
                                       "案件，也没有以此消息开始的流程：消息未送达（Camunda 同样拒绝）。")
        return [_start(session, db, deployed, start, catching.MESSAGE, name, variables, who,
                       business_key) for deployed, start in starts]


def _criteria(business_key: str | None, correlation: dict[str, Any]) -> str:
    parts = [f"业务键 {business_key}"] if business_key else []
    parts += [f"{key}={value!r}" for key, value in correlation.items()]
    return f"（{'，'.join(parts)}）" if parts else ""


def _matching_subscriptions(session: Session, db: Database, name: str, business_key: str | None,
                            correlation: dict[str, Any]) -> list[tuple[int, catching.Subscription]]:
    query = (select(EventSubscription).join(Instance, Instance.id == EventSubscription.instance_id)
             .where(EventSubscription.kind == catching.MESSAGE, EventSubscription.name == name,
                    Instance.status == "running").order_by(EventSubscription.instance_id))
    if business_key is not None:
        query = query.where(Instance.business_key == business_key)
    rows = [(row.instance_id, catching.Subscription(row.task_id, row.kind, row.name, row.element_id))
            for row in session.scalars(query)]
    if correlation:
        rows = [(instance_id, sub) for instance_id, sub in rows
                if _variables_match(session, db, instance_id, sub, correlation)]
    return rows


def _variables_match(session: Session, db: Database, instance_id: int, subscription: catching.Subscription,
                     correlation: dict[str, Any]) -> bool:
    """Camunda's ``processInstanceVariableEquals``: the variables as the waiting task sees them."""
    case = open_case(session, db, instance_id)
    task = runtime.find_task(case.workflow, subscription.task_id)
    data = task.data if task is not None else {}
    return all(key in data and data[key] == value for key, value in correlation.items())


def _open_each(session: Session, db: Database, waiting: list[tuple[int, catching.Subscription]]):
    for instance_id, subscription in waiting:
        yield open_case(session, db, instance_id), subscription


def _deliver(session: Session, db: Database, case: Case, subscription: catching.Subscription,
             variables: dict[str, Any], actor: str, event: str, **details: Any) -> Delivery:
    task = runtime.find_task(case.workflow, subscription.task_id)
    if task is None or task not in case.workflow.event_manager.tasks.values():
        raise ProcessError(f"案件 {case.instance.id} 的元素 {subscription.element_id} 已不再等待"
                           f"「{subscription.name}」，请重试。")
    case.note(event, actor, task, name=subscription.name, variables=variables,
              **{key: value for key, value in details.items() if value})
    with running_diagram(case):
        actions.correlate(case.workflow, subscription.element_id, subscription.name, variables)
    save_case(case, actor)
    return Delivery(case.instance.id, subscription.element_id, started=False)


def _start_events(session: Session, db: Database, kind: str, name: str) -> list[tuple[runtime.Deployed, Any]]:
    """(newest version, start event) of every process that a message/signal of this name starts."""
    found = []
    for definition_id in latest_ids(session):
        deployed = runtime.deployed(db, session, definition_id)
        found += [(deployed, start) for start in catching.start_events(deployed.specs[0], kind, name)]
    return found


def _start(session: Session, db: Database, deployed: runtime.Deployed, start: Any, kind: str, name: str,
           variables: dict[str, Any], actor: str, business_key: str | None = None) -> Delivery:
    case = new_case(session, db, deployed.id, actor, {}, business_key)
    case.note("message_correlated" if kind == catching.MESSAGE else "signal_received", actor,
              name=name, variables=variables, start_event=start.bpmn_id)
    with running_diagram(case):
        actions.start_by_event(case.workflow, start.bpmn_id, kind, name, variables)
    save_case(case, actor)
    return Delivery(case.instance.id, start.bpmn_id, started=True)


@translating_races
def send_signal(db: Database, actor: Actor, name: str,
                variables: dict[str, Any] | None = None) -> list[Delivery]:
    """Broadcast a signal to every waiting catch and every signal start event; see the module doc."""
    name = _require_name(name, "信号")
    access.require_sender(actor)
    variables = _require_mapping(variables, "变量")
    with db.unit_of_work() as session:
        return _broadcast(session, db, name, variables, actor.name, exclude=None)


def _broadcast(session: Session, db: Database, name: str, variables: dict[str, Any], actor: str,
               exclude: int | None) -> list[Delivery]:
    work = unit_of(session)
    count = work.signals_delivered
    if count > MAX_SIGNAL_DELIVERIES:
        raise ProcessError(f"信号「{name}」在一次操作中被传递了 {count} 次：流程图中的信号互相触发，形成了循环。")
    rows = session.execute(
        select(EventSubscription.instance_id, EventSubscription.task_id, EventSubscription.element_id)
        .join(Instance, Instance.id == EventSubscription.instance_id)
        .where(EventSubscription.kind == catching.SIGNAL, EventSubscription.name == name,
               Instance.status == "running").order_by(EventSubscription.instance_id)).all()
    receivers = list(dict.fromkeys(row.instance_id for row in rows if row.instance_id != exclude))
    work.signals_delivered = count + len(receivers)
    done = [_signal_instance(session, db, instance_id, name, variables, actor) for instance_id in receivers]
    return [delivery for delivery in done if delivery is not None] + [_start(session, db, deployed, start, catching.SIGNAL, name, variables, actor)
                   for deployed, start in _start_events(session, db, catching.SIGNAL, name)]


def _signal_instance(session: Session, db: Database, instance_id: int, name: str, variables: dict[str, Any],
                     actor: str) -> Delivery | None:
    """One instance catches the signal wherever it waits for it (SpiffWorkflow's own catch
    reaches every waiting catch of the instance at once)."""
    case = open_case(session, db, instance_id)
    waiting = [s for s in catching.subscriptions(case.workflow).values()
               if s.kind == catching.SIGNAL and s.name == name]
    if not waiting:  # its row was stale: it caught this signal earlier in this unit of work
        return None
    task = runtime.find_task(case.workflow, waiting[0].task_id)
    case.note("signal_received", actor, task, name=name, variables=variables)
    with running_diagram(case):
        actions.send_signal(case.workflow, waiting[0].element_id, name, variables)
    save_case(case, actor)
    return Delivery(instance_id, waiting[0].element_id, started=False)


def broadcast_thrown(case: Case, signals: list[tuple[str, dict[str, Any]]], actor: str) -> None:
    """Signals a diagram threw in this unit of work reach every other instance and start event."""
    db = unit_of(case.session).database
    for name, variables in signals:
        _broadcast(case.session, db, name, variables, actor, exclude=case.instance.id)
