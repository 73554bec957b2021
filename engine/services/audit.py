"""Auditing: verify the history, replay a case, search cases, export event logs.

Read-only for cases; for auditors and the operator (``access``). Whatever an auditor looks at
is itself recorded as an ``audit_viewed`` event in the system chain, in a short unit of work of
its own once the read has succeeded (and before anything is shown): the read itself then takes no
write lock on SQLite, so a long replay never holds up the desk. The operator's reads are not
recorded: whoever runs the CLI already holds the database.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, BinaryIO

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from engine import audit, clock, runtime
from engine.errors import InvalidInput, NotFound
from engine.foureyes import checks_of
from engine.history import chain_of, record
from engine.services import access
from engine.services.access import Actor
from engine.store import Database, DefinitionVersion, Event, HumanTask, Instance

STATUSES = ("running", "completed", "cancelled", "incident")
FORMATS = audit.FORMATS


def _may_view(viewer: Actor) -> None:
    access.require_auditor(viewer)


def _log_view(db: Database, viewer: Actor, view: str, **details: Any) -> None:
    if not viewer.operator:
        with db.unit_of_work() as session:
            record(session, "audit_viewed", viewer.name, payload={"view": view, **details})


def parse_period(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """From/to as typed by a person: an ISO date or time; a bare ``to`` date includes that day."""
    def bound(text: str | None, is_end: bool) -> datetime | None:
        text = (text or "").strip()
        if not text:
            return None
        try:
            if len(text) == 10:
                day = date.fromisoformat(text) + timedelta(days=1 if is_end else 0)
                return datetime.combine(day, time(), clock.local_tz()).astimezone(timezone.utc)
            return clock.parse_time(text)
        except OverflowError:  # 0001-01-01 or 9999-12-31 in another zone, or the day after
            raise InvalidInput(f"时间「{text}」超出可查询的范围。") from None
        except ValueError:
            raise InvalidInput(f"时间「{text}」不是 ISO 格式（例如 2026-03-01 或 2026-03-01T09:00）。") from None

    lower, upper = bound(start, False), bound(end, True)
    if lower is not None and upper is not None and upper <= lower:
        raise InvalidInput("结束时间必须晚于开始时间。")
    return lower, upper


def verify_history(db: Database, viewer: Actor, noted_head: str | None = None) -> audit.VerifyReport:
    """Check every chain and the global chain (`bpmdesk audit verify`); ``noted_head``: a head
    printed by an earlier run, which must still be in the chain."""
    access.require_auditor(viewer)
    with db.unit_of_work(read_only=True) as session:
        return audit.verify(session, noted_head)


def replay(db: Database, instance_id: int, viewer: Actor, *, event: int | None = None,
           at: datetime | None = None) -> audit.ReplayResult:
    """Rebuild a case from its events; compared with the stored state unless stopped early."""
    if event is not None and at is not None:
        raise InvalidInput("只能指定事件序号或时刻之一。")
    with db.unit_of_work(read_only=True) as session:
        _may_view(viewer)
        result = audit.replay_instance(db, session, instance_id, until_seq=event, until_at=at)
    _log_view(db, viewer, "replay", instance_id=instance_id, event=event, at=at.isoformat() if at else None)
    return result


def export_log(db: Database, fmt: str, out: BinaryIO, viewer: Actor, *, process_id: str | None = None,
               started_from: datetime | None = None, started_to: datetime | None = None) -> audit.ExportCount:
    """Write an XES or CSV event log of the chosen cases to ``out``."""
    if fmt not in audit.FORMATS:
        raise InvalidInput(f"未知的导出格式 {fmt}（可选：{', '.join(audit.FORMATS)}）。")
    with db.unit_of_work(read_only=True) as session:
        _may_view(viewer)
    _log_view(db, viewer, "export", format=fmt, process_id=process_id,
              started_from=started_from.isoformat() if started_from else None,
              started_to=started_to.isoformat() if started_to else None)
    with db.unit_of_work(read_only=True) as session:
        return audit.export_log(session, fmt, out, audit.LogFilter(process_id, started_from, started_to))


def four_eyes(db: Database, viewer: Actor, *, process_id: str | None = None, checked_from: datetime | None = None,
              checked_to: datetime | None = None) -> audit.FourEyesReport:
    """Every doer/checker pair of the checked steps (``bpmdesk audit four-eyes``), for the checks
    completed in the period; its violations are pairs where the checker did the step."""
    with db.unit_of_work(read_only=True) as session:
        _may_view(viewer)
        query = select(DefinitionVersion.id)
        if process_id:
            query = query.where(DefinitionVersion.process_id == process_id)
        checks = {definition_id: found for definition_id in session.scalars(query)
                  if (found := checks_of(runtime.deployed(db, session, definition_id).specs))}
        report = audit.four_eyes_pairs(session, checks, checked_from, checked_to)
    _log_view(db, viewer, "four_eyes", process_id=process_id,
              checked_from=checked_from.isoformat() if checked_from else None,
              checked_to=checked_to.isoformat() if checked_to else None)
    return report


@dataclass(frozen=True)
class CaseSummary:
    id: int
    process_id: str
    process_name: str | None
    version: int
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    customer_name: str | None
    phone: str | None
    room: str | None
    overdue: bool


@dataclass
class CaseQuery:
    """What an auditor searches by; every field is optional."""

    process_id: str | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    actor: str | None = None
    status: str | None = None
    overdue: bool = False
    page: int = 1
    per_page: int = 25


@dataclass(frozen=True)
class CasePage:
    items: list[CaseSummary]
    total: int
    page: int
    per_page: int


def _overdue_now() -> Any:
    return exists().where(HumanTask.instance_id == Instance.id, HumanTask.state == "open",
                          HumanTask.due_at < clock.now())


def _case_conditions(query: CaseQuery) -> list[Any]:
    if query.status and query.status not in STATUSES:
        raise InvalidInput(f"未知的状态 {query.status}（可选：{', '.join(STATUSES)}）。")
    conditions: list[Any] = []
    if query.process_id:
        conditions.append(Instance.process_id == query.process_id)
    if query.started_from is not None:
        conditions.append(Instance.started_at >= query.started_from)
    if query.started_to is not None:
        conditions.append(Instance.started_at < query.started_to)
    if query.status:
        conditions.append(Instance.status == query.status)
    if query.actor:
        conditions.append(exists().where(Event.instance_id == Instance.id, Event.actor == query.actor))
    if query.overdue:
        conditions.append(_overdue_now())
    return conditions


def search_cases(db: Database, query: CaseQuery, viewer: Actor) -> CasePage:
    """Cases by procedure, start date, anyone who acted on them, status, overdue; newest first."""
    conditions = _case_conditions(query)
    page, per_page = max(query.page, 1), min(max(query.per_page, 1), 500)
    with db.unit_of_work(read_only=True) as session:
        _may_view(viewer)
        total = session.scalar(select(func.count(Instance.id)).where(*conditions))
        rows = session.execute(
            select(Instance, DefinitionVersion.name, DefinitionVersion.version,
                   _overdue_now().label("overdue"))
            .join(DefinitionVersion, DefinitionVersion.id == Instance.definition_id)
            .where(*conditions).order_by(Instance.started_at.desc(), Instance.id.desc())
            .limit(per_page).offset((page - 1) * per_page))
        found = CasePage([_summary(i, name, version, overdue) for i, name, version, overdue in rows],
                         total or 0, page, per_page)
    _log_view(db, viewer, "search", **{k: (v.isoformat() if isinstance(v, datetime) else v)
                                       for k, v in vars(query).items()})
    return found


def _summary(instance: Instance, name: str | None, version: int, overdue: bool) -> CaseSummary:
    return CaseSummary(instance.id, instance.process_id, name, version, instance.status,
                       instance.started_at, instance.started_by, instance.ended_at,
                       instance.customer_name, instance.phone, instance.room, bool(overdue))


@dataclass(frozen=True)
class TimelineEntry:
    """One event as a reader wants it: who, when, what, and which data it changed."""

    seq: int
    at: datetime
    actor: str
    type: str
    element_id: str | None
    name: str | None
    changes: tuple[tuple[str, Any, Any], ...]  # (field, before, after)
    payload: dict[str, Any]


def timeline_entry(event: Event) -> TimelineEntry:
    payload = event.payload or {}
    if event.type == "task_completed":
        changes = tuple((k, old, new) for k, (old, new) in sorted((payload.get("changed") or {}).items()))
    elif event.type == "instance_started":
        changes = tuple((k, None, v) for k, v in sorted((payload.get("data") or {}).items()))
    else:
        changes = ()
    return TimelineEntry(event.seq, event.at, event.actor, event.type, event.element_id,
                         payload.get("name"), changes, payload)


@dataclass(frozen=True)
class AuditCase:
    """A case as an auditor sees it: its whole timeline and its state as of one chosen event."""

    summary: CaseSummary
    timeline: list[TimelineEntry]
    as_of: int  # seq of the event the snapshot stands at
    replay: audit.ReplayResult
    bpmn: bytes
    labels: runtime.FormLabels  # form labels and option names, to show data as the forms did


def audit_case(db: Database, instance_id: int, viewer: Actor, as_of: int | None = None) -> AuditCase:
    """Timeline plus the replayed state as of event ``as_of`` (default: the newest event)."""
    with db.unit_of_work(read_only=True) as session:
        _may_view(viewer)
        events = list(session.scalars(
            select(Event).where(Event.chain == chain_of(instance_id)).order_by(Event.seq)))
        instance = session.get(Instance, instance_id)
        if instance is None or not events:
            raise NotFound(f"案件 {instance_id} 不存在。")
        last = events[-1].seq
        seq = last if as_of is None else min(max(as_of, 1), last)
        result = audit.replay_instance(db, session, instance_id, until_seq=None if seq == last else seq)
        deployed = runtime.deployed(db, session, instance.definition_id)
        overdue = session.scalar(select(_overdue_now()).where(Instance.id == instance_id))
        found = AuditCase(_summary(instance, deployed.name, deployed.version, overdue),
                          [timeline_entry(e) for e in events], seq, result, deployed.bpmn,
                          runtime.form_labels(deployed.specs))
    _log_view(db, viewer, "case", instance_id=instance_id, as_of=seq)
    return found
