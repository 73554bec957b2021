"""External tasks: workers fetch and lock them by topic, then complete them, report a failure
(retries, then an incident) or a BPMN error — the Camunda 7 external task pattern.

The ``external_task`` rows are derived from the workflow on every save of a process that has
external tasks (``sync_rows``), like ``human_task``; the lock, retries and error message live only
there, because the workflow knows nothing of workers. Locking is a compare-and-set on those rows:
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (two workers never get one task), the write lock on SQLite.
A lock that expires makes the task fetchable again. Every call that changes something is an event
of the case with its actor; the answers that move the workflow go through :mod:`engine.actions.external`,
which the replay calls too.

Long polling: a fetch that finds nothing waits on this process's doorbell, rung after a commit that
created or released an external task; on PostgreSQL a ``NOTIFY`` in the same transaction rings the
doorbells of the other processes (a listener thread per process), so a waiting worker gets a new
task within milliseconds, whichever web worker it is connected to.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import bindparam, or_, select, text
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState

from engine import clock, runtime
from engine.actions import external
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.services import steps
from engine.services.steps import Case, open_case, running_diagram, save_case, translating_races, write_instance
from engine.services import access
from engine.services.access import Actor
from engine.store import Database, ExternalTask
from engine.store.unit_of_work import unit_of
from engine.store.prepared import Prepared

log = logging.getLogger(__name__)
CHANNEL = "bpmdesk_external_task"
MAX_TASKS = 100
MAX_WAIT_SECONDS = 1800.0  # Camunda's cap on asyncResponseTimeout (30 minutes)
MAX_LOCK_MS = 7 * 24 * 3600 * 1000
ROWS = ExternalTask.__table__


# --- rows derived from the workflow ---------------------------------------------------------------

_OPEN_ROWS = Prepared(select(ROWS.c.id).where(ROWS.c.instance_id == bindparam("instance"), ROWS.c.state == "open"))
_CLOSE_ROW = Prepared(ROWS.update().where(ROWS.c.id == bindparam("task"), ROWS.c.state == "open")
                      .values(state=bindparam("new_state"), ended_at=bindparam("at"), worker_id=None,
                              lock_expires_at=None))
_INSERT_ROWS = Prepared(ROWS.insert(), columns=[c.name for c in ROWS.columns])


def sync_rows(case: Case, actor: str, now: datetime) -> None:
    """Open a row for each external task the workflow now waits on, close the rows of those it no
    longer waits on (completed by a worker, or cancelled: a boundary event, the case cancelled)."""
    if not external.has_external(case.deployed.specs):
        return
    waiting = {str(task.id): task for task in external.waiting(case.workflow)}
    known = {row.id for row in _OPEN_ROWS.all(case.session, instance=case.instance.id)}
    for task_id in sorted(known - waiting.keys()):
        done = task_id in case.completed
        _CLOSE_ROW.run(case.session, task=task_id, new_state="completed" if done else "cancelled", at=now)
        if not done:
            case.note("external_task_cancelled", actor, runtime.find_task(case.workflow, task_id))
    new = [task for task_id, task in waiting.items() if task_id not in known]
    if not new:
        return
    rows = [_row(case, task, now) for task in new]
    _INSERT_ROWS.run_many(case.session, rows)
    for task, row in zip(new, rows):
        case.note("external_task_created", actor, task, name=row["name"], topic=row["topic"],
                  priority=row["priority"])
    ring_after_commit(case.session)


def _row(case: Case, task: Any, now: datetime) -> dict[str, Any]:
    spec = task.task_spec
    return {"id": str(task.id), "instance_id": case.instance.id, "definition_id": case.deployed.id,
            "process_id": case.deployed.process_id, "element_id": spec.bpmn_id,
            "name": spec.bpmn_name or spec.bpmn_id, "topic": external.topic_of(spec),
            "priority": external.priority_of(spec), "state": "open", "worker_id": None, "locked_by": None,
            "lock_expires_at": None, "retries": None, "error_message": None, "error_details": None,
            "created_at": now, "ended_at": None}


steps.SAVE_HOOKS.append(sync_rows)


# --- the doorbell long polls wait on -------------------------------------------------------------

class Doorbell:
    """Wakes this process's waiting fetches; on PostgreSQL also those of other processes."""

    def __init__(self, url: Any):
        self.url = url
        self._condition = threading.Condition()
        self._rings = 0
        self._listener: threading.Thread | None = None

    def ring(self) -> None:
        with self._condition:
            self._rings += 1
            self._condition.notify_all()

    def rings(self) -> int:
        return self._rings

    def wait(self, seen: int, timeout: float) -> None:
        """Until a ring after ``seen`` rings, or ``timeout`` seconds."""
        self._listen()
        with self._condition:
            self._condition.wait_for(lambda: self._rings != seen, timeout=max(0.0, timeout))

    def _listen(self) -> None:
        if self.url.get_backend_name() != "postgresql":
            return
        with self._condition:
            if self._listener is None or not self._listener.is_alive():
                self._listener = threading.Thread(target=self._listen_forever, name="external-task-listener",
                                                  daemon=True)
                self._listener.start()

    def _listen_forever(self) -> None:
        """LISTEN on a connection of its own; reconnect after a lost connection."""
        import psycopg

        url = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.ring()  # whatever happened while not listening
                    for _ in conn.notifies():
                        self.ring()
            except Exception:  # noqa: BLE001 - a lost listener must come back, not end the thread
                log.warning("external task listener lost its connection; reconnecting", exc_info=True)
                time.sleep(1.0)


