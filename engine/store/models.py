"""Tables. Times are stored as naive UTC and come back aware (UTC) on every database.

Only ``definition_version``, ``instance.state`` and ``event`` are sources of truth; ``human_task``,
``task_candidate`` and ``instance.next_due_at`` are derived from the workflow state on every save
so that listings never deserialise a workflow.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on every backend (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, straight to the text SQLAlchemy's DateTime stores there (same format, so
        stored values compare and sort alike): half the cost, on a column every step writes."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            return None if value is None else self.process_bind_param(value, dialect).isoformat(" ", "microseconds")

        return process


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class DefinitionVersion(Base):
    """One deployed version of one process, with the exact sources it was parsed from."""

    __tablename__ = "definition_version"
    __table_args__ = (UniqueConstraint("process_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(400))
    content_hash: Mapped[str] = mapped_column(String(64))
    files: Mapped[list[Any]]  # [{"name", "role": bpmn|dmn|callee, "content"}]
    start_groups: Mapped[list[Any]]
    timer_start: Mapped[str | None] = mapped_column(String(200))
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(100))


class Instance(Base):
    """A running or finished case. ``state`` is SpiffWorkflow's state without the spec."""

    __tablename__ = "instance"
    __table_args__ = (
        Index("ix_instance_due", "next_due_at"),
        Index("ix_instance_status_due", "status", "next_due_at"),  # the scheduler's MIN read and claim
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running|completed|cancelled|incident
    state: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    next_due_at: Mapped[datetime | None]
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    customer_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50), index=True)
    room: Mapped[str | None] = mapped_column(String(100))
    # failed timer firings in a row (reset by a successful one) and the last failure's message
    fire_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    trail: Mapped[list[Any]] = mapped_column(default=list)  # element ids ever completed (for the diagram)
    # Camunda's business key: given at start (or by the message that started it), never changed
    business_key: Mapped[str | None] = mapped_column(String(255), index=True)

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """One user task of an instance, open or done: the inbox reads only this table."""

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_task_open_due", "state", "due_at"),
        # "mine", sorted; with the id, the page's keys are read from the index alone
        Index("ix_task_assignee", "assignee", "state", "due_at", "created_at", "id"),
        Index("ix_task_completed_by", "completed_by"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    process_name: Mapped[str | None] = mapped_column(String(400))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400))
    state: Mapped[str] = mapped_column(String(20))  # open|completed|cancelled
    candidate_groups: Mapped[list[Any]]
    candidate_users: Mapped[list[Any]]
    assignee: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(100))  # who delegated it, to hand back
    priority: Mapped[int | None]
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    follow_up_at: Mapped[datetime | None]
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50))
    room: Mapped[str | None] = mapped_column(String(100))
    business_key: Mapped[str | None] = mapped_column(String(255))  # the case's, shown in the inbox


NO_DUE_DATE = datetime(9999, 12, 31, tzinfo=timezone.utc)


class TaskCandidate(Base):
    """Who may pick up a task nobody has claimed yet: one row per group or user.

    Rows exist only while the task is open and unclaimed, and carry the task's sort key, so a
    group's inbox page is read from this index alone, however many tasks other groups have.
    """

    __tablename__ = "task_candidate"
    __table_args__ = (Index("ix_candidate_inbox", "kind", "name", "due_order", "created_at", "task_id"),)

    task_id: Mapped[str] = mapped_column(
        ForeignKey("human_task.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(5), primary_key=True)  # group|user
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    due_order: Mapped[datetime]  # due_at, or NO_DUE_DATE: tasks without a due time sort last
    created_at: Mapped[datetime]


class Event(Base):
    """Append-only history. Each chain (an instance, or ``system``) is hash-linked."""

    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("chain", "seq"), Index("ix_event_instance", "instance_id", "seq"))

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("definition_version.id"))
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100), index=True)  # sign-in attempts, audit search
    at: Mapped[datetime]
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class EventBlock(Base):
    """The events of one committed unit of work, hash-linked into the one global chain.

    Instance chains alone cannot show that a chain's newest events were deleted, or that a
    well-formed event was appended by hand; every committed event is listed in exactly one block.
    """

    __tablename__ = "event_block"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    events: Mapped[list[Any]]  # [[chain, seq, hash], ...] in recording order
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class WaitingTimer(Base):
    """A timer an instance waits on (derived on save), so listings need no workflow."""

    __tablename__ = "waiting_timer"

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400))
    due_at: Mapped[datetime] = mapped_column(index=True)
    interrupting: Mapped[bool] = mapped_column(Boolean)
    attached_to: Mapped[str | None] = mapped_column(String(36))


class EventSubscription(Base):
    """A message or signal a task of an instance waits for (derived on save, like waiting_timer),
    so a correlation or a broadcast finds its receivers by name without loading any workflow."""

    __tablename__ = "event_subscription"
    __table_args__ = (Index("ix_subscription_name", "kind", "name"),)

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # message | signal
    name: Mapped[str] = mapped_column(String(400))
    element_id: Mapped[str] = mapped_column(String(200))


