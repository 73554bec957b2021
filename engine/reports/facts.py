"""Report facts folded from the event log: one row per case, per user task and per service level.

The fold runs in the unit of work that records the events (a hook of ``history._seal``), so the
facts commit with them or not at all, and ``rebuild`` runs the same fold over the whole log: the
dashboard and the reports therefore agree with replay and audit, and never scan the log per
request. Each event maps to a few set-based statements; what it does not concern is skipped.

| event            | fact                                                                  |
| ---------------- | --------------------------------------------------------------------- |
| instance_started | a ``case_fact`` row                                                   |
| instance_completed / instance_cancelled | the case's end and outcome                     |
| task_ready       | a ``step_fact`` row (department: the first candidate group) and one ``sla_fact`` row per limit it carries (each boundary timer, its dueDate) |
| task_completed / task_cancelled | the step's end, who finished it, its ``satisfaction`` answer; a 督办 task's completion is who acted on the escalation it chases |
| escalated        | the step's escalation time; the 督办 tasks it opened chase the step  |
| task_assigned    | a supervisor's reassignment of an escalated step is acting on it, too |
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from engine import clock, history
from engine.store import CaseFact, Event, SlaFact, StepFact
from engine.store.prepared import Prepared

CASES, STEPS, SLAS = CaseFact.__table__, StepFact.__table__, SlaFact.__table__
DUE_DATE = "dueDate"  # the limit id of a task's camunda:dueDate
REBUILD_BATCH = 5000

_OPEN_CASE = Prepared(CASES.insert(), columns=("instance_id", "definition_id", "process_id", "started_at",
                                               "started_by"))
_END_CASE = Prepared(CASES.update().where(CASES.c.instance_id == bindparam("instance"), CASES.c.outcome.is_(None))
                     .values(ended_at=bindparam("at"), outcome=bindparam("how")))
_OPEN_STEP = Prepared(STEPS.insert(), columns=("task_id", "instance_id", "definition_id", "element_id", "name",
                                               "department", "opened_at", "due_at", "escalation_of"))
_OPEN_LIMIT = Prepared(SLAS.insert(), columns=("task_id", "limit_id", "name", "due_at"))
_FINISH_STEP = Prepared(STEPS.update().where(STEPS.c.task_id == bindparam("task"), STEPS.c.outcome.is_(None))
                        .values(finished_at=bindparam("at"), finished_by=bindparam("by"),
                                outcome=bindparam("how"), satisfaction=bindparam("answer")))
_CHASED = select(STEPS.c.escalation_of).where(STEPS.c.task_id == bindparam("task")).scalar_subquery()
_ACT_ON_CHASED = Prepared(STEPS.update().where(STEPS.c.task_id == _CHASED, STEPS.c.acted_by.is_(None))
                          .values(acted_by=bindparam("by"), acted_at=bindparam("at")))
_ESCALATE_STEP = Prepared(STEPS.update().where(STEPS.c.task_id == bindparam("task"),
                                               STEPS.c.escalated_at.is_(None))
                          .values(escalated_at=bindparam("at")))
_ACT_ON_STEP = Prepared(STEPS.update().where(and_(STEPS.c.task_id == bindparam("task"),
                                                  STEPS.c.escalated_at.is_not(None), STEPS.c.acted_by.is_(None)))
                        .values(acted_by=bindparam("by"), acted_at=bindparam("at")))


def _started(session: Session, event: Mapping[str, Any], chasing: dict[str, str]) -> None:
    _OPEN_CASE.run(session, instance_id=event["instance_id"], definition_id=event["definition_id"],
                   process_id=event["payload"].get("process_id") or "", started_at=event["at"],
                   started_by=event["actor"])


def _ended(session: Session, event: Mapping[str, Any], chasing: dict[str, str]) -> None:
    _END_CASE.run(session, instance=event["instance_id"], at=event["at"],
                  how="completed" if event["type"] == "instance_completed" else "cancelled")


def _ready(session: Session, event: Mapping[str, Any], chasing: dict[str, str]) -> None:
    payload = event["payload"]
    groups = payload.get("candidate_groups") or []
    _OPEN_STEP.run(session, task_id=event["task_id"], instance_id=event["instance_id"],
                   definition_id=event["definition_id"], element_id=event["element_id"],
                   name=payload.get("name"), department=groups[0] if groups else None,
                   opened_at=event["at"], due_at=clock.parse_time(payload["due_at"]) if payload.get("due_at") else None,
                   escalation_of=chasing.pop(event["task_id"], None))
    _OPEN_LIMIT.run_many(session, [{"task_id": event["task_id"], **limit} for limit in limits_of(payload)])


def limits_of(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The service levels a ``task_ready`` event carries (``limits``: each boundary timer and the
    dueDate); an event recorded before they were carried names only the task's earliest one."""
    if "limits" in payload:
        return [{"limit_id": limit["id"], "name": limit.get("name"), "due_at": clock.parse_time(limit["due_at"])}
                for limit in payload["limits"]]
    due = payload.get("due_at")
    return [{"limit_id": DUE_DATE, "name": None, "due_at": clock.parse_time(due)}] if due else []