_BELLS: dict[str, Doorbell] = {}
_BELLS_LOCK = threading.Lock()


def _bell(url: Any) -> Doorbell:
    """One doorbell per database per process."""
    key = url.render_as_string(hide_password=False)
    with _BELLS_LOCK:
        bell = _BELLS.get(key)
        if bell is None:
            bell = _BELLS[key] = Doorbell(url)
        return bell


def doorbell(db: Database) -> Doorbell:
    return _bell(db.engine.url)


def ring_after_commit(session: Session) -> None:
    """Tell waiting fetches, once this unit of work commits, that there may be a task for them."""
    work = unit_of(session)
    if work.rings_doorbell:
        return
    work.rings_doorbell = True
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})
    work.on_commit(_bell(bind.engine.url).ring)


# --- fetch and lock -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TopicRequest:
    topic: str
    lock_ms: int
    variables: tuple[str, ...] | None = None  # None: all of them
    process_ids: tuple[str, ...] = ()  # processDefinitionKey(In): only tasks of these processes


@dataclass(frozen=True)
class LockedTask:
    id: str
    topic: str
    worker_id: str
    lock_expires_at: datetime
    instance_id: int
    definition_id: int
    process_id: str
    version: int
    element_id: str
    name: str | None
    priority: int
    retries: int | None
    error_message: str | None
    error_details: str | None
    created_at: datetime
    variables: dict[str, Any] = field(default_factory=dict)


def _check_topics(topics: Sequence[TopicRequest], max_tasks: int) -> None:
    if not topics:
        raise InvalidInput("至少要订阅一个 topic（topics 为空）。")
    if not 0 <= max_tasks <= MAX_TASKS:
        raise InvalidInput(f"maxTasks 必须在 0 到 {MAX_TASKS} 之间。")
    for item in topics:
        if not item.topic:
            raise InvalidInput("topicName 不能为空。")
        if not 0 < item.lock_ms <= MAX_LOCK_MS:
            raise InvalidInput(f"topic {item.topic} 的 lockDuration 必须是 1 到 {MAX_LOCK_MS} 毫秒。")