class AppUser(Base):
    __tablename__ = "app_user"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Membership.group_name"
    )

    @property
    def groups(self) -> list[str]:
        return [m.group_name for m in self.memberships]


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (Index("ix_membership_group", "group_name"),)

    user_name: Mapped[str] = mapped_column(ForeignKey("app_user.name", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(100), primary_key=True)


class UserSession(Base):
    """A signed-in browser or script. The cookie carries the key; only its hash is kept, so a read
    of this table signs nobody in. Signing out, a password change or an administrator's "sign out
    everywhere" revokes the row, and the cookie stops working at once, wherever it was copied."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user", "user_name"),)

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("app_user.name"))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class WorkGroup(Base):
    """A group diagrams name as candidates, with the Chinese name staff read, and the groups whose
    members supervise it (team view, reassigning, changing due dates)."""

    __tablename__ = "work_group"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    supervisor_groups: Mapped[list[Any]] = mapped_column(default=list)


class Attachment(Base):
    """A file staff attached to a case (a photo of a defect, a scanned receipt). Its bytes are in
    ``content`` or, when the centre configures a folder, in a file named by its SHA-256 there
    (engine/store/files.py); the case's history holds an ``attachment_added`` event naming it."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    file_name: Mapped[str] = mapped_column(String(200))  # as the uploader named it; shown, never a path
    content_type: Mapped[str] = mapped_column(String(100))  # what the bytes are (read from them)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    stored_in: Mapped[str] = mapped_column(String(10))  # database | folder
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime]


class SavedFilter(Base):
    """An inbox view a person named and keeps (scope, procedure, due, search, order), shown with
    its count beside the tabs."""

    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("user_name", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("app_user.name", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    criteria: Mapped[dict[str, Any]]  # TaskFilter fields: scope, process_id, overdue, due_today, search, sort
    created_at: Mapped[datetime]


class Outbox(Base):
    """Notifications to send (escalations); a sender marks them sent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instance.id"))
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]  # a sender's lease, or the retry time after a failure


class StartSchedule(Base):
    """When the scheduler next starts a timer-started process (one row per process).

    Kept apart from the definitions so that an occurrence is claimed and advanced in the same
    transaction that starts its instance: no occurrence starts twice, whatever runs concurrently.
    """

    __tablename__ = "start_schedule"

    process_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"))
    expression: Mapped[str] = mapped_column(String(200))  # the timer text the schedule follows
    next_start_at: Mapped[datetime | None] = mapped_column(index=True)  # None: no occurrence left
    period_seconds: Mapped[float | None] = mapped_column(Float)  # None: a one-off date or duration
    remaining: Mapped[int | None]  # occurrences left of an ``R<n>/…`` cycle; None: unbounded
    retry_at: Mapped[datetime | None]  # after a failed start: when to try that occurrence again
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_started_at: Mapped[datetime | None]
    last_instance_id: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class ApiToken(Base):
    """A bearer token for a program (a worker, a deploy pipeline) acting as one bpmdesk user.

    Only the SHA-256 of the token is kept: tokens are long random strings, so a fast hash is
    enough, and a stolen database gives no usable token. A revoked token stays for the record.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("app_user.name", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None]


class ExternalTask(Base):
    """An external task (``camunda:type="external"``) a case waits on, derived on save like
    ``human_task``; the lock, retries and error are the worker-facing state the workflow lacks."""

    __tablename__ = "external_task"
    __table_args__ = (Index("ix_external_fetch", "state", "topic", "priority", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("instance.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"))
    process_id: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400))
    topic: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20))  # open|completed|cancelled
    worker_id: Mapped[str | None] = mapped_column(String(200))
    locked_by: Mapped[str | None] = mapped_column(String(100))  # the bpmdesk user of the worker
    lock_expires_at: Mapped[datetime | None]
    retries: Mapped[int | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class CaseFact(Base):
    """A case as the reports count it, folded from its events (``engine/reports/facts.py``) by the
    unit of work that records them, or rebuilt from the whole log (``bpmdesk report rebuild``)."""

    __tablename__ = "case_fact"
    __table_args__ = (Index("ix_case_fact_started", "started_at"), Index("ix_case_fact_ended", "ended_at"))

    instance_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    definition_id: Mapped[int | None]
    process_id: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(100))
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))  # completed | cancelled; None: open


class StepFact(Base):
    """One user task of a case as the reports count it: when it opened and finished, who did it,
    its department (first candidate group), whether it was escalated and who acted on that, and,
    for a 督办 task, which task's escalation it answers. Folded from events like ``case_fact``."""

    __tablename__ = "step_fact"
    __table_args__ = (
        Index("ix_step_fact_opened", "opened_at"),
        Index("ix_step_fact_finished", "finished_at"),
        Index("ix_step_fact_escalated", "escalated_at"),
        Index("ix_step_fact_instance", "instance_id"),
        Index("ix_step_fact_open", "outcome", "due_at"),
    )

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int]
    definition_id: Mapped[int | None]
    element_id: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(400))
    department: Mapped[str | None] = mapped_column(String(100))
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime | None]  # as the inbox has it: its dueDate, else its earliest boundary timer
    finished_at: Mapped[datetime | None]
    finished_by: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(20))  # completed | cancelled; None: open
    escalated_at: Mapped[datetime | None]
    escalation_of: Mapped[str | None] = mapped_column(String(36))  # a 督办 task: the task it chases
    acted_by: Mapped[str | None] = mapped_column(String(100))  # who acted on this task's escalation
    acted_at: Mapped[datetime | None]
    satisfaction: Mapped[str | None] = mapped_column(String(40))  # the form's ``satisfaction`` answer


class SlaFact(Base):
    """One service level of one user task: a boundary timer on it, or its ``camunda:dueDate``,
    and when it fell due; whether it was met is read against the task's ``step_fact``."""

    __tablename__ = "sla_fact"
    __table_args__ = (Index("ix_sla_fact_due", "due_at"),)

    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    limit_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # timer element id | dueDate
    name: Mapped[str | None] = mapped_column(String(400))
    due_at: Mapped[datetime]
