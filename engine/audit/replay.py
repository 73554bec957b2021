"""Replay: rebuild an instance from its definition version and its recorded events alone.

Every event that moved the case is applied with the same function of ``engine.actions`` the live
path ran (start, complete, fire timers, start by timer, cancel), on the event's clock: there is no
second copy of what an action does here, only the matching of recorded tasks and the checks.

SpiffWorkflow gives a rebuilt workflow new task ids, so recorded tasks are matched to replayed
ones by element id (first unmatched open task of that element). Each action runs on the clock
of its event: a completion at the time it was recorded, a timer at the time it fired. The other
events are checks: a task the log says became ready must be open in the replay, a timer the log
says fired or was dropped must no longer wait, and so on; the first check that fails is the
divergence. Claims, releases and delegations change no workflow state, but their task must be
open. A case the scheduler started from a timer start event is recorded as its start followed by
that timer's firing; the replay starts it the way the scheduler did. A message or signal is
recorded where it was caught (``message_correlated``, ``signal_received``: element, name,
variables) and re-delivered there with the same variables; one that started the case names its
start event, and the replay starts the case at that event as the live path did.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Collection, Sequence

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.defaults import StartEvent
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import actions, catching, clock, runtime
from engine.actions import external
from engine.errors import InvalidInput, NotFound
from engine.history import canonical, chain_of
from engine.store import Database, Event, Instance

# The original run read the clock a moment after it recorded the event that caused a timer to
# start waiting, so due times computed by a replay may differ by that moment.
TIME_TOLERANCE = timedelta(seconds=5)


@dataclass(frozen=True)
class Snapshot:
    """The case as of some event: what an auditor looks at."""

    status: str
    open_tasks: tuple[tuple[str, str | None], ...]  # (element id, name), sorted
    timers: tuple[tuple[str, datetime, str | None], ...]  # (element id, due, name), sorted
    data: dict[str, Any]
    completed: frozenset[str] = frozenset()
    active: frozenset[str] = frozenset()
    escalated: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Divergence:
    """Where the replay stops agreeing with the record: an event, or (seq None) the stored state."""

    seq: int | None
    event_type: str | None
    what: str

    def __str__(self) -> str:
        where = f"event #{self.seq} ({self.event_type})" if self.seq is not None else "stored state"
        return f"{where}: {self.what}"


@dataclass
class ReplayResult:
    instance_id: int
    process_id: str
    version: int
    events: int  # how many events were replayed (up to the divergence, if any)
    last_seq: int  # the last event replayed
    last_at: datetime | None
    snapshot: Snapshot
    divergence: Divergence | None
    compared: bool  # whether the result was compared with the stored state

    @property
    def agrees(self) -> bool:
        return self.divergence is None


def snapshot_of(workflow: BpmnWorkflow, status: str, escalated: Collection[str] = ()) -> Snapshot:
    seen = runtime.snapshot(workflow)
    return Snapshot(
        status=status,
        open_tasks=tuple(sorted((t.task_spec.bpmn_id, t.task_spec.bpmn_name) for t in seen.ready)),
        timers=tuple(sorted((t.element_id, t.due_at, t.name) for t in seen.timers)),
        data=runtime.case_data(workflow, seen.ready),
        completed=frozenset(seen.completed),
        active=frozenset(seen.active),
        escalated=frozenset(escalated),
    )


@dataclass
class Replayer:
    """Applies one instance's events, in order, to a workflow built from the definition version."""

    specs: tuple[Any, dict[str, Any]]
    workflow: BpmnWorkflow | None = None
    tasks: dict[str, Task] = field(default_factory=dict)  # recorded task id → replayed task
    cancelled: bool = False
    incident: bool = False
    escalated: set[str] = field(default_factory=set)
    start_at: datetime | None = None  # a start whose first engine steps wait for the next event
    applied: list[Event] = field(default_factory=list)
    open_by_element: dict[str, list[Task]] | None = None  # open user tasks, until the workflow moves
    specs_of: Callable[[int], tuple[Any, dict[str, Any]]] | None = None  # another version's, for a migration

    def apply(self, event: Event) -> str | None:
        """Replay one event; a description of the disagreement, or None."""
        if self.workflow is None and event.type != "instance_started":
            return "the history does not begin with the start of the case"
        try:
            problem = self._apply(event)
        except WorkflowException as exc:
            problem = f"the diagram failed during the replay: {exc}"
        if problem is None:
            self.applied.append(event)
        return problem

    def _apply(self, event: Event) -> str | None:
        if self.start_at is not None:
            if self._timer_start(event):
                return None
            if event.payload.get("start_event") and event.type in _CAUGHT:
                return self._event_start(event)
            self.finish_start()
        handler = _HANDLERS.get(event.type)
        if event.type not in _LOOKING:
            self.open_by_element = None  # the workflow moves: its open tasks are read again
        return handler(self, event) if handler is not None else None

    @property
    def status(self) -> str:
        if self.cancelled:
            return "cancelled"
        if self.incident:
            return "incident"
        return "completed" if self.workflow.is_completed() else "running"

    def snapshot(self) -> Snapshot:
        self.finish_start()
        return snapshot_of(self.workflow, self.status, self.escalated)

    def _started(self, event: Event) -> str | None:
        self.workflow = actions.start(self.specs, event.payload.get("data") or {},
                                      event.payload.get("business_key"))
        self.start_at = event.at
        return None

    def finish_start(self) -> None:
        """Run an ordinary start to its first wait, as the start service did."""
        if self.start_at is not None:
            with clock.frozen(self.start_at):
                actions.enter(self.workflow)
            self.start_at = None
            self.open_by_element = None

    def _timer_start(self, event: Event) -> bool:
        """A scheduler's start (its firing counts ``occurrences``): run it as the scheduler did."""
        if event.type != "timer_fired" or "occurrences" not in event.payload:
            return False
        start = next((t for t in self.workflow.get_tasks() if isinstance(t.task_spec, StartEvent)
                      and t.task_spec.bpmn_id == event.element_id), None)
        if start is None:
            return False
        fired_at = clock.parse_time(event.payload["fired_at"])
        with clock.frozen(fired_at):
            actions.start_by_timer(self.workflow, fired_at)
        self.start_at = None
        return True

    def _event_start(self, event: Event) -> str | None:
        """A case a message or signal started: begun at that start event, as the service did."""
        self.start_at = None
        payload = event.payload
        with clock.frozen(event.at):
            started = actions.start_by_event(self.workflow, payload["start_event"], _CAUGHT[event.type],
                                              payload["name"], payload.get("variables") or {})
        return None if started else f"start event {payload['start_event']} does not wait for {payload['name']}"

    def _caught(self, event: Event) -> str | None:
        """A message or signal delivered to a waiting event: delivered again with its variables."""
        kind, name = _CAUGHT[event.type], event.payload["name"]
        deliver = actions.correlate if kind == catching.MESSAGE else actions.send_signal
        with clock.frozen(event.at):
            if not deliver(self.workflow, event.element_id, name, event.payload.get("variables") or {}):
                return f"{event.element_id} does not wait for {kind} {name} in the replay"
        return None

    def _match(self, event: Event) -> Task | None:
        """The replayed open task standing for the recorded one."""
        known = self.tasks.get(event.task_id)
        if known is not None:
            return known if known.state == TaskState.READY else None
        if self.open_by_element is None:
            # read once per move of the workflow, not per event: 2,000 parallel tasks announce
            # themselves in 2,000 task_ready events after one step (a walk each took 50 s)
            taken = {task.id for task in self.tasks.values()}
            self.open_by_element = {}
            for task in runtime.open_user_tasks(self.workflow):
                if task.id not in taken:
                    self.open_by_element.setdefault(task.task_spec.bpmn_id, []).append(task)
        waiting = self.open_by_element.get(event.element_id)
        if not waiting:
            return None
        task = waiting.pop(0)
        self.tasks[event.task_id] = task
        return task

    def _not_open(self, event: Event) -> str:
        open_now = sorted(t.task_spec.bpmn_id for t in runtime.open_user_tasks(self.workflow))
        return f"task {event.element_id} is not open in the replay (open: {', '.join(open_now) or 'none'})"

    def _ready(self, event: Event) -> str | None:
        return None if self._match(event) is not None else self._not_open(event)

    def _given(self, event: Event) -> str | None:
        """A claim, unclaim, delegation or assignment: the diagram's assignment/update listeners run."""
        task = self.tasks.get(event.task_id)
        if task is None or task.state != TaskState.READY:
            return self._not_open(event)
        with clock.frozen(event.at):
            actions.reassign(self.workflow, task, event.actor if event.type == "task_claimed" else event.payload.get("to"))
        return None

    def _completed(self, event: Event) -> str | None:
        task = self._match(event)
        if task is None:
            return self._not_open(event)
        with clock.frozen(event.at):
            actions.complete(self.workflow, task, event.payload.get("data") or {}, event.actor)
        return None

    def _due_changed(self, event: Event) -> str | None:
        """A supervisor's new due time, given again to the replayed task (and its timer)."""
        task = self._match(event)
        if task is None:
            return self._not_open(event)
        actions.change_due(task, clock.parse_time(event.payload["due_at"]))
        return None

    def _task_cancelled(self, event: Event) -> str | None:
        known = self.tasks.get(event.task_id)
        if known is not None and known.state == TaskState.READY:
            return f"task {event.element_id} is still open in the replay"
        return None

    def _timer_fired(self, event: Event) -> str | None:
        fired_at = event.payload.get("fired_at")
        with clock.frozen(clock.parse_time(fired_at) if fired_at else event.at):
            actions.fire_timers(self.workflow)
        return self._timer_gone(event)

    def _timer_gone(self, event: Event) -> str | None:
        due = clock.parse_time(event.payload["due_at"])
        for timer in runtime.waiting_timers(self.workflow):
            if timer.element_id == event.element_id and abs(timer.due_at - due) <= TIME_TOLERANCE:
                return f"timer {event.element_id} due {due.isoformat()} still waits in the replay"
        return None

    def _instance_cancelled(self, event: Event) -> str | None:
        actions.cancel(self.workflow)
        self.cancelled = True
        return None

    def _instance_completed(self, event: Event) -> str | None:
        return None if self.workflow.is_completed() else "the case has not ended in the replay"

    def _escalated(self, event: Event) -> str | None:
        if event.element_id:
            self.escalated.add(event.element_id)
        return None

    def _incident(self, event: Event) -> str | None:
        self.incident = event.type == "incident"
        return None

    def _external(self, event: Event) -> Task | None:
        """The replayed waiting external task standing for the recorded one."""
        known = self.tasks.get(event.task_id)
        if known is not None:
            return known if known.state == TaskState.STARTED else None
        taken = {task.id for task in self.tasks.values()}
        for task in external.waiting(self.workflow):
            if task.task_spec.bpmn_id == event.element_id and task.id not in taken:
                self.tasks[event.task_id] = task
                return task
        return None

    def _external_waits(self, event: Event) -> str | None:
        if self._external(event) is not None:
            return None
        return f"external task {event.element_id} does not wait in the replay"

    def _external_completed(self, event: Event) -> str | None:
        task = self._external(event)
        if task is None:
            return self._external_waits(event)
        with clock.frozen(event.at):
            external.complete(self.workflow, task, event.payload.get("data") or {})
        return None

    def _external_bpmn_error(self, event: Event) -> str | None:
        task = self._external(event)
        if task is None:
            return self._external_waits(event)
        with clock.frozen(event.at):
            caught = external.throw_bpmn_error(self.workflow, task, event.payload["code"],
                                               event.payload.get("data") or {}, event.payload.get("message"))
        return None if caught == event.payload.get("caught") else \
            f"BPMN error {event.payload['code']} was {'not ' if caught else ''}caught in the replay"

    def _migrated(self, event: Event) -> str | None:
        """A case moved to another version: moved the same way, with the recorded due times."""
        if self.specs_of is None:
            return "the case was migrated to another version; replay it with its versions"
        payload = event.payload
        self.specs = self.specs_of(int(payload["to_definition"]))
        with clock.frozen(event.at):
            actions.migrate(runtime.SPEC_REGISTRY, self.workflow, self.specs, payload.get("mapping") or {},
                            payload.get("dues") or {})
        return None

    def _external_cancelled(self, event: Event) -> str | None:
        known = self.tasks.get(event.task_id)
        if known is not None and known.state == TaskState.STARTED:
            return f"external task {event.element_id} still waits in the replay"
        return None


