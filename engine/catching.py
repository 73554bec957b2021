"""What an instance waits for from outside (messages, signals), delivering it, and conditions.

Workflow-level only (no database): the services (engine/services/events.py) and replay
(engine/audit/replay.py) both deliver through `deliver`, so a replay re-applies a recorded
delivery exactly as the live path made it.

Business key: `set_business_key(workflow, key)` / `business_key(workflow)` keep it in the root
task's internal data of the instance's workflow — the case's top workflow, or a called process's
own (`camunda:in businessKey`) — (serialised with the state, kept by pruning,
never part of the case data). Expressions reading ``${execution.processBusinessKey}`` call
`business_key(task.workflow)`; the instance row's ``business_key`` column holds the same value for
look-ups (set once, at start).

Conditional events: `DeskWorkflow.do_engine_steps` evaluates every waiting conditional event
again after each run of the engine, and runs on while one fires: in Camunda a condition is
evaluated when variables change, and here variables change only by running tasks (each step,
correlation or signal ends with engine steps).

Event sub-processes started by a message, signal or condition are started with their scope
(engine/compat/events.py): each waits at its start event while the scope runs. After each run of
the engine, `settle_event_subprocesses` applies Camunda's scope rules, which SpiffWorkflow lacks:
once an interrupting one has started, everything else in its scope is cancelled; a
non-interrupting one that started waits again at once (it may start again and again while the
scope runs); once the scope's own flow has ended, event sub-processes still waiting are cancelled
(the scope ends; one already running is waited for).

Non-interrupting boundary message and signal events wait again once they fired, as long as their
activity runs (Camunda keeps their subscription); SpiffWorkflow's fire once. A non-interrupting
conditional boundary event or event sub-process fires once per activity or scope here (evaluated
after every step, it would otherwise fire again on every step while its condition stays true).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import scope

_BUSINESS_KEY = "bpmdesk_business_key"
MESSAGE, SIGNAL = "message", "signal"
MAX_CONDITION_ROUNDS = 100  # conditions that keep firing each other: a loop in the diagram


class DeskWorkflow(BpmnWorkflow):
    """A BpmnWorkflow whose engine steps also re-evaluate waiting conditional events."""

    def do_engine_steps(self, will_complete_task=None, did_complete_task=None):
        super().do_engine_steps(will_complete_task, did_complete_task)
        for _ in range(MAX_CONDITION_ROUNDS):
            if not (refresh_conditions(self) | settle_event_subprocesses(self)):
                return
            super().do_engine_steps(will_complete_task, did_complete_task)


def refresh_conditions(workflow: BpmnWorkflow) -> bool:
    """Evaluate every waiting conditional event once more; True if one fired."""
    fired = False
    for task in list(workflow.event_manager.tasks.values()):
        if isinstance(task.task_spec.event_definition, ConditionalEventDefinition) \
                and task.state == TaskState.WAITING:
            task.task_spec._update(task)
            fired = fired or task.state != TaskState.WAITING
    return fired


_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_INTERRUPTED = "bpmdesk_interrupted"


def _is_event_subprocess(task: Task) -> bool:
    return getattr(task.task_spec, "event_subprocess", False)


def _start_of(workflow: BpmnWorkflow, holder: Task) -> Task | None:
    """The start event of the event sub-process this task holds."""
    sub = workflow.top_workflow.subprocesses.get(holder.id)
    if sub is None:
        return None
    return next((t for t in sub.get_tasks(skip_subprocesses=True) if isinstance(t.task_spec, StartEvent)), None)


def _within(task: Task | None, ancestor: Task) -> bool:
    while task is not None and task is not ancestor:
        task = task.parent
    return task is ancestor


def settle_event_subprocesses(workflow: BpmnWorkflow) -> bool:
    """Camunda's scope rules for event sub-processes (module docstring); True if anything changed."""
    if not _has_event_subprocesses(workflow):
        return False  # the usual case: no tree walks on the step path
    changed = False
    for holder in workflow.get_tasks(state=TaskState.STARTED):
        start = _start_of(workflow, holder) if _is_event_subprocess(holder) else None
        if start is None or start.state != TaskState.COMPLETED or holder.internal_data.get(_INTERRUPTED):
            continue
        holder.internal_data[_INTERRUPTED] = True
        if getattr(start.task_spec, "interrupting", True):
            for task in holder.workflow.get_tasks(skip_subprocesses=True, state=TaskState.NOT_FINISHED_MASK):
                if not _within(task, holder) and not _within(holder, task) and task.state != TaskState.CANCELLED:
                    task.cancel()
        elif not isinstance(start.task_spec.event_definition, ConditionalEventDefinition):
            _wait_again(holder)  # a condition still true would start it again at once: once only
        changed = True
    for scope in [workflow, *workflow.subprocesses.values()]:
        changed |= _end_scope(workflow, scope)
    return changed


