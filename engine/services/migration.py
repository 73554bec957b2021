"""Bulk migration of open cases to another version of their process, with a dry run first.

The analyst picks the version to move to and, for each element the cases wait on that the new
version no longer has, the element that takes its place. The dry run says per case whether it is
safe and why not; the migration then moves the safe ones, each case in its own unit of work
(one that fails or changed meanwhile stays where it is), in batches: running it again continues
with the cases still on the old version. Each move is the event `instance_migrated` (from, to,
mapping, changed timers' new due times, who), which replay applies with the same action
(`engine.actions.migrate`); a case whose last event is its migration can be moved back.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import runtime
from engine.actions import migration
from engine.errors import BpmdeskError, Conflict, InvalidInput, NotFound
from engine.history import chain_of
from engine.services import access
from engine.services.access import Actor
from engine.services.deploy import OPEN_STATUSES, get_version
from engine.services.steps import (INSTANCES, TASKS, WITHDRAW_OFFERS, Case, _task_row,
                                   _sync_timer_rows, offer_to_candidates, open_case, running_diagram, save_case,
                                   translating_races)
from engine.store import Database, Event, Instance

MIGRATED = "instance_migrated"
MAX_BATCH = 1000


@dataclass(frozen=True)
class CaseCheck:
    """The dry run of one case."""

    instance_id: int
    label: str  # business key or customer, to recognise the case by
    waiting_on: list[str]  # the elements it is at
    safe: bool
    reasons: list[str]
    notes: list[str]
    unmapped: list[str]  # elements it waits on that the new version lacks, for the analyst to map


@dataclass
class MigrationRun:
    migrated: list[int] = field(default_factory=list)
    unsafe: list[CaseCheck] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    remaining: int = 0  # open cases still on the old version after this batch


def _versions(db: Database, from_id: int, to_id: int) -> None:
    old, new = get_version(db, from_id), get_version(db, to_id)
    if old.process_id != new.process_id:
        raise InvalidInput(f"v{old.version}（{old.process_id}）与 v{new.version}（{new.process_id}）不是同一个流程。")
    if from_id == to_id:
        raise InvalidInput("请选择另一个版本作为迁移目标。")


def _open_ids(session: Session, definition_id: int, limit: int | None = None,
              only: list[int] | None = None) -> list[int]:
    query = (select(Instance.id).where(Instance.definition_id == definition_id,
                                       Instance.status.in_(OPEN_STATUSES)).order_by(Instance.id))
    if only is not None:
        query = query.where(Instance.id.in_(only))
    return list(session.scalars(query.limit(limit) if limit else query))


def dry_run(db: Database, from_id: int, to_id: int, mapping: Mapping[str, str], actor: Actor,
            *, limit: int | None = None) -> list[CaseCheck]:
    """Per open case of `from_id`: safe or not and why, and what would change; nothing is written."""
    access.require_deployer(actor)
    _versions(db, from_id, to_id)
    with db.unit_of_work(read_only=True) as session:
        new = runtime.deployed(db, session, to_id)
        return [_check(open_case(session, db, instance_id), new, mapping)
                for instance_id in _open_ids(session, from_id, limit)]


def _check(case: Case, new: runtime.Deployed, mapping: Mapping[str, str]) -> CaseCheck:
    found = migration.plan(runtime.SPEC_REGISTRY, case.workflow, new.specs, mapping)
    instance = case.instance
    label = instance.business_key or " ".join(v for v in (instance.customer_name, instance.room) if v)
    return CaseCheck(instance.id, label, list(migration.active_elements(case.workflow)), found.safe,
                     found.reasons, found.notes, found.unmapped)


def target_elements(db: Database, to_id: int, actor: Actor) -> list[tuple[str, str]]:
    """(id, name) of the elements of a version a case can wait at: what a removed element may be
    mapped to (not gateways, start or end events)."""
    access.require_deployer(actor)
    with db.unit_of_work(read_only=True) as session:
        specs = runtime.deployed(db, session, to_id).specs
    found = {s.bpmn_id: s.bpmn_name or s.bpmn_id for spec in (specs[0], *specs[1].values())
             for s in spec.task_specs.values()
             if getattr(s, "bpmn_id", None) and not any(k in type(s).__name__ for k in _NOT_WAITING)}
    return sorted(found.items())


_NOT_WAITING = ("Gateway", "StartEvent", "EndEvent", "Join", "Split")


def migrate_cases(db: Database, from_id: int, to_id: int, mapping: Mapping[str, str], actor: Actor,
                  *, batch: int = 100, only: list[int] | None = None) -> MigrationRun:
    """Move up to `batch` open cases of `from_id` (or those of `only`) that are safe to `to_id`."""
    access.require_deployer(actor)
    _versions(db, from_id, to_id)
    if not 0 < batch <= MAX_BATCH:
        raise InvalidInput(f"每批迁移 1 到 {MAX_BATCH} 件。")
    run = MigrationRun()
    with db.unit_of_work(read_only=True) as session:
        candidates = _open_ids(session, from_id, None, only)
    for instance_id in candidates:
        if len(run.migrated) >= batch:
            break
        try:
            check = _migrate_one(db, instance_id, from_id, to_id, mapping, actor)
        except BpmdeskError as error:
            run.failed.append((instance_id, str(error)))
            continue
        if check is not None:
            run.unsafe.append(check)
        else:
            run.migrated.append(instance_id)
    with db.unit_of_work(read_only=True) as session:
        run.remaining = len(_open_ids(session, from_id, None, only))
    return run


@translating_races
def _migrate_one(db: Database, instance_id: int, from_id: int, to_id: int, mapping: Mapping[str, str],
                 actor: Actor, previous: dict[str, str] | None = None) -> CaseCheck | None:
    """One case in its own unit of work; its dry run when it is not safe (nothing written)."""
    with db.unit_of_work() as session:
        case = open_case(session, db, instance_id)
        if case.instance.definition_id != from_id:
            raise Conflict(f"案件 {instance_id} 已不在 v{case.deployed.version} 上。")
        old, new = case.deployed, runtime.deployed(db, session, to_id)
        found = migration.plan(runtime.SPEC_REGISTRY, case.workflow, new.specs, mapping)
        if not found.safe:
            return _check(case, new, mapping)
        dues = {**found.dues, **(previous or {})}
        before = _due_values(case, dues)
        with running_diagram(case):
            migration.migrate(runtime.SPEC_REGISTRY, case.workflow, new.specs, found.mapped, dues)
        _move_row(case, new)
        _refresh_open_rows(case)
        _moved_timers(case)
        save_case(case, actor.name)
        case.note(MIGRATED, actor.name, from_definition=old.id, to_definition=new.id,
                  from_version=old.version, to_version=new.version, mapping=found.mapped, dues=dues,
                  previous_dues=before, notes=found.notes)
    return None


def _due_values(case: Case, dues: Mapping[str, str]) -> dict[str, str]:
    """The due times the changed timers had, so that migrating back restores them."""
    return {t.task_spec.bpmn_id: t.internal_data["event_value"] for t in case.workflow.get_tasks()
            if t.task_spec.bpmn_id in dues and isinstance(t.internal_data.get("event_value"), str)}


def _moved_timers(case: Case) -> None:
    """A timer given a new due time by the migration neither fired nor was cancelled: its row is
    rewritten here, and the save sees it as it is now (it would record a changed due as a firing)."""
    timers = runtime.waiting_timers(case.workflow)
    _sync_timer_rows(case, timers)
    case.timers_before = {t.task_id: t for t in timers}


def _move_row(case: Case, new: runtime.Deployed) -> None:
    case.session.execute(update(INSTANCES).where(INSTANCES.c.id == case.instance.id)
                         .values(definition_id=new.id))
    case.instance.definition_id = new.id
    case.deployed = new


def _refresh_open_rows(case: Case) -> None:
    """The open tasks' inbox rows as the new version assigns and names them (a claim is kept)."""
    for task in runtime.open_user_tasks(case.workflow):
        row = _task_row(case, task, runtime.waiting_timers(case.workflow), case.instance.updated_at)
        kept = case.session.execute(select(TASKS.c.assignee).where(TASKS.c.id == row["id"])).first()
        if kept is None:
            continue
        case.session.execute(update(TASKS).where(TASKS.c.id == row["id"]).values(
            element_id=row["element_id"], name=row["name"], candidate_groups=row["candidate_groups"],
            candidate_users=row["candidate_users"], due_at=row["due_at"]))
        WITHDRAW_OFFERS.run(case.session, task=row["id"])
        if kept.assignee is None:
            offer_to_candidates(case.session, [row])


def migrate_back(db: Database, instance_id: int, actor: Actor) -> None:
    """Undo a migration while nothing else has happened to the case since."""
    access.require_deployer(actor)
    with db.unit_of_work(read_only=True) as session:
        last = session.scalars(select(Event).where(Event.chain == chain_of(instance_id))
                               .order_by(Event.seq.desc()).limit(1)).first()
    if last is None:
        raise NotFound(f"案件 {instance_id} 不存在。")
    if last.type != MIGRATED:
        raise Conflict(f"案件 {instance_id} 迁移之后已有新的办理记录（或从未迁移），不能迁回。")
    payload = last.payload
    back = {new: old for old, new in (payload.get("mapping") or {}).items()}
    check = _migrate_one(db, instance_id, payload["to_definition"], payload["from_definition"], back, actor,
                         previous=payload.get("previous_dues") or {})
    if check is not None:
        raise Conflict(f"案件 {instance_id} 不能迁回：{'；'.join(check.reasons)}")

