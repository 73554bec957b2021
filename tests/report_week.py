"""A week of P1 complaints on a fixed clock, for the report tests (dashboard, XLSX, CLI, browser).

Ten complaints, two a day from Monday 2026-03-02 (09:00 and 11:00), alternately for engineering
and cleaning. Each ticket is picked up the given minutes after dispatch (the limit is 15):
a late one is escalated when the 15-minute timer fires, and the 督办 is done by the supervisor for
the cases in ``ACTED``. The last one is never picked up (open, overdue). The others run to the
end: soft reaction and check in 5 minutes, record, check, follow-up visit with a satisfaction
answer. No tests here.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine import clock, services
from engine.store import Database

MONDAY = "2026-03-02T09:00:00+08:00"
NOW = "2026-03-06T16:00:00+08:00"  # Friday afternoon: "today" is Friday, the week Monday to now
PICKUP_MINUTES = [5, 20, 5, 5, 30, 10, 5, 40, 5, None]  # None: never picked up
DEPARTMENTS = ["engineering", "cleaning"] * 5
WORKER = {"engineering": "engineer", "cleaning": "cleaner"}
ACTED = {1, 4}  # the supervisor did the 督办 of these late pick-ups
SATISFACTION = ["satisfied", "satisfied", "fair", "satisfied", "unsatisfied", "satisfied", "fair", "satisfied",
                "satisfied"]
USERS = {"frontdesk", "frontdesk2", "supervisor", "manager", "gm", "engineer", "cleaner"}
COMPLAINT = {"customer_name": "王女士", "phone": "13800000002", "room": "5-2-1101", "channel": "visit",
             "occurred_at": "2026-03-02 08:10", "place": "地下车库", "description": "照明坏了",
             "read_back_confirmed": "true"}


class Clock:
    """One case's clock; timers due by each moment are fired as it moves on."""

    def __init__(self, db: Database, at: Any):
        self.db, self.now, self.case = db, at, 0

    def move(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)
        with clock.frozen(self.now):
            services.fire_due_timers(self.db)

    def do(self, element: str, user: str, minutes: float = 2, **data: Any) -> None:
        self.move(minutes)
        with clock.frozen(self.now):
            task = next(t for t in services.list_tasks(self.db, services.Actor.operator(), instance_id=self.case,
                                                       scope="open").items if t.element_id == element)
            services.complete(self.db, task.id, services.actor_for(self.db, user), data)


def walk_week(db: Database) -> list[int]:
    """The ten complaints; their instance ids, in order."""
    cases = []
    for n, (pickup, dept) in enumerate(zip(PICKUP_MINUTES, DEPARTMENTS)):
        at = clock.parse_time(MONDAY) + timedelta(days=n // 2, hours=2 * (n % 2))
        cases.append(_complaint(db, Clock(db, at), n, pickup, dept))
    return cases


def _complaint(db: Database, c: Clock, n: int, pickup: int | None, dept: str) -> int:
    with clock.frozen(c.now):
        c.case = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), dict(COMPLAINT))
    c.do("Task_ClassifyComplaint", "frontdesk", complaint_kind="soft", complaint_severity="general", validity="valid")
    c.do("Task_DispatchToDepartment", "frontdesk", responsible_dept=dept)
    if pickup is None:
        c.move(20)  # the reminder fires; nobody picks up
        return c.case
    worker = WORKER[dept]
    c.do("Task_PickUpTicket", worker, minutes=pickup)
    if n in ACTED:
        c.do("Task_EscalatePickUp", "supervisor", minutes=1, pickup_supervision="已催办")
    c.do("Task_SoftReaction", worker, minutes=5, reaction_note="已处理")
    c.do("Task_SoftVerify", "frontdesk", minutes=0, verify_note="核对无误")
    c.do("Task_RecordHandling", worker, handling_result="已修复")
    c.do("Task_CheckRecord", "frontdesk", record_complete="true", matter_resolved="true", head_signed="true")
    c.do("Task_FollowUpVisit", "frontdesk2", minutes=30, visit_result="业户认可", satisfaction=SATISFACTION[n],
         has_suggestions="false")
    return c.case