def _wait_again(task: Task) -> None:
    """A fresh copy of a non-interrupting event beside the one that fired, waiting for the next."""
    again = task.parent._add_child(task.task_spec, TaskState.MAYBE)  # predicted: gets its children
    again.task_spec._update(again)


def _has_event_subprocesses(workflow: BpmnWorkflow) -> bool:
    specs = [workflow.spec, *workflow.subprocess_specs.values()]
    return any(getattr(spec, "event_subprocesses", False) for spec in specs)


def _end_scope(workflow: BpmnWorkflow, scope: BpmnWorkflow) -> bool:
    """The scope's flow has reached its end and only event sub-processes waiting to start are
    left: they are cancelled, so the scope ends."""
    active = scope.get_tasks(skip_subprocesses=True, state=_ACTIVE)
    joins = [t for t in active if t.task_spec.name.endswith(".EndJoin")]
    holders = [t for t in active if _is_event_subprocess(t)]
    if not joins or len(joins) + len(holders) != len(active):
        return False
    waiting = [t for t in holders if (start := _start_of(workflow, t)) is not None and start.state == TaskState.WAITING]
    if not waiting or len(waiting) != len(holders):
        return False
    for task in waiting:
        task.cancel()
    for join in joins:
        join.task_spec._update(join)
    return True


def set_business_key(workflow: Any, key: str | None) -> None:
    """The key of the case (the top workflow), or of a called process (`camunda:in businessKey`)."""
    if key:
        workflow.task_tree.internal_data[_BUSINESS_KEY] = key


def business_key(workflow: Any) -> str | None:
    """The business key of the process instance this workflow belongs to: the case's, or for a
    called process the one its call activity passed (`camunda:in businessKey`; none without)."""
    return scope.instance_root(workflow).task_tree.internal_data.get(_BUSINESS_KEY)


@dataclass(frozen=True)
class Subscription:
    """A message or signal one task of an instance waits for (a derived row)."""

    task_id: str
    kind: str  # message | signal
    name: str
    element_id: str


def _kind(definition: Any) -> str | None:
    if isinstance(definition, MessageEventDefinition):
        return MESSAGE
    if isinstance(definition, SignalEventDefinition):
        return SIGNAL
    return None


def subscriptions(workflow: BpmnWorkflow) -> dict[str, Subscription]:
    """Every message and signal the instance waits for now, by task id (from SpiffWorkflow's
    own list of waiting events: no walk of the task tree)."""
    found = {}
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        kind = _kind(definition)
        if kind is not None and task.state == TaskState.WAITING and definition.name:
            found[str(task.id)] = Subscription(str(task.id), kind, definition.name, task.task_spec.bpmn_id)
    return found


def waiting_task(workflow: BpmnWorkflow, kind: str, name: str, element_id: str) -> Task | None:
    """The task of this element waiting for this message or signal, if any."""
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        if (task.task_spec.bpmn_id == element_id and task.state == TaskState.WAITING
                and _kind(definition) == kind and definition.name == name):
            return task
    return None