#: Events whose replay only looks at the workflow (or matches its open tasks) and never moves it.
_LOOKING = frozenset({"task_ready", "task_cancelled",
                      "timer_cancelled", "instance_completed", "escalated", "incident", "incident_resolved",
                      "comment_added", "attachment_added"})

_HANDLERS: dict[str, Callable[[Replayer, Event], str | None]] = {
    "instance_started": Replayer._started,
    "task_ready": Replayer._ready,
    "task_claimed": Replayer._given,
    "task_unclaimed": Replayer._given,
    "task_delegated": Replayer._given,
    "task_assigned": Replayer._given,
    "task_completed": Replayer._completed,
    "task_due_changed": Replayer._due_changed,
    "task_cancelled": Replayer._task_cancelled,
    "timer_fired": Replayer._timer_fired,
    "timer_cancelled": Replayer._timer_gone,
    "instance_cancelled": Replayer._instance_cancelled,
    "instance_completed": Replayer._instance_completed,
    "escalated": Replayer._escalated,
    "incident": Replayer._incident,
    "incident_resolved": Replayer._incident,
    "message_correlated": Replayer._caught,
    "signal_received": Replayer._caught,
    "external_task_created": Replayer._external_waits,
    "external_task_locked": Replayer._external_waits,
    "external_task_failed": Replayer._external_waits,
    "external_task_incident": Replayer._external_waits,
    "external_task_incident_resolved": Replayer._external_waits,
    "external_task_retries_set": Replayer._external_waits,
    "external_task_lock_extended": Replayer._external_waits,
    "external_task_unlocked": Replayer._external_waits,
    "external_task_completed": Replayer._external_completed,
    "external_task_bpmn_error": Replayer._external_bpmn_error,
    "external_task_cancelled": Replayer._external_cancelled,
    "instance_migrated": Replayer._migrated,
}
_CAUGHT = {"message_correlated": catching.MESSAGE, "signal_received": catching.SIGNAL}


