"""The shape of every service call that moves an instance: load → act → derive → record → save.

The derived rows (human tasks, candidates, ``next_due_at``, customer columns) are rebuilt from the
workflow here and only here, so they can never disagree with it.
"""
from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock, runtime
from engine.errors import Conflict, NotFound, ProcessError
from engine.history import record
from engine.store import (
    Database,
    DefinitionVersion,
    HumanTask,
    Instance,
    TaskCandidate,
    WaitingTimer,
)

CUSTOMER_FIELDS = ("customer_name", "phone", "room")
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


@dataclass
class Case:
    """An instance loaded for one unit of work, with what it looked like before the step."""

    session: Session
    instance: Instance
    workflow: BpmnWorkflow
    timers_before: dict[str, runtime.WaitingTimer] = field(default_factory=dict)
    completed: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    @property
    def definition(self) -> DefinitionVersion:
        return self.instance.definition


@contextlib.contextmanager
def running_diagram(case: Case) -> Iterator[None]:
    """Turn a failure inside the diagram into a ProcessError naming the element."""
    try:
        yield
    except WorkflowException as exc:
        where = getattr(getattr(exc, "task_spec", None), "bpmn_id", None) or "?"
        raise ProcessError(
            f"流程「{case.instance.process_id}」在元素 {where} 运行出错：{exc}。本次操作未保存，请联系流程管理员。"
        ) from exc


def open_case(session: Session, db: Database, instance_id: int) -> Case:
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"案件 {instance_id} 不存在。")
    workflow = runtime.load_workflow(runtime.specs_for(db, instance.definition), instance.state)
    return Case(session, instance, workflow, {t.task_id: t for t in runtime.waiting_timers(workflow)})


def new_case(session: Session, db: Database, definition: DefinitionVersion, actor: str,
             data: dict[str, Any]) -> Case:
    """A new instance whose start event carries ``data``; not yet run."""
    workflow = runtime.new_workflow(runtime.specs_for(db, definition))
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data)
    now = clock.now()
    instance = Instance(
        definition=definition, definition_id=definition.id, process_id=definition.process_id,
        status="running", state="", started_at=now, started_by=actor, updated_at=now,
    )
    session.add(instance)
    session.flush()  # the id names the event chain
    record(session, "instance_started", actor, instance_id=instance.id, definition_id=definition.id,
           payload={"process_id": definition.process_id, "version": definition.version, "data": data})
    return Case(session, instance, workflow)


def save_case(case: Case, actor: str) -> None:
    """Derive rows and events from the workflow's new state, then write the instance."""
    now = clock.now()
    timers = runtime.waiting_timers(case.workflow)
    _record_timers(case, timers, actor, now)
    _sync_human_tasks(case, timers, actor, now)
    _sync_timer_rows(case, timers)
    instance = case.instance
    instance.state = runtime.dump_workflow(case.workflow)
    instance.updated_at = now
    instance.next_due_at = timers[0].due_at if timers else None
    data = runtime.case_data(case.workflow)
    for name in CUSTOMER_FIELDS:
        if data.get(name) not in (None, ""):
            setattr(instance, name, str(data[name])[:200])
    if case.workflow.is_completed() and instance.status == "running":
        instance.status = "completed"
        instance.ended_at = now
        record(case.session, "instance_completed", actor, instance_id=instance.id,
               definition_id=instance.definition_id, payload={"data": data})
    case.session.flush()


def _record_timers(case: Case, timers: list[runtime.WaitingTimer], actor: str, now: datetime) -> None:
    after = {t.task_id: t for t in timers}
    for task_id, before in case.timers_before.items():
        still = after.get(task_id)
        if still is not None and still.due_at == before.due_at:
            continue
        task = runtime.find_task(case.workflow, task_id)
        fired = still is not None or (task is not None and task.state == TaskState.COMPLETED)
        record(case.session, "timer_fired" if fired else "timer_cancelled", actor,
               instance_id=case.instance.id, definition_id=case.instance.definition_id,
               task_id=task_id, element_id=before.element_id,
               payload={"due_at": before.due_at.isoformat(), "fired_at": now.isoformat(),
                        "name": before.name, "interrupting": before.interrupting} if fired
               else {"due_at": before.due_at.isoformat()})


def _sync_timer_rows(case: Case, timers: list[runtime.WaitingTimer]) -> None:
    case.session.execute(delete(WaitingTimer).where(WaitingTimer.instance_id == case.instance.id))
    case.session.add_all([
        WaitingTimer(task_id=t.task_id, instance_id=case.instance.id, element_id=t.element_id,
                     name=t.name, due_at=t.due_at, interrupting=t.interrupting, attached_to=t.attached_to)
        for t in timers])


def _sync_human_tasks(case: Case, timers: list[runtime.WaitingTimer], actor: str, now: datetime) -> None:
    session, instance = case.session, case.instance
    rows = {row.id: row for row in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "open"))}
    ready = {str(task.id): task for task in runtime.open_user_tasks(case.workflow)}
    for task_id, row in rows.items():
        if task_id not in ready:
            _close_row(case, row, actor, now)
    for task_id, task in ready.items():
        if task_id not in rows:
            _open_row(case, task, timers, actor, now)


def _close_row(case: Case, row: HumanTask, actor: str, now: datetime) -> None:
    done = case.completed.get(row.id)
    row.state = "completed" if done else "cancelled"
    row.completed_at = now
    if done:
        row.completed_by = done[0]
    case.session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == row.id))
    if not done:
        record(case.session, "task_cancelled", actor, instance_id=case.instance.id,
               definition_id=case.instance.definition_id, task_id=row.id, element_id=row.element_id,
               payload={"name": row.name})


def _open_row(case: Case, task: Task, timers: list[runtime.WaitingTimer], actor: str,
              now: datetime) -> None:
    groups = runtime.assignment(task, "candidateGroups")
    users = runtime.assignment(task, "candidateUsers")
    assignee = next(iter(runtime.assignment(task, "assignee")), None)
    priority = next(iter(runtime.assignment(task, "priority")), None)
    data = task.data
    row = HumanTask(
        id=str(task.id), instance_id=case.instance.id, process_id=case.instance.process_id,
        process_name=case.definition.name, element_id=task.task_spec.bpmn_id,
        name=task.task_spec.bpmn_name or task.task_spec.bpmn_id, state="open",
        candidate_groups=groups, candidate_users=users, assignee=assignee,
        priority=int(priority) if str(priority or "").isdigit() else None,
        created_at=now,
        due_at=runtime.task_time(task, "dueDate", now) or runtime.boundary_due(task, timers),
        follow_up_at=runtime.task_time(task, "followUpDate", now),
        escalated=False,
        **{name: (str(data[name])[:200] if data.get(name) not in (None, "") else None)
           for name in CUSTOMER_FIELDS},
    )
    case.session.add(row)
    case.session.add_all(
        [TaskCandidate(task_id=row.id, kind="group", name=g) for g in dict.fromkeys(groups)]
        + [TaskCandidate(task_id=row.id, kind="user", name=u) for u in dict.fromkeys(users)]
    )
    record(case.session, "task_ready", actor, instance_id=case.instance.id,
           definition_id=case.instance.definition_id, task_id=row.id, element_id=row.element_id,
           payload={"name": row.name, "candidate_groups": groups, "candidate_users": users,
                    "assignee": assignee, "due_at": row.due_at.isoformat() if row.due_at else None})