def start_events(spec: Any, kind: str, name: str | None = None) -> list[Any]:
    """The process's own start events (not those of event subprocesses) triggered by a message
    or signal of this name (``None``: of any name)."""
    return [ts for ts in spec.task_specs.values() if isinstance(ts, StartEvent)
            and _kind(getattr(ts, "event_definition", None)) == kind
            and (name is None or ts.event_definition.name == name)]


def deliver(workflow: BpmnWorkflow, task: Task, variables: dict[str, Any]) -> None:
    """Hand a message or signal to a waiting task (its variables become process variables there)
    and run the engine to the next wait."""
    workflow.catch(BpmnEvent(task.task_spec.event_definition, payload=dict(variables)))
    workflow.do_engine_steps()
    if not isinstance(task.task_spec, BoundaryEvent) or task.task_spec.cancel_activity:
        return
    watched = next((t for t in task.parent.children if not isinstance(t.task_spec, BoundaryEvent)), None)
    if watched is not None and watched.state & _ACTIVE:
        _wait_again(task)


def start_by_event(workflow: BpmnWorkflow, element_id: str, kind: str, name: str,
                   variables: dict[str, Any]) -> bool:
    """A new workflow started by a message or signal at this start event: the process's other
    start events are dropped (the event chose the way in, as in Camunda); False if it cannot."""
    while ready := [t for t in workflow.get_tasks(state=TaskState.READY) if not isinstance(t.task_spec, StartEvent)]:
        for task in ready:  # SpiffWorkflow's own start and split of start events
            task.run()
    chosen = None
    for task in workflow.get_tasks(state=TaskState.NOT_FINISHED_MASK, skip_subprocesses=True):
        if isinstance(task.task_spec, StartEvent):
            if task.task_spec.bpmn_id == element_id and chosen is None:
                chosen = task
            else:
                task.cancel()
    if chosen is None:
        return False
    workflow.do_engine_steps()
    task = waiting_task(workflow, kind, name, element_id)
    if task is None:
        return False
    deliver(workflow, task, variables)
    return True


def hand_start(spec: Any) -> tuple[str, str, str] | None:
    """How Camunda's startProcessInstanceByKey enters the process: its none start event (None);
    a process whose only start event is a message or signal start is entered there, as if it had
    arrived without variables: (element, kind, name). Several such and no none start: refused."""
    own = [ts for ts in spec.task_specs.values() if isinstance(ts, StartEvent) and _within_spec(ts, spec)]
    events = [ts for ts in own if _kind(ts.event_definition) is not None]
    if not events or len(own) > len(events):
        return None
    if len(events) > 1:
        names = ", ".join(sorted(ts.event_definition.name for ts in events))
        raise ValueError(f"流程没有普通开始事件，只能由消息或信号发起（{names}）：请用 bpmdesk correlate 或 bpmdesk signal。")
    return events[0].bpmn_id, _kind(events[0].event_definition), events[0].event_definition.name


def _within_spec(task_spec: Any, spec: Any) -> bool:
    return spec.task_specs.get(task_spec.name) is task_spec


def start_run(workflow: BpmnWorkflow, entry: tuple[str, str, str] | None) -> None:
    """Run a new workflow to its first wait, entered as `hand_start` says."""
    if entry is None:
        workflow.do_engine_steps()
    else:
        start_by_event(workflow, *entry, {})


def thrown_signals(workflow: BpmnWorkflow) -> list[tuple[str, dict[str, Any]]]:
    """(name, variables) of the signals the last steps threw, taken off the workflow (which would
    keep and serialise them otherwise)."""
    events = workflow.bpmn_events
    signals = [e for e in events if isinstance(e.event_definition, SignalEventDefinition)]
    if signals:
        workflow.bpmn_events = [e for e in events if not isinstance(e.event_definition, SignalEventDefinition)]
    return [(event.event_definition.name, dict(event.payload or {})) for event in signals]
