"""The shape of every service call that moves an instance: load → act → derive → record → save.

The derived rows (human tasks, candidates, waiting timers, ``next_due_at``, customer columns) are
rebuilt here and only here, from the difference between the workflow as loaded and as it is now,
so they can never disagree with it. Writes are set-based (Core inserts/updates), because this is
the path every completion and every timer takes.
"""
from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Callable, Iterator, Sequence, TypeVar

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import actions, catching, clock, history, limits, listeners, notify, runtime, watchdog
from engine.errors import BpmdeskError, Conflict, NotFound, ProcessError
from engine.history import record
from engine.numbers import MAX_ID, whole_number
from engine.services.access import UNASSIGNED_QUEUE
from engine.store import (NO_DUE_DATE, Database, EventSubscription, HumanTask, Instance, TaskCandidate,
                          WaitingTimer)
from engine.store.unit_of_work import unit_of
from engine.store.prepared import Prepared

log = logging.getLogger("bpmdesk.steps")
CUSTOMER_FIELDS = ("customer_name", "phone", "room")
TASKS, CANDIDATES, TIMERS = HumanTask.__table__, TaskCandidate.__table__, WaitingTimer.__table__
T = TypeVar("T")


def translating_races(func: Callable[..., T]) -> Callable[..., T]:
    """Two writers on one instance: the loser gets a clear Conflict instead of a database error."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except (StaleDataError, IntegrityError) as exc:
            raise Conflict("该案件刚被其他人修改，您的操作未生效，请刷新后重试。") from exc

    return wrapper


INSTANCES = Instance.__table__
_TOUCH_INSTANCE = Prepared(INSTANCES.update().where(INSTANCES.c.id == bindparam("id"))
                           .values(updated_at=bindparam("at"), lock_version=INSTANCES.c.lock_version + 1))


def touch_instance(session: Session, instance_id: int) -> None:
    """Move an instance's version on without a workflow step (a claim, a comment, a new due date, a
    refusal recorded in its history): writes are ordered against completions, and a cached
    workflow (with its event chain's head) of the older version is never used again."""
    _TOUCH_INSTANCE.run(session, id=instance_id, at=clock.now())


@dataclass
class InstanceRecord:
    """The instance row as loaded for one unit of work; ``save_case`` writes it back.

    A plain record (not an ORM object): this is the row every completion and firing reads and
    writes, and a Core read and one version-checked update cost a fraction of the ORM's work.
    """

    id: int
    definition_id: int
    process_id: str
    status: str
    state: str
    lock_version: int
    next_due_at: datetime | None
    started_at: datetime
    started_by: str
    updated_at: datetime
    ended_at: datetime | None
    customer_name: str | None
    phone: str | None
    room: str | None
    fire_attempts: int
    last_error: str | None
    trail: list[str]
    business_key: str | None = None
    stored: dict[str, Any] = field(default_factory=dict, repr=False)  # the saved columns as in the row


_SAVED = ("status", "state", "next_due_at", "updated_at", "ended_at", *CUSTOMER_FIELDS,
          "fire_attempts", "last_error", "trail")
_LOAD_INSTANCE = Prepared(select(INSTANCES).where(INSTANCES.c.id == bindparam("id")))
_INSERT_INSTANCE = Prepared(INSTANCES.insert().returning(INSTANCES.c.id),
                            columns=[c.name for c in INSTANCES.columns if c.name != "id"])


@functools.lru_cache(maxsize=None)
def _save_instance(columns: tuple[str, ...]) -> Prepared:
    """The version-checked update of these columns. Only changed columns are written: SQLite
    rewrites an index page for every indexed column named in SET, changed or not."""
    return Prepared(
        INSTANCES.update()
        .where(INSTANCES.c.id == bindparam("instance"), INSTANCES.c.lock_version == bindparam("expected"))
        .values({**{name: bindparam(f"new_{name}") for name in columns},
                 "lock_version": INSTANCES.c.lock_version + 1}))


def load_instance(session: Session, instance_id: int) -> InstanceRecord | None:
    row = _LOAD_INSTANCE.first(session, id=instance_id)
    return instance_record(row) if row is not None else None


_RECORD_FIELDS = [f.name for f in fields(InstanceRecord) if f.name != "stored"]


def instance_record(row: Any, prefix: str = "") -> InstanceRecord:
    """A record from a row of the instance table (columns named ``prefix`` + column name)."""
    values = row._asdict()
    instance = InstanceRecord(**{name: values[prefix + name] for name in _RECORD_FIELDS})
    instance.trail = instance.trail or []
    instance.stored = {name: getattr(instance, name) for name in _SAVED}
    return instance


def write_instance(session: Session, record: InstanceRecord) -> None:
    """Write the record back if nobody else has since it was read (optimistic locking). On a
    pipelined engine the version check is settled later, but always before the work commits."""
    now = {name: getattr(record, name) for name in _SAVED}
    changed = tuple(name for name in _SAVED if now[name] != record.stored.get(name, now))
    values = {f"new_{name}": now[name] for name in changed}
    stale = StaleDataError(f"instance {record.id} changed since version {record.lock_version}")
    _save_instance(changed).run_expecting(session, 1, stale, instance=record.id, expected=record.lock_version,
                                          **values)
    record.lock_version += 1
    record.stored = now
    if record.status == "running" and record.next_due_at is not None:
        unit_of(session).note_due(record.next_due_at)


@dataclass
class Case:
    """An instance loaded for one unit of work, with what it looked like when loaded (after a
    save: as saved, which is where whatever comes next starts from)."""

    session: Session
    instance: InstanceRecord
    deployed: runtime.Deployed
    workflow: BpmnWorkflow
    ready_before: set[str] = field(default_factory=set)
    timers_before: dict[str, runtime.WaitingTimer] = field(default_factory=dict)
    completed: dict[str, str] = field(default_factory=dict)  # task id → who completed it
    opened: list[dict[str, Any]] = field(default_factory=list)  # human_task rows this work opened
    overdue: list[str] = field(default_factory=list)  # elements whose passed dueDate this work noticed
    subscriptions_before: dict[str, catching.Subscription] = field(default_factory=dict)
    moved_timers: set[str] = field(default_factory=set)  # timers given a new due time, not fired

    def note(self, type: str, actor: str, task: Task | None = None, **payload: Any) -> None:
        """Record an event of this instance (optionally about one of its tasks)."""
        record(self.session, type, actor, instance_id=self.instance.id,
               definition_id=self.deployed.id, task_id=str(task.id) if task is not None else None,
               element_id=task.task_spec.bpmn_id if task is not None else None, payload=payload)


@contextlib.contextmanager
def running_diagram(case: Case) -> Iterator[None]:
    """Turn a failure inside the diagram into a ProcessError naming the element.

    Whatever SpiffWorkflow raises while it runs the diagram comes from the diagram (a timer whose
    expression gives ``P9999Y`` overflows the calendar, one giving a number is no duration), so
    it is the diagram's error too, logged in full for the analyst. The step runs within
    ``BPMDESK_STEP_SECONDS`` of CPU (:mod:`engine.watchdog`).
    """
    try:
        with watchdog.step_budget(f"流程「{case.deployed.process_id}」"):
            yield
    except WorkflowException as exc:
        where = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or "?"
        raise ProcessError(
            f"流程「{case.deployed.process_id}」在元素 {where} 运行出错：{exc}。本次操作未保存，请联系流程管理员。"
        ) from exc
    except (BpmdeskError, StaleDataError, IntegrityError):
        raise
    except Exception as exc:  # noqa: BLE001 - see the docstring
        log.warning("diagram %s failed in case %s", case.deployed.process_id, case.instance.id, exc_info=True)
        raise ProcessError(
            f"流程「{case.deployed.process_id}」运行出错（{type(exc).__name__}: {exc}）。本次操作未保存，请联系流程管理员。"
        ) from exc


def open_case(session: Session, db: Database, instance_id: int | InstanceRecord) -> Case:
    """Load an instance (or take the record a caller already read, locked) and its workflow.

    The workflow comes from this process's cache when it holds the version just read; once the
    unit of work commits, it goes back to the cache as saved (or, if not saved, as it was).
    """
    instance = instance_id if isinstance(instance_id, InstanceRecord) else load_instance(session, instance_id)
    if instance is None:
        raise NotFound(f"案件 {instance_id} 不存在。")
    deployed = runtime.deployed(db, session, instance.definition_id)
    cached = runtime.workflow_cache(db).take(instance.id, instance.lock_version)
    if cached is not None:
        workflow, ready, timers, head = cached
        if head is not None:
            history.assume_head(session, history.chain_of(instance.id), head)
    else:
        workflow = runtime.load_workflow(deployed.specs, instance.state)
        seen = runtime.snapshot(workflow)
        ready, timers = {str(task.id) for task in seen.ready}, {t.task_id: t for t in seen.timers}
    case = Case(session, instance, deployed, workflow, ready, timers,
                subscriptions_before=catching.subscriptions(workflow))
    return _cache_when_committed(db, case)


def _cache_when_committed(db: Database, case: Case) -> Case:
    """Once committed, the workflow goes to the cache with what the next step needs of it: its open
    tasks, its timers and the head of its event chain."""
    cache = runtime.workflow_cache(db)
    unit_of(case.session).on_commit(lambda: cache.put(
        case.instance.id, case.instance.lock_version,
        (case.workflow, case.ready_before, case.timers_before,
         history.known_head(case.session, history.chain_of(case.instance.id)))))
    return case


def new_case(session: Session, db: Database, definition_id: int, actor: str,
             data: dict[str, Any], business_key: str | None = None) -> Case:
    """A new instance whose start event carries ``data``; not yet run."""
    deployed = runtime.deployed(db, session, definition_id)
    initiator = runtime.initiator_variable(deployed.specs[0])
    data = {**data, initiator: actor} if initiator else data  # recorded as given: replay needs it
    workflow = actions.start(deployed.specs, data, business_key)
    now = clock.now()
    instance = InstanceRecord(
        id=0, definition_id=deployed.id, process_id=deployed.process_id, status="running", state="",
        lock_version=1, next_due_at=None, started_at=now, started_by=actor, updated_at=now, ended_at=None,
        customer_name=None, phone=None, room=None, fire_attempts=0, last_error=None, trail=[],
        business_key=business_key)
    values = {name: value for name, value in vars(instance).items() if name not in ("id", "stored")}
    instance.id = _INSERT_INSTANCE.first(session, **values).id  # the id names the event chain
    history.assume_head(session, history.chain_of(instance.id), (0, history.GENESIS))  # a new chain
    instance.stored = {name: values[name] for name in _SAVED}
    case = _cache_when_committed(db, Case(session, instance, deployed, workflow))
    keyed = {"business_key": business_key} if business_key else {}
    case.note("instance_started", actor, process_id=deployed.process_id, version=deployed.version,
              data=data, **keyed)
    return case


#: Other derived rows, each ``hook(case, actor, now)`` on every save (external tasks register theirs).
SAVE_HOOKS: list[Callable[[Case, str, datetime], None]] = []


def save_case(case: Case, actor: str) -> runtime.Snapshot:
    """Derive rows and events from the workflow's new state, then write the instance; returns
    what the state was read as (open tasks, timers), so a caller need not walk the tree again."""
    now = clock.now()
    seen = runtime.snapshot(case.workflow)
    fired = _record_timers(case, seen.timers, actor, now)
    _escalate(case, fired, seen, actor, now)  # first: its read then waits for none of this step's writes
    _sync_human_tasks(case, seen, actor, now)
    for hook in SAVE_HOOKS:
        hook(case, actor, now)
    pending = _notice_passed_due_dates(case, seen, actor, now)
    _sync_timer_rows(case, seen.timers)
    subscribed = catching.subscriptions(case.workflow)
    _sync_subscription_rows(case, subscribed)
    signals = catching.thrown_signals(case.workflow)
    data = runtime.case_data(case.workflow, seen.ready)
    instance = case.instance
    if not seen.completed <= set(instance.trail):  # what pruning will forget, the diagram still shows as done
        instance.trail = sorted(set(instance.trail) | seen.completed)
    if case.workflow.is_completed() and instance.status == "running":
        instance.status = "completed"
        instance.ended_at = now
        case.note("instance_completed", actor, data=data)
    runtime.forget_finished_history(case.workflow)
    instance.state = runtime.dump_workflow(case.workflow)
    limits.check_case_state(instance.state, instance.id)
    instance.updated_at = now
    instance.next_due_at = _next_due(seen.timers, pending) if instance.status == "running" else None
    for name in CUSTOMER_FIELDS:
        if data.get(name) not in (None, ""):
            setattr(instance, name, str(data[name])[:200])
    write_instance(case.session, instance)
    case.ready_before = {str(task.id) for task in seen.ready}
    case.timers_before = {t.task_id: t for t in seen.timers}
    case.subscriptions_before = subscribed
    if signals:  # Camunda delivers a thrown signal in the thrower's transaction
        from engine.services.events import broadcast_thrown  # it opens and saves other cases
        broadcast_thrown(case, signals, actor)
    return seen


def _next_due(timers: list[runtime.WaitingTimer], due_dates: list[runtime.DueDate]) -> datetime | None:
    """When the scheduler must next look at the case: its earliest timer or unnoticed dueDate."""
    return min([*(t.due_at for t in timers[:1]), *(d.due_at for d in due_dates[:1])], default=None)


def _record_timers(case: Case, timers: list[runtime.WaitingTimer], actor: str,
                   now: datetime) -> list[runtime.WaitingTimer]:
    """Record which timers fired or were cancelled since loading; return the ones that fired."""
    after = {t.task_id: t for t in timers}
    fired_timers = []
    for task_id, before in case.timers_before.items():
        still = after.get(task_id)
        if still is not None and (still.due_at == before.due_at or task_id in case.moved_timers):
            continue
        task = runtime.find_task(case.workflow, task_id)
        # a cycle's last repetition leaves its task waiting, not completed: only CANCELLED is "not fired"
        fired = still is not None or (task is not None and task.state != TaskState.CANCELLED)
        details = {"due_at": before.due_at.isoformat(), "name": before.name}
        if fired:
            details.update(fired_at=now.isoformat(), interrupting=before.interrupting,
                           attached_to=before.attached_to)
            fired_timers.append(before)
        record(case.session, "timer_fired" if fired else "timer_cancelled", actor,
               instance_id=case.instance.id, definition_id=case.deployed.id, task_id=task_id,
               element_id=before.element_id, payload=details)
    return fired_timers


_ESCALATE = Prepared(TASKS.update().where(TASKS.c.id == bindparam("task_id"), TASKS.c.state == "open")
                     .values(escalated=True)
                     .returning(TASKS.c.name, TASKS.c.element_id, TASKS.c.assignee, TASKS.c.candidate_groups,
                                TASKS.c.candidate_users, TASKS.c.due_at))
_NOTIFY = Prepared(notify.OUTBOX.insert(),
                   columns=("created_at", "instance_id", "recipient", "subject", "body", "attempts"))


def _escalate(case: Case, fired: list[runtime.WaitingTimer], seen: runtime.Snapshot, actor: str,
              now: datetime) -> None:
    """A reminder (non-interrupting boundary timer) fired on an open human task: mark the task
    escalated, and notify its people and those of the escalation tasks the timer opened."""
    still_open = {str(task.id) for task in seen.ready} & case.ready_before
    for timer in fired:
        if not timer.interrupting and timer.attached_to in still_open:
            _escalate_task(case, timer.attached_to, timer.due_at, actor, now,
                           timer=timer.element_id, opened=_opened_by(case, seen, timer))


def _notice_passed_due_dates(case: Case, seen: runtime.Snapshot, actor: str,
                             now: datetime) -> list[runtime.DueDate]:
    """An open task whose ``camunda:dueDate`` has passed and that no boundary timer watches is
    escalated like a reminder would (marked, its people notified), once; returns the dueDates
    still to come."""
    pending = []
    for due in runtime.due_dates(seen.ready, seen.timers):
        if due.due_at >= now:  # due once passed, as a timer is
            pending.append(due)
            continue
        runtime.notice_due_date(due.task)
        case.overdue.append(due.task.task_spec.bpmn_id)
        _escalate_task(case, str(due.task.id), due.due_at, actor, now)
    return pending


def _escalate_task(case: Case, task_id: str, due_at: datetime, actor: str, now: datetime, *,
                   timer: str | None = None, opened: Sequence[Task] = ()) -> None:
    """Mark an open task escalated, notify its people and those of the escalation tasks
    ``opened`` for it, and record who was told (``timer``: the reminder that fired, if any)."""
    row = _ESCALATE.first(case.session, task_id=task_id)
    if row is None:
        return
    escalation = notify.Escalation(
        instance_id=case.instance.id, process_name=case.deployed.name or case.deployed.process_id,
        task_name=row.name, due_at=row.due_at or due_at,
        responsible=_recipients([row.assignee] if row.assignee else [], row.candidate_groups,
                                row.candidate_users),
        escalated_to=[(t.task_spec.bpmn_name or t.task_spec.bpmn_id, _task_recipients(t)) for t in opened])
    notices = notify.escalation_notices(escalation, now)
    _NOTIFY.run_many(case.session, notices)
    record(case.session, "escalated", actor, instance_id=case.instance.id,
           definition_id=case.deployed.id, task_id=task_id, element_id=row.element_id,
           payload={"name": row.name, "timer": timer, "due_at": escalation.due_at.isoformat(),
                    "escalated_to": [name for name, _ in escalation.escalated_to],
                    "escalation_tasks": [str(t.id) for t in opened],
                    "notified": [n["recipient"] for n in notices]})


def _opened_by(case: Case, seen: runtime.Snapshot, timer: runtime.WaitingTimer) -> list[Task]:
    """Human tasks that became ready in this step on the path leaving the timer."""
    def descends(task: Task) -> bool:
        while task is not None and str(task.id) != timer.task_id:
            task = task.parent
        return task is not None
    return [t for t in seen.ready if str(t.id) not in case.ready_before and descends(t)]


def _task_recipients(task: Task) -> list[str]:
    return _recipients(runtime.assignment(task, "assignee")[:1], runtime.assignment(task, "candidateGroups"),
                       runtime.assignment(task, "candidateUsers"))


def _recipients(assignees: list[str], groups: list[str], users: list[str]) -> list[str]:
    """Who answers for a task: its assignee if it has one, else its candidates."""
    if assignees:
        return [f"user:{name}" for name in assignees]
    return [f"group:{name}" for name in groups or []] + [f"user:{name}" for name in users or []]


_FORGET_TIMERS = Prepared(TIMERS.delete().where(TIMERS.c.instance_id == bindparam("instance")))
_INSERT_TIMERS = Prepared(TIMERS.insert(), columns=("task_id", "instance_id", "element_id", "name", "due_at",
                                                    "interrupting", "attached_to"))


def _sync_timer_rows(case: Case, timers: list[runtime.WaitingTimer]) -> None:
    if {t.task_id: t for t in timers} == case.timers_before:
        return
    _FORGET_TIMERS.run(case.session, instance=case.instance.id)
    _INSERT_TIMERS.run_many(case.session, [
        {"task_id": t.task_id, "instance_id": case.instance.id, "element_id": t.element_id,
         "name": t.name, "due_at": t.due_at, "interrupting": t.interrupting,
         "attached_to": t.attached_to} for t in timers])


SUBSCRIPTIONS = EventSubscription.__table__
_FORGET_SUBSCRIPTIONS = Prepared(SUBSCRIPTIONS.delete().where(SUBSCRIPTIONS.c.instance_id == bindparam("instance")))
_INSERT_SUBSCRIPTIONS = Prepared(SUBSCRIPTIONS.insert(), columns=("task_id", "instance_id", "kind", "name",
                                                                  "element_id"))


def _sync_subscription_rows(case: Case, subscribed: dict[str, catching.Subscription]) -> None:
    if subscribed == case.subscriptions_before:
        return
    if case.subscriptions_before:
        _FORGET_SUBSCRIPTIONS.run(case.session, instance=case.instance.id)
    _INSERT_SUBSCRIPTIONS.run_many(case.session, [
        {"task_id": s.task_id, "instance_id": case.instance.id, "kind": s.kind, "name": s.name,
         "element_id": s.element_id} for s in subscribed.values()])


def _sync_human_tasks(case: Case, seen: runtime.Snapshot, actor: str, now: datetime) -> None:
    ready = {str(task.id): task for task in seen.ready}
    closed = sorted(case.ready_before - set(ready))
    if closed:
        _close_rows(case, closed, actor, now)
    opened = [task for task_id, task in ready.items() if task_id not in case.ready_before]
    if opened:
        _open_rows(case, opened, seen.timers, actor, now)


WITHDRAW_OFFERS = Prepared(CANDIDATES.delete().where(CANDIDATES.c.task_id == bindparam("task")))
_CLOSE_TASK = Prepared(TASKS.update().where(TASKS.c.id == bindparam("task"), TASKS.c.state == "open")
                       .values(state=bindparam("new_state"), completed_at=bindparam("at"),
                               completed_by=bindparam("by"), assignee=func.coalesce(TASKS.c.assignee, bindparam("by"))))


def _close_rows(case: Case, task_ids: list[str], actor: str, now: datetime) -> None:
    WITHDRAW_OFFERS.run_many(case.session, [{"task": task_id} for task_id in task_ids])
    for task_id in task_ids:
        done_by = case.completed.get(task_id)
        _CLOSE_TASK.run(case.session, task=task_id, new_state="completed" if done_by else "cancelled",
                        at=now, by=done_by)
        if done_by is None:
            task = runtime.find_task(case.workflow, task_id)
            record(case.session, "task_cancelled", actor, instance_id=case.instance.id,
                   definition_id=case.deployed.id, task_id=task_id,
                   element_id=task.task_spec.bpmn_id if task is not None else None,
                   payload={"name": task.task_spec.bpmn_name if task is not None else None})


def _task_row(case: Case, task: Task, timers: list[runtime.WaitingTimer], now: datetime) -> dict[str, Any]:
    priority = next(iter(runtime.assignment(task, "priority")), None)
    assignee = listeners.assignee(task)  # camunda:assignee, or what a task listener gave
    groups = list(dict.fromkeys(runtime.assignment(task, "candidateGroups")))
    users = list(dict.fromkeys(runtime.assignment(task, "candidateUsers")))
    if assignee is None and not groups and not users:
        groups = [UNASSIGNED_QUEUE]  # given to nobody: supervisors and admins see it
    return {
        "id": str(task.id), "instance_id": case.instance.id, "process_id": case.deployed.process_id,
        "process_name": case.deployed.name, "element_id": task.task_spec.bpmn_id,
        "name": task.task_spec.bpmn_name or task.task_spec.bpmn_id, "state": "open",
        "candidate_groups": groups, "candidate_users": users, "assignee": assignee, "owner": None,
        "priority": whole_number(str(priority or ""), most=MAX_ID),
        "created_at": now,
        "due_at": runtime.keep_due_date(task, now) or runtime.boundary_due(task, timers),
        "follow_up_at": runtime.task_time(task, "followUpDate", now),
        "escalated": False, "completed_at": None, "completed_by": None,
        "business_key": case.instance.business_key,
        **{name: (str(task.data[name])[:200] if task.data.get(name) not in (None, "") else None)
           for name in CUSTOMER_FIELDS},
    }


_OFFER = Prepared(CANDIDATES.insert(), columns=("task_id", "kind", "name", "created_at", "due_order"))
_INSERT_TASKS = Prepared(TASKS.insert(), columns=[c.name for c in TASKS.columns])


def offer_to_candidates(session: Session, rows: list[dict[str, Any]]) -> None:
    """Put unclaimed tasks (human_task rows as mappings) into their candidates' inboxes."""
    _OFFER.run_many(session, [
        {"task_id": row["id"], "kind": kind, "name": name, "created_at": row["created_at"],
         "due_order": row["due_at"] or NO_DUE_DATE}
        for row in rows
        for kind, names in (("group", row["candidate_groups"]), ("user", row["candidate_users"]))
        for name in names])


def _open_rows(case: Case, tasks: list[Task], timers: list[runtime.WaitingTimer], actor: str,
               now: datetime) -> None:
    rows = [_task_row(case, task, timers, now) for task in tasks]
    case.opened.extend(rows)
    _INSERT_TASKS.run_many(case.session, rows)
    offer_to_candidates(case.session, [row for row in rows if row["assignee"] is None])
    for task, row in zip(tasks, rows):
        case.note("task_ready", actor, task, name=row["name"], candidate_groups=row["candidate_groups"],
                  candidate_users=row["candidate_users"], assignee=row["assignee"],
                  due_at=row["due_at"].isoformat() if row["due_at"] else None,
                  limits=_limits(task, timers))


def _limits(task: Task, timers: list[runtime.WaitingTimer]) -> list[dict[str, Any]]:
    """The task's service levels, for the reports: each boundary timer on it and its dueDate."""
    limits = [{"id": t.element_id, "name": t.name, "due_at": t.due_at.isoformat()}
              for t in timers if t.attached_to == str(task.id)]
    due = runtime.kept_due_date(task)
    return limits + ([{"id": "dueDate", "name": None, "due_at": due.isoformat()}] if due else [])
