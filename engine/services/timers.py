"""Timers: fire what is due, start timer-started processes, and tell a scheduler when to wake.

Only rows whose indexed due time has passed are ever loaded: ``instance.next_due_at`` (kept by every
save) and ``start_schedule.next_start_at``. A timer is due once its due time has *passed*
(``due_at < now``), which is SpiffWorkflow's own rule, so a claim and the firing always agree.

Exactly once: a due row is claimed with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises
writers) in the transaction that fires it and moves its due time on, so a second scheduler either
skips the row or finds it no longer due.

Failures: a firing that raises is rolled back, retried after 30 s, 1, 2 and 4 minutes, and the
fifth failure in a row makes the instance an *incident* (status ``incident``, an ``incident`` event
with the message) that waits for a person: ``retry_incident`` after the diagram or data is fixed.

Timer start events (SpiffWorkflow does not start instances itself): ``start_schedule`` holds the
next occurrence per process and follows the newest version; a redeploy with the same timer keeps
the cadence. Occurrences are counted from the deployment: a cycle whose start date lies in the
past begins at its first occurrence after deployment. After downtime, the occurrences missed are
started as *one* case, not one per occurrence (a daily report late three days is written once, now);
its ``timer_fired`` event has the first missed ``due_at`` and ``occurrences`` = how many it covers.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.exc import StaleDataError

from engine import actions, clock, runtime
from engine.errors import BpmdeskError, Conflict, NotFound, ProcessError
from engine.history import GENESIS, assume_head, chain_of, record
from engine.services.deploy import list_definitions, require_latest
from engine.services.steps import (
    INSTANCES,
    InstanceRecord,
    instance_record,
    new_case,
    open_case,
    running_diagram,
    save_case,
)
from engine.services import access
from engine.services.access import Actor
from engine.store import Database, DefinitionVersion, Event, ExternalTask, HumanTask, Instance, WaitingTimer
from engine.compat.timers import Recurrence, recurrence
from engine.store.models import StartSchedule

log = logging.getLogger("bpmdesk.timers")
SCHEDULER = "scheduler"
MAX_ATTEMPTS = 5
BATCH = 32
BATCH_SECONDS = 0.1
AHEAD = timedelta(seconds=5)  # a waiting scheduler parses the cases falling due this soon
AHEAD_MAX = 2000  # at most this many (a parsed case is ~10 KB)
FIRST_RETRY = timedelta(seconds=30)  # doubled after each failure


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """The one retry policy of timers and start schedules: after the ``attempts``-th failure in a
    row, when to try again (30 s, 1, 2, 4 minutes); None: give up, it is an incident."""
    return None if attempts >= MAX_ATTEMPTS else now + FIRST_RETRY * 2 ** (attempts - 1)
TRANSIENT = (OperationalError, InterfaceError, StaleDataError)  # the database, not the diagram


@dataclass(frozen=True)
class TimerItem:
    instance_id: int
    process_id: str
    element_id: str
    name: str | None
    due_at: datetime
    interrupting: bool
    status: str  # running | incident
    kind: str  # interrupting | reminder | dueDate (an open task's, watched by no timer) | externalRetry | externalTask (incident)


@dataclass(frozen=True)
class Firing:
    """What one firing did: fired an instance's timers, started an instance, or failed."""

    outcome: str  # fired | started | retry | incident | conflict (another writer came first)
    process_id: str
    instance_id: int | None
    elements: tuple[str, ...]
    due_at: datetime
    fired_at: datetime
    message: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True)
class Horizon:
    """The earliest due times and the newest deployment: all a scheduler reads while idle."""

    next_due_at: datetime | None
    next_start_at: datetime | None
    latest_definition_id: int | None

    @property
    def wake_at(self) -> datetime | None:
        times = [t for t in (self.next_due_at, self.next_start_at) if t is not None]
        return min(times) if times else None