def replay_events(specs: tuple[Any, dict[str, Any]], events: Sequence[Event],
                  specs_of: Callable[[int], tuple[Any, dict[str, Any]]] | None = None
                  ) -> tuple[Replayer, Divergence | None]:
    """Apply the events in order, stopping at the first that the replay disagrees with.
    ``specs_of``: another version's specs by its id, for a case migrated between versions."""
    replayer = Replayer(specs, specs_of=specs_of)
    for event in events:
        problem = replayer.apply(event)
        if problem is not None:
            return replayer, Divergence(event.seq, event.type, problem)
    return replayer, None


def compare(replayer: Replayer, instance: Instance, stored: BpmnWorkflow, last_seq: int) -> Divergence | None:
    """Status, open tasks (by element), waiting timers (element + due) and case data."""
    # the stored state drops finished tasks on every save, which can move "the newest data"
    runtime.forget_finished_history(replayer.workflow)
    replayed = replayer.snapshot()
    kept = snapshot_of(stored, instance.status)
    checks = [
        ("status", replayed.status, kept.status),
        ("open tasks", [e for e, _ in replayed.open_tasks], [e for e, _ in kept.open_tasks]),
        ("waiting timers", [t[0] for t in replayed.timers], [t[0] for t in kept.timers]),
    ]
    for what, mine, theirs in checks:
        if mine != theirs:
            return _stored_differs(last_seq, what, theirs, mine)
    for (element, due, _), (_, kept_due, _) in zip(replayed.timers, kept.timers):
        if abs(due - kept_due) > TIME_TOLERANCE:
            return _stored_differs(last_seq, f"due time of timer {element}", kept_due.isoformat(),
                                   due.isoformat())
    if canonical(replayed.data) != canonical(kept.data):
        changed = sorted(k for k in set(replayed.data) | set(kept.data)
                         if canonical(replayed.data.get(k)) != canonical(kept.data.get(k)))
        return _stored_differs(last_seq, f"case data ({', '.join(changed)})",
                               {k: kept.data.get(k) for k in changed},
                               {k: replayed.data.get(k) for k in changed})
    return None


