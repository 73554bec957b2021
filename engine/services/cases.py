"""Cases (process instances): start, cancel, look at."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine import clock, forms, limits, runtime
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.history import record
from engine.services.deploy import list_definitions, require_latest
from engine.services.steps import new_case, open_case, running_diagram, save_case, translating_races
from engine.services.users import ADMIN_GROUP, AUDITOR_GROUP, groups_of
from engine.services.work import TaskItem, _item
from engine.store import Database, DefinitionVersion, Event, HumanTask

CANCEL_GROUPS = {ADMIN_GROUP, "cs-manager", "cs-supervisor"}
MAX_REASON = 500


def may_start(definition: DefinitionVersion | runtime.Deployed, groups: set[str]) -> bool:
    """``camunda:candidateStarterGroups``: nobody listed means anyone may start."""
    return not definition.start_groups or bool(groups & set(definition.start_groups))


def start_form(db: Database, process_id: str) -> list[forms.FormField]:
    """The start event's form fields, for the "start a case" page."""
    with db.unit_of_work(read_only=True) as session:
        return runtime.start_fields(require_latest(db, session, process_id).specs)


def startable(db: Database, actor: str) -> list[DefinitionVersion]:
    """Processes this person may start by hand (timer-started ones start themselves)."""
    with db.unit_of_work(read_only=True) as session:
        groups = groups_of(session, actor)
    return [d for d in list_definitions(db) if may_start(d, groups) and not d.timer_start]


@translating_races
def start_instance(db: Database, process_id: str, actor: str | None = None,
                   data: dict[str, Any] | None = None) -> int:
    """Start a case of the newest version and run it to its first wait. ``actor=None``: the operator."""
    limits.check_value(data or {})
    with db.unit_of_work() as session:
        definition = require_latest(db, session, process_id)
        if actor is not None and not may_start(definition, groups_of(session, actor)):
            raise Forbidden(f"您所在的组不能发起流程「{definition.name or process_id}」。")
        fields = runtime.start_fields(definition.specs)
        values = forms.validate(fields, data or {}, user=actor) if fields else dict(data or {})
        case = new_case(session, db, definition.id, actor or "cli", values)
        with running_diagram(case):
            case.workflow.do_engine_steps()
        save_case(case, actor or "cli")
        return case.instance.id


@translating_races
def cancel_instance(db: Database, instance_id: int, actor: str | None, reason: str) -> None:
    """Stop a running case for good: its open tasks close, its timers stop; the reason is recorded."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        message = "请填写撤销原因。" if not reason else f"撤销原因不能超过 {MAX_REASON} 个字。"
        raise InvalidInput(message, {"reason": message})
    with db.unit_of_work() as session:
        case = open_case(session, db, instance_id)
        if not _may_cancel(case.instance, actor, groups_of(session, actor) if actor else set()):
            raise Forbidden("只有发起人、客服主管、客服经理或管理员可以撤销案件。")
        if case.instance.status != "running":
            raise Forbidden(f"案件 {instance_id} 已{_STATUS_ZH.get(case.instance.status, case.instance.status)}，不能撤销。")
        case.workflow.cancel()
        case.instance.status = "cancelled"
        case.instance.ended_at = clock.now()
        case.note("instance_cancelled", actor or "cli", reason=reason)
        save_case(case, actor or "cli")


_STATUS_ZH = {"running": "进行中", "completed": "完成", "cancelled": "撤销", "incident": "出错"}


@dataclass(frozen=True)
class InstanceView:
    id: int
    process_id: str
    process_name: str | None
    version: int
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    next_due_at: datetime | None
    data: dict[str, Any]
    open_tasks: list[TaskItem]
    all_tasks: list[TaskItem]
    timers: list[runtime.WaitingTimer]
    completed_elements: set[str]
    active_elements: set[str]
    bpmn: bytes
    labels: runtime.FormLabels
    can_cancel: bool  # whether the one asking may cancel the case now

    @property
    def status_zh(self) -> str:
        return _STATUS_ZH.get(self.status, self.status)


def _may_cancel(instance: Any, user: str | None, groups: set[str]) -> bool:
    """The person who started the case, customer-service supervisors and managers, administrators."""
    return user is None or bool(groups & CANCEL_GROUPS) or instance.started_by == user


def _may_view(instance: Any, tasks: list[TaskItem], user: str, groups: set[str]) -> bool:
    """Whoever started the case or had a part in one of its tasks, and auditors."""
    if AUDITOR_GROUP in groups or instance.started_by == user:
        return True
    return any(user in (t.assignee, t.owner, t.completed_by) or user in t.candidate_users
               or groups & set(t.candidate_groups) for t in tasks)


def show_instance(db: Database, instance_id: int, actor: str | None = None) -> InstanceView:
    """Status, data, tasks and waiting timers of one case; ``actor`` must have a part in it."""
    with db.unit_of_work(read_only=True) as session:
        case = open_case(session, db, instance_id)
        instance, workflow, deployed = case.instance, case.workflow, case.deployed
        seen = runtime.snapshot(workflow)
        tasks = [_item(r) for r in session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.created_at))]
        groups = groups_of(session, actor) if actor is not None else set()
        if actor is not None and not _may_view(instance, tasks, actor, groups):
            raise Forbidden(f"您无权查看案件 {instance_id}。")
        view = InstanceView(
            id=instance.id, process_id=instance.process_id, process_name=deployed.name,
            version=deployed.version, status=instance.status,
            started_at=instance.started_at, started_by=instance.started_by, ended_at=instance.ended_at,
            next_due_at=instance.next_due_at, data=runtime.case_data(workflow, seen.ready),
            open_tasks=[t for t in tasks if t.state == "open"], all_tasks=tasks, timers=seen.timers,
            completed_elements=set(instance.trail) | seen.completed, active_elements=seen.active,
            bpmn=deployed.bpmn, labels=runtime.form_labels(deployed.specs),
            can_cancel=instance.status == "running" and _may_cancel(instance, actor, groups),
        )
    if AUDITOR_GROUP in groups:  # what an auditor looks at is itself on the record (the read took no write lock)
        with db.unit_of_work() as session:
            record(session, "audit_viewed", actor, payload={"view": "case", "instance_id": instance_id})
    return view


def history(db: Database, instance_id: int) -> list[Event]:
    """The instance's events in order (who, when, what)."""
    with db.unit_of_work(read_only=True) as session:
        events = list(session.scalars(
            select(Event).where(Event.chain == f"i:{instance_id}").order_by(Event.seq)))
        if not events:
            raise NotFound(f"案件 {instance_id} 不存在。")
        return events