def horizon(db: Database) -> Horizon:
    """Three index look-ups in one round trip; their cost does not grow with waiting instances."""
    due = (select(Instance.next_due_at)
           .where(Instance.status == "running", Instance.next_due_at.is_not(None))
           .order_by(Instance.next_due_at).limit(1).scalar_subquery())  # a seek on ix_instance_status_due
    start = select(func.min(func.coalesce(StartSchedule.retry_at, StartSchedule.next_start_at),
                            type_=StartSchedule.next_start_at.type)).scalar_subquery()
    latest = select(func.max(DefinitionVersion.id)).scalar_subquery()
    with db.unit_of_work(read_only=True) as session:
        return Horizon(*session.execute(select(due, start, latest)).one())


_WAITING = Instance.status.in_(("running", "incident"))


def list_timers(db: Database) -> list[TimerItem]:
    """Every timer a running case (or one stopped by an incident) waits on, and every open task's
    dueDate still to be noticed (the scheduler wakes for those too), earliest first."""
    watched = select(WaitingTimer.attached_to).where(WaitingTimer.attached_to == HumanTask.id).exists()
    with db.unit_of_work(read_only=True) as session:
        timer_rows = session.execute(
            select(WaitingTimer, Instance.process_id, Instance.status)
            .join(Instance, Instance.id == WaitingTimer.instance_id).where(_WAITING))
        items = [TimerItem(t.instance_id, pid, t.element_id, t.name, t.due_at, t.interrupting, status,
                           "interrupting" if t.interrupting else "reminder")
                 for t, pid, status in timer_rows]
        task_rows = session.execute(
            select(HumanTask, Instance.status).join(Instance, Instance.id == HumanTask.instance_id)
            .where(_WAITING, HumanTask.state == "open", HumanTask.escalated.is_(False),
                   HumanTask.due_at.is_not(None), ~watched))
        items += [TimerItem(t.instance_id, t.process_id, t.element_id, t.name, t.due_at, False, status,
                            "dueDate") for t, status in task_rows]
        items += _failed_external_tasks(session)
    return sorted(items, key=lambda item: item.due_at)


def _failed_external_tasks(session: Session) -> list[TimerItem]:
    """External tasks a worker reported failed: waiting for their retry (KIND externalRetry, due when
    fetchable again) or out of retries (an incident, waiting for a person: ``PUT …/retries``)."""
    rows = session.execute(select(ExternalTask).where(ExternalTask.state == "open",
                                                      ExternalTask.error_message.is_not(None))).scalars()
    return [TimerItem(t.instance_id, t.process_id, t.element_id, t.name, t.lock_expires_at or t.created_at, False,
                      "incident" if t.retries == 0 else "running", "externalTask" if t.retries == 0 else "externalRetry")
            for t in rows]


# --- firing the timers of waiting instances --------------------------------------------------------

@dataclass(frozen=True)
class _Claim:
    instance_id: int
    process_id: str
    due_at: datetime
    lock_version: int
    attempts: int
    record: InstanceRecord  # the row as claimed: opening the case reads it no more


_CLAIM = (select(INSTANCES).where(INSTANCES.c.status == "running", INSTANCES.c.next_due_at < bindparam("now"))
          .order_by(INSTANCES.c.next_due_at).limit(bindparam("limit", type_=Integer)).with_for_update(skip_locked=True))
_CLAIM_ONE = _CLAIM.where(INSTANCES.c.id == bindparam("instance_id"))


def _claim_instances(session: Session, now: datetime, limit: int,
                     instance_id: int | None = None) -> list[_Claim]:
    """The most overdue instances no other scheduler is firing, locked until commit."""
    query, params = (_CLAIM, {}) if instance_id is None else (_CLAIM_ONE, {"instance_id": instance_id})
    records = [instance_record(row) for row in session.connection().execute(query, {"now": now, "limit": limit, **params})]
    return [_Claim(r.id, r.process_id, r.next_due_at, r.lock_version, r.fire_attempts, r) for r in records]


class TimerStuck(ProcessError):
    """SpiffWorkflow did not fire a timer whose due time has passed (a bad timer value)."""


