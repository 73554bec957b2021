"""Supervisors and their teams: the workload of a group at a glance, and handing its work around.

A group's supervisors are the members of its supervisor groups (``work_group.supervisor_groups``,
e.g. 客服主管 and 客服经理 for the departments): the 督办 who gets an escalation can open the late
task, give it to a person of the team, or take it over. Counts are read from the inbox indexes
(the group's queue in the candidate index, each member's own tasks in the assignee index).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from SpiffWorkflow.util.task import TaskState

from engine import actions, clock, runtime
from engine.errors import Conflict, InvalidInput
from engine.history import record
from engine.services import access, foureyes
from engine.services.access import Actor
from engine.services.foureyes import recording_refusals
from engine.services.groups import GroupInfo, list_groups
from engine.services.steps import (CANDIDATES, TASKS, instance_record, open_case, running_diagram, save_case,
                                   touch_instance, translating_races)
from engine.services.users import groups_of
from engine.services.work import TaskItem, _item, _require_open, _require_task, _set_assignee, record_given
from engine.store import Database, Membership

MAX_REASON = 500  # as a cancellation's reason

TEAM_LIST = 200  # tasks listed on a team page, soonest due first


@dataclass(frozen=True)
class Member:
    name: str
    open: int
    overdue: int


@dataclass(frozen=True)
class Team:
    group: GroupInfo
    open: int
    unclaimed: int
    overdue: int
    due_today: int
    members: list[Member]
    tasks: list[TaskItem]


def my_teams(db: Database, actor: Actor) -> list[GroupInfo]:
    """The groups ``actor`` supervises, for the team view's menu."""
    return [g for g in list_groups(db) if g.name in actor.supervises] if actor.supervises else []


def team(db: Database, actor: Actor, group: str) -> Team:
    """Open, unclaimed, overdue and due-today work of ``group`` and of each of its members."""
    now = clock.now()
    end_of_day = now.astimezone(clock.local_tz()).replace(hour=23, minute=59, second=59, microsecond=999999)
    access.require_team(actor, group)
    with db.unit_of_work(read_only=True) as session:
        members = list(session.scalars(select(Membership.user_name).where(Membership.group_name == group)
                                       .order_by(Membership.user_name)))
        offered = select(CANDIDATES.c.task_id).where(CANDIDATES.c.kind == "group", CANDIDATES.c.name == group)
        of_team = and_(TASKS.c.state == "open", or_(TASKS.c.id.in_(offered), TASKS.c.assignee.in_(members)))
        rows = session.execute(select(TASKS).where(of_team).order_by(func.coalesce(TASKS.c.due_at, TASKS.c.created_at))
                               .limit(TEAM_LIST)).all()
        counts = session.execute(select(
            func.count(), func.count().filter(TASKS.c.assignee.is_(None)),
            func.count().filter(TASKS.c.due_at < now), func.count().filter(TASKS.c.due_at <= end_of_day))
            .where(of_team)).one()
        per_person = dict(((name, (total, late)) for name, total, late in session.execute(
            select(TASKS.c.assignee, func.count(), func.count().filter(TASKS.c.due_at < now))
            .where(TASKS.c.state == "open", TASKS.c.assignee.in_(members)).group_by(TASKS.c.assignee))))
    info = next(g for g in list_groups(db) if g.name == group)
    return Team(info, *counts, members=[Member(m, *per_person.get(m, (0, 0))) for m in members],
                tasks=[_item(r) for r in rows])


@recording_refusals
@translating_races
def assign(db: Database, task_id: str, actor: Actor, to_user: str) -> TaskItem:
    """A supervisor gives an open task of their team to a person of the task's groups, or takes
    it over themselves (``to_user`` is the actor); recorded as ``task_assigned``. Four eyes
    holds: a check is never given to someone who did the work it checks."""
    with db.unit_of_work() as session:
        row = _require_task(session, task_id)
        _require_open(row)
        access.require_supervisor(actor, row, Actor(to_user, groups_of(session, to_user)))
        foureyes.guard(db, session, actor, to_user, row, "assign")
        if row.assignee == to_user:
            return _item(row)
        row = _set_assignee(session, row, expected=row.assignee, assignee=to_user)
        record_given(db, session, row, actor, "task_assigned", to_user, {"name": row.name, "to": to_user})
        return _item(row)


def _checked_change(reason: str, due_at: datetime | None, follow_up_at: datetime | None) -> str:
    """The reason, once the change makes sense: something new, a due time still ahead."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        message = "请填写调整原因（将记入处理记录）。" if not reason else f"调整原因不能超过 {MAX_REASON} 个字。"
        raise InvalidInput(message, {"reason": message})
    if due_at is None and follow_up_at is None:
        raise InvalidInput("请填写新的到期时间或跟进时间。", {"due_at": "请填写新的到期时间或跟进时间。"})
    if due_at is not None and due_at <= clock.now():
        raise InvalidInput("新的到期时间必须晚于现在。", {"due_at": "新的到期时间必须晚于现在。"})
    return reason


@translating_races
def change_due(db: Database, task_id: str, actor: Actor, reason: str, *, due_at: datetime | None = None,
               follow_up_at: datetime | None = None) -> TaskItem:
    """A supervisor gives an open task of their team a new due time and/or follow-up date, with a
    reason (``task_due_changed``). A new due time is the task's dueDate from now on: its escalation
    waits for it, and so does the boundary timer that set its due time (the earliest one)."""
    reason = _checked_change(reason, due_at, follow_up_at)
    with db.unit_of_work() as session:
        row = _require_task(session, task_id, with_case=True)
        _require_open(row)
        access.require_due_change(actor, row)
        payload = {"name": row.name, "reason": reason,
                   "due_at": due_at.isoformat() if due_at else None,
                   "before": row.due_at.isoformat() if due_at and row.due_at else None,
                   "follow_up_at": follow_up_at.isoformat() if follow_up_at else None}
        if due_at is None:  # a follow-up date is the inbox's alone: no workflow to change
            touch_instance(session, row.instance_id)
            record(session, "task_due_changed", actor.name, instance_id=row.instance_id, task_id=row.id,
                   element_id=row.element_id, payload=payload)
        else:
            case = open_case(session, db, instance_record(row, prefix="case_"))
            task = runtime.find_task(case.workflow, task_id)
            if task is None or task.state != TaskState.READY:
                raise Conflict(f"任务「{row.name}」当前不能调整时限（流程状态已变化），请刷新。")
            with running_diagram(case):  # its update listeners run
                case.moved_timers.update(actions.change_due(task, due_at))
            case.note("task_due_changed", actor.name, task, **payload)
            save_case(case, actor.name)
        values = {"due_at": due_at} if due_at else {}
        values.update({"follow_up_at": follow_up_at} if follow_up_at else {})
        session.connection().execute(TASKS.update().where(TASKS.c.id == row.id).values(**values))
        if due_at:
            session.connection().execute(CANDIDATES.update().where(CANDIDATES.c.task_id == row.id)
                                         .values(due_order=due_at))
        return _item(_require_task(session, row.id))
