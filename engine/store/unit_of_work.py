"""One unit of work: a transaction, and what it collects until it commits.

Shaped like the unit of work of "Architecture Patterns with Python": a service opens one with
``Database.unit_of_work()``, works through its session, and :meth:`UnitOfWork.commit` is the one
place that shows the order of a commit:

1. flush the ORM rows (events may refer to them) and note the due times they carry;
2. write this work's events and seal them in the next block of the global chain (history.py
   hands its pending events over as an :class:`EventLog`; the store does not know their hashing);
3. settle the PostgreSQL pipeline: a queued write that failed, or a checked row count that does
   not match (an instance changed meanwhile), fails here, before COMMIT;
4. COMMIT;
5. after-commit: this process's schedulers hear the earliest due time saved, then the callbacks
   run (workflow cache, external-task doorbells) — only ever for work that committed.

What the steps of one unit share lives in typed fields here, not in ``session.info`` keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Protocol

from sqlalchemy.orm import Session

from engine.store.models import Instance

if TYPE_CHECKING:
    from engine.store.database import Database

_KEY = "bpmdesk.unit_of_work"


class EventLog(Protocol):
    """This unit's pending history events (engine/history.py), written at step 2 of a commit."""

    def seal(self, session: Session) -> None: ...


@dataclass(eq=False)
class UnitOfWork:
    """A transaction's session and the state its steps build up until it commits."""

    session: Session
    database: Database
    events: EventLog | None = None  # set by history.record on the first event
    chain_heads: dict[str, tuple[int, str]] = field(default_factory=dict)  # (seq, hash) read or written
    next_due: datetime | None = None  # earliest due time saved: schedulers re-arm for it
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    signals_delivered: int = 0  # signal deliveries caused so far: a loop of signals stops
    rings_doorbell: bool = False  # external-task fetches waiting are told once, after commit

    def note_due(self, due_at: datetime) -> None:
        """Remember the earliest due time this work saved."""
        self.next_due = min(self.next_due, due_at) if self.next_due else due_at

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the work has committed (and only then)."""
        self.after_commit.append(callback)

    def commit(self) -> None:
        """Flush → events sealed → pipeline settled → COMMIT → after-commit (see the module)."""
        self._flush()
        if self.events is not None:
            self.events.seal(self.session)
        _settle_pipeline(self.session)
        self.session.commit()
        if self.next_due is not None:
            for watcher in list(self.database.due_watchers):
                watcher(self.next_due)
        for callback in self.after_commit:
            callback()

    def _flush(self) -> None:
        # instances written through the ORM (flushed already or not); prepared saves note their own.
        # One only read is noted too: a scheduler woken early finds nothing due, which costs nothing.
        for obj in [*self.session.new, *self.session.identity_map.values()]:
            if isinstance(obj, Instance) and obj.status == "running" and obj.next_due_at is not None:
                self.note_due(obj.next_due_at)
        if self.session.new or self.session.dirty or self.session.deleted:
            self.session.flush()


def begin(session: Session, database: Database) -> UnitOfWork:
    """Make ``session`` a unit of work of ``database``."""
    work = session.info[_KEY] = UnitOfWork(session, database)
    return work


def unit_of(session: Session) -> UnitOfWork:
    """The unit of work a session belongs to (every service session is one)."""
    try:
        return session.info[_KEY]
    except KeyError:
        raise RuntimeError("this session is not a unit of work: open it with Database.unit_of_work()") from None


def _settle_pipeline(session: Session) -> None:
    from engine.store.prepared import settle  # prepared.py knows the channel; no cycle at import

    settle(session)


__all__ = ["EventLog", "UnitOfWork", "begin", "unit_of"]