def _fire_instance(session: Session, db: Database, claim: _Claim, now: datetime) -> Firing:
    case = open_case(session, db, claim.record)
    due = [t for t in case.timers_before.values() if t.due_at < now]
    with running_diagram(case):
        actions.fire_timers(case.workflow)
    if case.instance.fire_attempts:
        case.instance.fire_attempts, case.instance.last_error = 0, None
    still = {t.task_id: t.due_at for t in save_case(case, SCHEDULER).timers}
    stuck = [t for t in due if still.get(t.task_id) == t.due_at]
    if stuck:  # raised after the save, so the whole unit of work rolls back
        raise TimerStuck(f"定时器 {stuck[0].element_id} 已于 {stuck[0].due_at.isoformat()} 到期，"
                         "但流程引擎没有触发它。请检查该定时器的设置。")
    return Firing("fired", claim.process_id, claim.instance_id,
                  (*(t.element_id for t in due), *case.overdue), claim.due_at, now)


def fire_next_due(db: Database, now: datetime | None = None,
                  instance_id: int | None = None) -> Firing | None:
    """Fire the timers of the most overdue instance (or of this one, if due); None when none is due."""
    now = now or clock.now()
    claims: list[_Claim] = []
    try:
        with db.unit_of_work() as session:
            claims = _claim_instances(session, now, 1, instance_id)
            return _fire_instance(session, db, claims[0], now) if claims else None
    except TRANSIENT:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the diagram raised is recorded, never lost
        if not claims:
            raise
        return _record_failure(db, claims[0], exc, now)


_UPCOMING = (select(INSTANCES).where(INSTANCES.c.status == "running", INSTANCES.c.next_due_at < bindparam("until"))
             .order_by(INSTANCES.c.next_due_at).limit(bindparam("limit", type_=Integer)))
_NEWER = aliased(Event)
_HEADS = select(Event.chain, Event.seq, Event.hash).where(
    Event.chain.in_(bindparam("chains", expanding=True)),
    Event.seq == select(func.max(_NEWER.seq)).where(_NEWER.chain == Event.chain).scalar_subquery())


def parse_ahead(db: Database, until: datetime, keep_going: Callable[[], bool] = lambda: True) -> int:
    """Parse the cases falling due before ``until`` into this process's workflow cache, earliest
    first, while ``keep_going`` says so (a scheduler stops when they fall due); return how many.

    Deserialising a case and reading the head of its event chain are a fifth of a firing. Done
    while a scheduler would only wait for the due time, they are off the path from due to fired:
    the firing finds both cached. The cache serves an entry only at the version it was read, so a
    case changed meanwhile is simply read again when it fires (and a chain head that moved on
    without it makes the unique (chain, seq) key refuse the batch, which is then fired case by
    case). Nothing is locked.
    """
    cache = runtime.workflow_cache(db)
    if not keep_going():
        return 0
    with db.unit_of_work(read_only=True) as session:
        rows = session.connection().execute(_UPCOMING, {"until": until,
                                                        "limit": min(AHEAD_MAX, cache.size)}).all()
    parsed = 0
    for start in range(0, len(rows), 64):
        with db.unit_of_work(read_only=True) as session:  # its commit hands the workflows to the cache
            records = [instance_record(row) for row in rows[start:start + 64]]
            chains = [chain_of(record.id) for record in records]
            heads = {chain: (seq, hash_) for chain, seq, hash_ in session.execute(_HEADS, {"chains": chains})}
            for record, chain in zip(records, chains):
                if not keep_going():
                    return parsed
                assume_head(session, chain, heads.get(chain, (0, GENESIS)))
                open_case(session, db, record)
                parsed += 1
    return parsed