def fetch_and_lock(db: Database, actor: Actor, worker_id: str, topics: Sequence[TopicRequest], max_tasks: int,
                   use_priority: bool = False, wait_seconds: float = 0.0) -> list[LockedTask]:
    """Lock up to ``max_tasks`` fetchable tasks of these topics for ``worker_id``; with
    ``wait_seconds`` (long polling) wait that long for one to appear before answering none."""
    worker_id = (worker_id or "").strip()
    if not worker_id or len(worker_id) > 200:
        raise InvalidInput("workerId 必须是 1 到 200 个字符。")
    _check_topics(topics, max_tasks)
    access.require_worker(actor)
    if max_tasks == 0:
        return []
    bell = doorbell(db)
    deadline = time.monotonic() + min(max(wait_seconds, 0.0), MAX_WAIT_SECONDS)
    while True:
        seen = bell.rings()
        try:
            locked = _lock_some(db, actor, worker_id, topics, max_tasks, use_priority)
        except Conflict:  # a case of one of the tasks moved meanwhile: look again
            locked = []
        left = deadline - time.monotonic()
        if locked or left <= 0:
            return locked
        bell.wait(seen, min(left, _next_expiry_wait(db, topics)))


def _next_expiry_wait(db: Database, topics: Sequence[TopicRequest]) -> float:
    """Seconds until the earliest lock of these topics expires (it is fetchable then), at most 1:
    a ring may be missed by a process on SQLite, which has no NOTIFY."""
    with db.unit_of_work(read_only=True) as session:
        soonest = session.execute(
            select(ROWS.c.lock_expires_at).where(ROWS.c.state == "open", ROWS.c.topic.in_([t.topic for t in topics]),
                                                 ROWS.c.lock_expires_at.is_not(None))
            .order_by(ROWS.c.lock_expires_at).limit(1)).scalar()
    if soonest is None:
        return 1.0
    return min(1.0, max(0.01, (soonest - clock.now()).total_seconds()))


def _fetchable(now: datetime) -> list[Any]:
    return [ROWS.c.state == "open",
            or_(ROWS.c.lock_expires_at.is_(None), ROWS.c.lock_expires_at <= now),
            or_(ROWS.c.retries.is_(None), ROWS.c.retries > 0)]


@translating_races
def _lock_some(db: Database, actor: Actor, worker_id: str, topics: Sequence[TopicRequest], max_tasks: int,
               use_priority: bool) -> list[LockedTask]:
    now = clock.now()
    by_topic = {t.topic: t for t in topics}
    with db.unit_of_work() as session:
        query = select(ROWS).where(*_fetchable(now), ROWS.c.topic.in_(sorted(by_topic)))
        order = [ROWS.c.priority.desc()] if use_priority else []
        rows = session.execute(query.order_by(*order, ROWS.c.created_at, ROWS.c.id).limit(max_tasks * 4)
                               .with_for_update(skip_locked=True)).all()
        chosen = [r for r in rows if _wanted(r, by_topic[r.topic])][:max_tasks]
        return [_lock(session, db, actor, worker_id, row, by_topic[row.topic], now) for row in chosen]


def _wanted(row: Any, request: TopicRequest) -> bool:
    return not request.process_ids or row.process_id in request.process_ids


def _lock(session: Session, db: Database, actor: Actor, worker_id: str, row: Any, request: TopicRequest,
          now: datetime) -> LockedTask:
    expires = now + timedelta(milliseconds=request.lock_ms)
    session.execute(ROWS.update().where(ROWS.c.id == row.id)
                    .values(worker_id=worker_id, locked_by=actor.name, lock_expires_at=expires))
    case = open_case(session, db, row.instance_id)
    task = runtime.find_task(case.workflow, row.id)
    data = dict(task.data) if task is not None else {}
    if request.variables is not None:
        data = {name: data[name] for name in request.variables if name in data}
    case.note("external_task_locked", actor.name, task, worker=worker_id, topic=row.topic,
              lock_expires_at=expires.isoformat())
    write_instance(session, case.instance)  # the case's event chain moved on: a cached head is stale
    return LockedTask(row.id, row.topic, worker_id, expires, row.instance_id, row.definition_id, row.process_id,
                      case.deployed.version, row.element_id, row.name, row.priority, row.retries,
                      row.error_message, row.error_details, row.created_at, data)


# --- a worker's answers ------------------------------------------------------------------------------

_ROW_BY_ID = Prepared(select(ROWS).where(ROWS.c.id == bindparam("id")))


