"""Firing timers: only instances whose indexed ``next_due_at`` has passed are ever loaded."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine import clock
from engine.services.steps import open_case, running_diagram, save_case, translating_races
from engine.store import Database, Instance, WaitingTimer

SCHEDULER = "scheduler"


@dataclass(frozen=True)
class TimerItem:
    instance_id: int
    process_id: str
    element_id: str
    name: str | None
    due_at: datetime
    interrupting: bool


def list_timers(db: Database) -> list[TimerItem]:
    with db.unit_of_work() as session:
        rows = session.execute(
            select(WaitingTimer, Instance.process_id).join(Instance, Instance.id == WaitingTimer.instance_id)
            .where(Instance.status == "running").order_by(WaitingTimer.due_at))
        return [TimerItem(t.instance_id, pid, t.element_id, t.name, t.due_at, t.interrupting)
                for t, pid in rows]


def _next_due_instance(session, now: datetime) -> int | None:  # type: ignore[no-untyped-def]
    """Claim one due instance; SKIP LOCKED lets several schedulers share the work."""
    query = (select(Instance.id).where(Instance.status == "running", Instance.next_due_at <= now)
             .order_by(Instance.next_due_at).limit(1).with_for_update(skip_locked=True))
    return session.scalar(query)


@translating_races
def fire_next_due(db: Database) -> int | None:
    """Fire the timers of the most overdue instance; the instance id, or None when nothing is due."""
    with db.unit_of_work() as session:
        instance_id = _next_due_instance(session, clock.now())
        if instance_id is None:
            return None
        case = open_case(session, db, instance_id)
        with running_diagram(case):
            case.workflow.refresh_timers()
            case.workflow.do_engine_steps()
        save_case(case, SCHEDULER)
        return instance_id


def fire_due_timers(db: Database, limit: int = 10_000) -> list[int]:
    """Fire everything due now (``BPMDESK_NOW`` respected); the instances touched, in due order."""
    fired: list[int] = []
    while len(fired) < limit:
        instance_id = fire_next_due(db)
        if instance_id is None:
            break
        fired.append(instance_id)
    return fired