def fire_due_batch(db: Database, now: datetime | None = None) -> list[Firing]:
    """Fire the most overdue instances together: one transaction, one commit, one block of events.

    A burst of due timers is where commits and event sealing would dominate; batching shares them.
    The batch stops taking on instances after ``BATCH_SECONDS``, so it holds its claims (on SQLite:
    the write lock) briefly and commits soon after each ``fired_at`` it records. If any instance
    fails, the batch is rolled back and each is fired on its own, where failures are counted.
    """
    now = now or clock.now()
    claims: list[_Claim] = []
    try:
        with db.unit_of_work() as session:
            claims = _claim_instances(session, now, BATCH)
            deadline = time.monotonic() + BATCH_SECONDS
            fired = []
            for claim in claims:
                if fired and time.monotonic() > deadline:
                    break  # the rest stay due: committing releases them for the next batch
                fired.append(_fire_instance(session, db, claim, now))
            return fired
    except TRANSIENT:
        raise
    except Exception:  # noqa: BLE001 - isolate the failing instance, see above
        if not claims:
            raise
        return [f for c in claims if (f := fire_next_due(db, now, c.instance_id)) is not None]


def _message(exc: Exception) -> str:
    if isinstance(exc, BpmdeskError):
        return exc.message
    log.error("timer firing failed", exc_info=exc)
    return f"{type(exc).__name__}: {exc}"


def _record_failure(db: Database, claim: _Claim, exc: Exception, now: datetime) -> Firing:
    """Count the failed attempt (once, even if two schedulers tried) and plan a retry or an incident."""
    message, attempts = _message(exc), claim.attempts + 1
    with db.unit_of_work() as session:
        instance = session.get(Instance, claim.instance_id, with_for_update=True)
        if instance is None or instance.lock_version != claim.lock_version:
            return Firing("conflict", claim.process_id, claim.instance_id, (), claim.due_at, now,
                          f"案件在出错期间被修改，不计入失败次数：{message}")
        instance.fire_attempts, instance.last_error = attempts, message[:4000]
        due = session.execute(select(WaitingTimer.element_id, WaitingTimer.due_at).where(
            WaitingTimer.instance_id == claim.instance_id, WaitingTimer.due_at < now)
            .order_by(WaitingTimer.due_at)).all()
        elements, due_at = tuple(e for e, _ in due), (due[0].due_at if due else claim.due_at)
        details = {"message": message, "attempt": attempts, "due_at": due_at.isoformat(),
                   "elements": list(elements)}
        retry = retry_at(attempts, now)
        if retry is None:
            instance.status, instance.next_due_at = "incident", None
            record(session, "incident", SCHEDULER, instance_id=instance.id,
                   definition_id=instance.definition_id, payload=details)
            return Firing("incident", claim.process_id, claim.instance_id, elements, due_at, now, message)
        instance.next_due_at = retry
        record(session, "timer_failed", SCHEDULER, instance_id=instance.id,
               definition_id=instance.definition_id, payload={**details, "retry_at": retry.isoformat()})
        return Firing("retry", claim.process_id, claim.instance_id, elements, due_at, now, message, retry)


def retry_incident(db: Database, instance_id: int, actor: Actor) -> None:
    """Put an instance stopped by an incident back in the scheduler's hands (after a fix)."""
    access.require_admin(actor, "重试出错的案件")
    with db.unit_of_work() as session:
        instance = session.get(Instance, instance_id)
        if instance is None:
            raise NotFound(f"案件 {instance_id} 不存在。")
        if instance.status != "incident":
            raise Conflict(f"案件 {instance_id} 没有出错（状态：{instance.status}），无需重试。")
        record(session, "incident_resolved", actor.name, instance_id=instance_id,
               definition_id=instance.definition_id, payload={"message": instance.last_error})
        instance.status, instance.fire_attempts, instance.last_error = "running", 0, None
        timer = select(func.min(WaitingTimer.due_at)).where(WaitingTimer.instance_id == instance_id)
        due_date = select(func.min(HumanTask.due_at)).where(  # a dueDate may not be noticed yet
            HumanTask.instance_id == instance_id, HumanTask.state == "open", HumanTask.escalated.is_(False))
        instance.next_due_at = min(filter(None, (session.scalar(timer), session.scalar(due_date))), default=None)


# --- starting timer-started processes ---------------------------------------------------------------