def _require_row(session: Session, task_id: str) -> Any:
    row = _ROW_BY_ID.first(session, id=task_id)
    if row is None or row.state != "open":
        raise NotFound(f"外部任务 {task_id} 不存在（或已完成、已取消）。")
    return row


def _require_lock_holder(row: Any, worker_id: str | None, now: datetime, *, unexpired: bool = False) -> None:
    """The worker must hold the task's most recent lock (and, to extend it, a live one)."""
    if row.worker_id is None or row.worker_id != (worker_id or "").strip():
        holder = f"由 worker「{row.worker_id}」锁定" if row.worker_id else "未被锁定"
        raise InvalidInput(f"外部任务 {row.id} {holder}，worker「{worker_id}」不能处理它。")
    if unexpired and (row.lock_expires_at is None or row.lock_expires_at <= now):
        raise InvalidInput(f"外部任务 {row.id} 的锁已过期，不能延长。")


def _open(session: Session, db: Database, actor: Actor, task_id: str,
          or_admin: bool = False) -> tuple[Any, Case, Any]:
    """The row, its case and the waiting task, for an actor of the worker group (or an admin)."""
    access.require_worker(actor, or_admin=or_admin)
    row = _require_row(session, task_id)
    case = open_case(session, db, row.instance_id)
    task = runtime.find_task(case.workflow, task_id)
    if task is None or not external.is_external(task.task_spec) or task.state != TaskState.STARTED:
        raise NotFound(f"外部任务 {task_id} 不再等待处理（流程已越过这一步）。")
    return row, case, task


@translating_races
def complete(db: Database, actor: Actor, task_id: str, worker_id: str, variables: dict[str, Any]) -> int:
    """The worker did the work: its variables go into the case, which runs on. Returns the case id."""
    with db.unit_of_work() as session:
        row, case, task = _open(session, db, actor, task_id)
        _require_lock_holder(row, worker_id, clock.now())
        case.note("external_task_completed", actor.name, task, worker=worker_id, data=variables)
        with running_diagram(case):
            external.complete(case.workflow, task, variables)
        case.completed[task_id] = actor.name
        save_case(case, actor.name)
        return case.instance.id


@translating_races
def bpmn_error(db: Database, actor: Actor, task_id: str, worker_id: str, code: str, message: str | None,
               variables: dict[str, Any]) -> bool:
    """A business error: caught by an error boundary event with its code (True), else the task's
    execution ends (False), as Camunda 7 does with an unhandled BPMN error."""
    code = (code or "").strip()
    if not code:
        raise InvalidInput("errorCode 不能为空。")
    with db.unit_of_work() as session:
        row, case, task = _open(session, db, actor, task_id)
        _require_lock_holder(row, worker_id, clock.now())
        message = (message or "")[:2000]
        with running_diagram(case):
            caught = external.throw_bpmn_error(case.workflow, task, code, variables, message)
        case.note("external_task_bpmn_error", actor.name, task, worker=worker_id, code=code,
                  message=message, data=variables, caught=caught)
        case.completed[task_id] = actor.name  # answered by the worker, not cancelled by the diagram
        save_case(case, actor.name)
        return caught


@translating_races
def failure(db: Database, actor: Actor, task_id: str, worker_id: str, message: str | None, details: str | None,
            retries: int, retry_timeout_ms: int) -> None:
    """A technical failure: fetchable again after ``retry_timeout_ms`` while ``retries`` are left;
    at 0 retries an incident, which waits for a person (``set_retries``)."""
    if retries < 0 or retry_timeout_ms < 0:
        raise InvalidInput("retries 和 retryTimeout 不能为负数。")
    now = clock.now()
    with db.unit_of_work() as session:
        row, case, task = _open(session, db, actor, task_id)
        _require_lock_holder(row, worker_id, now)
        again = now + timedelta(milliseconds=min(retry_timeout_ms, MAX_LOCK_MS))
        session.execute(ROWS.update().where(ROWS.c.id == task_id).values(
            retries=retries, error_message=(message or "")[:4000] or None, error_details=details,
            lock_expires_at=again))
        case.note("external_task_failed", actor.name, task, worker=worker_id, message=(message or "")[:2000],
                  retries=retries, retry_at=again.isoformat() if retries else None)
        if retries == 0:
            case.note("external_task_incident", actor.name, task, message=(message or "")[:2000],
                      topic=row.topic)
        write_instance(session, case.instance)
        if retries:
            ring_after_commit(session)


