"""Cases (process instances): start, cancel, look at."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import actions, clock, forms, limits, runtime
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.history import record
from engine.services.deploy import list_definitions, require_latest
from engine.services.steps import new_case, open_case, running_diagram, save_case, translating_races
from engine.services import access
from engine.services.access import AUDITOR_GROUP, Actor
from engine.services.work import TaskItem, _item
from engine.store import Database, DefinitionVersion, Event, HumanTask

MAX_REASON = 500


def may_start(definition: DefinitionVersion | runtime.Deployed, actor: Actor) -> bool:
    """Whether ``actor`` may start this process (see ``access.may_start``)."""
    return access.may_start(actor, definition.start_groups)


def start_form(db: Database, process_id: str) -> list[forms.FormField]:
    """The start event's form fields, for the "start a case" page."""
    with db.unit_of_work(read_only=True) as session:
        return runtime.start_fields(require_latest(db, session, process_id).specs)


def uses_business_key(db: Database, process_id: str) -> bool:
    """Whether the newest version reads its business key or waits for messages (the start page asks)."""
    with db.unit_of_work(read_only=True) as session:
        return runtime.uses_business_key(require_latest(db, session, process_id))


def startable(db: Database, actor: Actor) -> list[DefinitionVersion]:
    """Processes this person may start by hand (timer-started ones start themselves)."""
    return [d for d in list_definitions(db) if may_start(d, actor) and not d.timer_start]


@translating_races
def start_instance(db: Database, process_id: str, actor: Actor,
                   data: dict[str, Any] | None = None, business_key: str | None = None) -> int:
    """Start a case of the newest version and run it to its first wait.
    ``business_key``: Camunda's business key of the case (messages correlate by it)."""
    business_key = checked_business_key(business_key)
    limits.check_value(data or {})
    with db.unit_of_work() as session:
        definition = require_latest(db, session, process_id)
        if not may_start(definition, actor):
            raise Forbidden(f"您所在的组不能发起流程「{definition.name or process_id}」。")
        fields = runtime.start_fields(definition.specs)
        values = forms.validate(fields, data or {}, user=actor.name) if fields else dict(data or {})
        case = new_case(session, db, definition.id, actor.name, values, business_key)
        with running_diagram(case):
            try:
                actions.enter(case.workflow)
            except ValueError as exc:  # several message starts, no none start: nothing is saved
                raise InvalidInput(str(exc)) from exc
        save_case(case, actor.name)
        return case.instance.id


MAX_BUSINESS_KEY = 255


def checked_business_key(key: Any) -> str | None:
    """A business key as given (blank = none); too long or not text is the caller's mistake."""
    if key is None:
        return None
    if not isinstance(key, str) or len(key.strip()) > MAX_BUSINESS_KEY:
        raise InvalidInput(f"业务键必须是不超过 {MAX_BUSINESS_KEY} 个字符的文本。")
    return key.strip() or None


@translating_races
def cancel_instance(db: Database, instance_id: int, actor: Actor, reason: str) -> None:
    """Stop a running case for good: its open tasks close, its timers stop; the reason is recorded."""
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        message = "请填写撤销原因。" if not reason else f"撤销原因不能超过 {MAX_REASON} 个字。"
        raise InvalidInput(message, {"reason": message})
    with db.unit_of_work() as session:
        case = open_case(session, db, instance_id)
        if not access.may_cancel(actor, case.instance.started_by):
            raise Forbidden("只有发起人、客服主管、客服经理或管理员可以撤销案件。")
        if case.instance.status != "running":
            raise Forbidden(f"案件 {instance_id} 已{_STATUS_ZH.get(case.instance.status, case.instance.status)}，不能撤销。")
        with running_diagram(case):  # the end and delete listeners of what is cancelled run
            actions.cancel(case.workflow)
        case.instance.status = "cancelled"
        case.instance.ended_at = clock.now()
        case.note("instance_cancelled", actor.name, reason=reason)
        save_case(case, actor.name)


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
    business_key: str | None = None

    @property
    def status_zh(self) -> str:
        return _STATUS_ZH.get(self.status, self.status)


def _case_tasks(session: Session, instance_id: int) -> list[TaskItem]:
    return [_item(r) for r in session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.created_at))]


def _require_view(actor: Actor, instance_id: int, started_by: str, tasks: list[TaskItem]) -> None:
    if not access.may_view_case(actor, started_by, tasks):
        raise Forbidden(f"您无权查看案件 {instance_id}。")


def show_instance(db: Database, instance_id: int, actor: Actor) -> InstanceView:
    """Status, data, tasks and waiting timers of one case; ``actor`` must have a part in it."""
    with db.unit_of_work(read_only=True) as session:
        case = open_case(session, db, instance_id)
        instance, workflow, deployed = case.instance, case.workflow, case.deployed
        seen = runtime.snapshot(workflow)
        tasks = _case_tasks(session, instance_id)
        _require_view(actor, instance_id, instance.started_by, tasks)
        view = InstanceView(
            id=instance.id, process_id=instance.process_id, process_name=deployed.name,
            version=deployed.version, status=instance.status,
            started_at=instance.started_at, started_by=instance.started_by, ended_at=instance.ended_at,
            next_due_at=instance.next_due_at, data=runtime.case_data(workflow, seen.ready),
            open_tasks=[t for t in tasks if t.state == "open"], all_tasks=tasks, timers=seen.timers,
            completed_elements=set(instance.trail) | seen.completed, active_elements=seen.active,
            bpmn=deployed.bpmn, labels=runtime.form_labels(deployed.specs),
            can_cancel=instance.status == "running" and access.may_cancel(actor, instance.started_by),
            business_key=instance.business_key,
        )
    if AUDITOR_GROUP in actor.groups:  # what an auditor looks at is itself on the record (the read took no write lock)
        with db.unit_of_work() as session:
            record(session, "audit_viewed", actor.name, payload={"view": "case", "instance_id": instance_id})
    return view


def history(db: Database, instance_id: int, actor: Actor) -> list[Event]:
    """The instance's events in order (who, when, what); for those who may view the case."""
    with db.unit_of_work(read_only=True) as session:
        events = list(session.scalars(
            select(Event).where(Event.chain == f"i:{instance_id}").order_by(Event.seq)))
        if not events:
            raise NotFound(f"案件 {instance_id} 不存在。")
        if not actor.operator:
            _require_view(actor, instance_id, events[0].actor, _case_tasks(session, instance_id))
        return events