def _finished(session: Session, event: Mapping[str, Any], chasing: dict[str, str]) -> None:
    done = event["type"] == "task_completed"
    answer = ((event["payload"].get("data") or {}).get("satisfaction") if done else None)
    _FINISH_STEP.run(session, task=event["task_id"], at=event["at"], by=event["actor"] if done else None,
                     how="completed" if done else "cancelled",
                     answer=answer if isinstance(answer, str) else None)
    if done:
        _ACT_ON_CHASED.run(session, task=event["task_id"], by=event["actor"], at=event["at"])


def _escalated(session: Session, event: Mapping[str, Any], chasing: dict[str, str]) -> None:
    _ESCALATE_STEP.run(session, task=event["task_id"], at=event["at"])
    for task_id in event["payload"].get("escalation_tasks") or ():
        chasing[task_id] = event["task_id"]  # their task_ready follows in the same unit of work


def _assigned(session: Session, event: Mapping[str, Any], chasing: dict[str, str]) -> None:
    _ACT_ON_STEP.run(session, task=event["task_id"], by=event["actor"], at=event["at"])


FOLDS: dict[str, Callable[[Session, Mapping[str, Any], dict[str, str]], None]] = {
    "instance_started": _started, "instance_completed": _ended, "instance_cancelled": _ended,
    "task_ready": _ready, "task_completed": _finished, "task_cancelled": _finished,
    "escalated": _escalated, "task_assigned": _assigned,
}


def fold(session: Session, events: Iterable[Mapping[str, Any]], chasing: dict[str, str] | None = None) -> None:
    """Apply events, in the order they were recorded, to the facts. ``chasing``: 督办 tasks
    announced by an ``escalated`` event whose ``task_ready`` is still to come."""
    chasing = {} if chasing is None else chasing
    for event in events:
        apply = FOLDS.get(event["type"])
        if apply is not None and event["instance_id"] is not None:
            apply(session, event, chasing)


history.SEAL_HOOKS.append(fold)

_EVENT_FIELDS = (Event.id, Event.instance_id, Event.definition_id, Event.type, Event.actor, Event.at,
                 Event.task_id, Event.element_id, Event.payload)


def rebuild(session: Session) -> int:
    """Recompute every fact from the whole event log (in recording order); returns events folded."""
    for table in (SLAS, STEPS, CASES):
        session.execute(table.delete())
    chasing: dict[str, str] = {}
    last, folded = 0, 0
    while True:
        rows = session.execute(select(*_EVENT_FIELDS).where(Event.id > last, Event.type.in_(FOLDS))
                               .order_by(Event.id).limit(REBUILD_BATCH)).all()
        if not rows:
            return folded
        fold(session, [row._asdict() for row in rows], chasing)
        last, folded = rows[-1].id, folded + len(rows)