def _evaluate_timer(expression: str) -> str:
    """The timer text of a start event (a translated expression, usually a string literal)."""
    try:
        value = runtime.evaluate(expression, {})
        recurrence(str(value), clock.now())
    except Exception as exc:  # noqa: BLE001 - any parse error is the diagram's, reported as such
        raise ProcessError(f"定时启动设置 {expression} 无法解析：{exc}") from exc
    return str(value)


def sync_start_schedules(db: Database) -> None:
    """Make the schedule follow the newest version of every timer-started process.

    A new version with the same timer keeps the cadence; a changed timer starts a new one from
    the new version's deployment; a version without a timer start ends the schedule.
    """
    newest = {d.process_id: d for d in list_definitions(db)}
    try:
        with db.unit_of_work() as session:
            rows = {r.process_id: r for r in session.scalars(select(StartSchedule))}
            for process_id, row in rows.items():
                if not (newest.get(process_id) and newest[process_id].timer_start):
                    session.delete(row)
            for definition in newest.values():
                if definition.timer_start:
                    _sync_one(session, rows.get(definition.process_id), definition)
    except IntegrityError:
        log.info("another scheduler synchronised the start schedules first")


@dataclass(frozen=True)
class StartItem:
    process_id: str
    expression: str
    next_start_at: datetime | None
    remaining: int | None
    last_started_at: datetime | None
    last_instance_id: int | None
    last_error: str | None


def list_start_schedules(db: Database) -> list[StartItem]:
    """When each timer-started process starts next (``None``: no occurrence left)."""
    with db.unit_of_work() as session:
        return [StartItem(r.process_id, r.expression, r.next_start_at, r.remaining, r.last_started_at,
                          r.last_instance_id, r.last_error)
                for r in session.scalars(select(StartSchedule).order_by(StartSchedule.process_id))]


def _sync_one(session: Session, row: StartSchedule | None, definition: DefinitionVersion) -> None:
    if row is not None and row.expression == definition.timer_start:
        row.definition_id = definition.id
        return
    if row is None:
        row = StartSchedule(process_id=definition.process_id, attempts=0)
        session.add(row)
    row.definition_id, row.expression = definition.id, definition.timer_start
    row.attempts, row.retry_at = 0, None
    try:
        plan = recurrence(_evaluate_timer(definition.timer_start), definition.deployed_at)
    except ProcessError as exc:
        row.next_start_at, row.period_seconds, row.remaining, row.last_error = None, None, None, exc.message
        record(session, "incident", SCHEDULER, definition_id=definition.id,
               payload={"process_id": definition.process_id, "message": exc.message})
        return
    row.next_start_at, row.remaining = plan.next_from(definition.deployed_at)
    row.period_seconds = plan.seconds
    row.last_error = None


def _claim_schedule(session: Session, now: datetime) -> StartSchedule | None:
    return session.scalars(
        select(StartSchedule)
        .where(StartSchedule.next_start_at < now,
               (StartSchedule.retry_at.is_(None)) | (StartSchedule.retry_at < now))
        .order_by(StartSchedule.next_start_at).limit(1).with_for_update(skip_locked=True)).first()


def _plan(row: StartSchedule) -> Recurrence:
    """The row's cycle, to step its occurrences by (months and years by the calendar)."""
    return recurrence(_evaluate_timer(row.expression), row.next_start_at)


def _covered(row: StartSchedule, now: datetime) -> int:
    """Occurrences due by now: after downtime they are started once, not once each."""
    if row.period_seconds is None:
        return 1
    count = _plan(row).due_by(row.next_start_at, now)
    return max(1, min(count, row.remaining if row.remaining is not None else count))


def _advance(row: StartSchedule, covered: int) -> None:
    row.remaining = None if row.remaining is None else row.remaining - covered
    if row.period_seconds is None or row.remaining == 0:
        row.next_start_at = None
    else:
        row.next_start_at = _plan(row).after(row.next_start_at, covered)
    row.retry_at, row.attempts = None, 0