@translating_races
def set_retries(db: Database, actor: Actor, task_id: str, retries: int) -> None:
    """Give a failed task retries again (resolves its incident): an operator's fix."""
    if retries < 0:
        raise InvalidInput("retries 不能为负数。")
    with db.unit_of_work() as session:
        row, case, task = _open(session, db, actor, task_id, or_admin=True)
        session.execute(ROWS.update().where(ROWS.c.id == task_id).values(retries=retries, lock_expires_at=None))
        if row.retries == 0 and retries > 0:
            case.note("external_task_incident_resolved", actor.name, task, retries=retries)
        else:
            case.note("external_task_retries_set", actor.name, task, retries=retries)
        write_instance(session, case.instance)
        ring_after_commit(session)


@translating_races
def extend_lock(db: Database, actor: Actor, task_id: str, worker_id: str, duration_ms: int) -> None:
    if not 0 < duration_ms <= MAX_LOCK_MS:
        raise InvalidInput(f"newDuration 必须是 1 到 {MAX_LOCK_MS} 毫秒。")
    now = clock.now()
    with db.unit_of_work() as session:
        row, case, task = _open(session, db, actor, task_id)
        _require_lock_holder(row, worker_id, now, unexpired=True)
        expires = now + timedelta(milliseconds=duration_ms)
        session.execute(ROWS.update().where(ROWS.c.id == task_id).values(lock_expires_at=expires))
        case.note("external_task_lock_extended", actor.name, task, worker=worker_id, lock_expires_at=expires.isoformat())
        write_instance(session, case.instance)


@translating_races
def unlock(db: Database, actor: Actor, task_id: str) -> None:
    """Release the lock: any worker may fetch the task again at once."""
    with db.unit_of_work() as session:
        row, case, task = _open(session, db, actor, task_id)
        session.execute(ROWS.update().where(ROWS.c.id == task_id).values(worker_id=None, locked_by=None,
                                                                          lock_expires_at=None))
        case.note("external_task_unlocked", actor.name, task, worker=row.worker_id)
        write_instance(session, case.instance)
        ring_after_commit(session)


# --- looking at them ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExternalTaskItem:
    id: str
    topic: str
    instance_id: int
    definition_id: int
    process_id: str
    element_id: str
    name: str | None
    priority: int
    state: str
    worker_id: str | None
    lock_expires_at: datetime | None
    retries: int | None
    error_message: str | None
    created_at: datetime

    @property
    def incident(self) -> bool:
        return self.state == "open" and self.retries == 0


def _item(row: Any) -> ExternalTaskItem:
    return ExternalTaskItem(row.id, row.topic, row.instance_id, row.definition_id, row.process_id, row.element_id,
                            row.name, row.priority, row.state, row.worker_id, row.lock_expires_at, row.retries,
                            row.error_message, row.created_at)


def list_external_tasks(db: Database, actor: Actor, *, topic: str | None = None,
                        instance_id: int | None = None, task_id: str | None = None,
                        incidents_only: bool = False, limit: int = 200, offset: int = 0) -> list[ExternalTaskItem]:
    """Open external tasks (workers, administrators and auditors may look)."""
    if not access.may_list_external(actor):
        raise Forbidden(f"用户 {actor.name} 无权查看外部任务。")
    with db.unit_of_work(read_only=True) as session:
        query = select(ROWS).where(ROWS.c.state == "open")
        for column, value in ((ROWS.c.topic, topic), (ROWS.c.instance_id, instance_id), (ROWS.c.id, task_id)):
            if value is not None:
                query = query.where(column == value)
        if incidents_only:
            query = query.where(ROWS.c.retries == 0)
        rows = session.execute(query.order_by(ROWS.c.created_at, ROWS.c.id).limit(limit).offset(offset)).all()
        return [_item(r) for r in rows]