def _stored_differs(last_seq: int, what: str, stored: Any, replayed: Any) -> Divergence:
    return Divergence(None, None, f"{what} differ after event #{last_seq}: stored {stored}, "
                                  f"replayed {replayed}")


def replay_instance(db: Database, session: Session, instance_id: int, *, until_seq: int | None = None,
                    until_at: datetime | None = None) -> ReplayResult:
    """Replay a case; compared with the stored state unless stopped early at an event or a time."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"案件 {instance_id} 不存在。")
    query = select(Event).where(Event.chain == chain_of(instance_id)).order_by(Event.seq)
    if until_seq is not None:
        query = query.where(Event.seq <= until_seq)
    if until_at is not None:
        query = query.where(Event.at <= until_at)
    events = list(session.scalars(query))
    if not events and (until_seq is not None or until_at is not None):
        raise InvalidInput(f"案件 {instance_id} 在所选时刻尚未发起。")
    # the version the case started on: a migration moved it later (replay follows each move)
    first = events[0].definition_id if events and events[0].definition_id else instance.definition_id
    deployed = runtime.deployed(db, session, first)
    replayer, divergence = replay_events(deployed.specs, events,
                                         lambda definition_id: runtime.deployed(db, session, definition_id).specs)
    compared = until_seq is None and until_at is None
    if replayer.workflow is None:
        divergence = divergence or Divergence(None, None, "the case has no recorded history")
        return ReplayResult(instance_id, deployed.process_id, deployed.version, 0, 0, None,
                            Snapshot("unknown", (), (), {}), divergence, compared)
    snapshot = replayer.snapshot()
    last = replayer.applied[-1]
    if divergence is None and compared:
        stored = runtime.load_workflow(runtime.deployed(db, session, instance.definition_id).specs, instance.state)
        divergence = compare(replayer, instance, stored, last.seq)
    return ReplayResult(instance_id, deployed.process_id, deployed.version, len(replayer.applied),
                        last.seq, last.at, snapshot, divergence, compared)