def _start_occurrence(session: Session, db: Database, row: StartSchedule, now: datetime) -> Firing:
    due_at, covered = row.next_start_at, _covered(row, now)
    deployed = require_latest(db, session, row.process_id)
    case = new_case(session, db, deployed.id, SCHEDULER, {})
    with running_diagram(case):
        start = actions.start_by_timer(case.workflow, now)
    element = start.task_spec.bpmn_id if start is not None else None
    case.note("timer_fired", SCHEDULER, start, due_at=due_at.isoformat(), fired_at=now.isoformat(),
              name=start.task_spec.bpmn_name if start is not None else None, occurrences=covered)
    save_case(case, SCHEDULER)
    _advance(row, covered)
    row.last_started_at, row.last_instance_id, row.last_error = now, case.instance.id, None
    return Firing("started", row.process_id, case.instance.id, (element,) if element else (), due_at, now)


def start_next_due(db: Database, now: datetime | None = None) -> Firing | None:
    """Start the most overdue occurrence of a timer-started process; None when none is due."""
    now = now or clock.now()
    claimed: tuple[str, datetime, int] | None = None
    try:
        with db.unit_of_work() as session:
            row = _claim_schedule(session, now)
            if row is None:
                return None
            claimed = (row.process_id, row.next_start_at, row.attempts)
            return _start_occurrence(session, db, row, now)
    except TRANSIENT:
        raise
    except Exception as exc:  # noqa: BLE001
        if claimed is None:
            raise
        return _record_start_failure(db, claimed, exc, now)


def _record_start_failure(db: Database, claimed: tuple[str, datetime, int], exc: Exception,
                          now: datetime) -> Firing:
    """Retry the occurrence with growing pauses; after the limit skip it, leaving an incident event."""
    process_id, due_at, attempts = claimed[0], claimed[1], claimed[2] + 1
    message = _message(exc)
    with db.unit_of_work() as session:
        row = session.get(StartSchedule, process_id, with_for_update=True)
        if row is None or row.next_start_at != due_at:
            return Firing("conflict", process_id, None, (), due_at, now,
                          f"该次定时启动已由其他调度器处理：{message}")
        row.attempts, row.last_error = attempts, message[:4000]
        details = {"process_id": process_id, "message": message, "attempt": attempts,
                   "due_at": due_at.isoformat()}
        retry = retry_at(attempts, now)
        if retry is None:
            _advance(row, _covered(row, now))
            row.last_error = message[:4000]
            record(session, "incident", SCHEDULER, definition_id=row.definition_id, payload=details)
            return Firing("incident", process_id, None, (), due_at, now, message)
        row.retry_at = retry
        record(session, "timer_failed", SCHEDULER, definition_id=row.definition_id,
               payload={**details, "retry_at": row.retry_at.isoformat()})
        return Firing("retry", process_id, None, (), due_at, now, message, row.retry_at)


# --- everything due ---------------------------------------------------------------------------------

def fire_due(db: Database, *, on_firing: Callable[[Firing], None] | None = None,
             keep_going: Callable[[], bool] = lambda: True, sync: bool = True) -> list[Firing]:
    """Fire every timer and start every occurrence due now (``BPMDESK_NOW`` respected), each in
    due order; the time is read afresh for each batch, so a long backlog never fires early.
    ``keep_going`` is asked between batches (a scheduler that is stopping says no). ``sync=False``:
    the caller keeps the start schedules in step itself (a scheduler does, on each new deployment),
    so the first firing does not wait for that read (several ms on PostgreSQL)."""
    if sync:
        sync_start_schedules(db)
    done: list[Firing] = []
    for step in (fire_due_batch, _starts, fire_due_batch):  # a started case may be due at once
        while keep_going():
            firings = step(db)
            if not firings:
                break
            done.extend(firings)
            for firing in firings if on_firing is not None else ():
                on_firing(firing)
    return done


def _starts(db: Database) -> list[Firing]:
    firing = start_next_due(db)
    return [firing] if firing is not None else []


def fire_due_timers(db: Database) -> list[int]:
    """The instances whose timers fired or that timers started (for callers that want ids)."""
    return [f.instance_id for f in fire_due(db)
            if f.instance_id is not None and f.outcome in ("fired", "started")]
