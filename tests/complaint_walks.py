"""Many P1 complaints (processes/complaint_handling.bpmn) walked through the service layer, each
along a path drawn at random: invalid or valid, soft or hard, general or major, slow enough for
reminder timers to fire or not, a record sent back once, suggestions, delegation and release,
cancellation, and some left open. For the audit tests and scripts/bench_replay.py; no tests here.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

from engine import clock, services
from engine.demo import DEMO_PASSWORD, DEMO_USERS
from engine.store import Database

P1 = "complaint_handling"
P1_FILE = Path(__file__).resolve().parents[1] / "processes" / "complaint_handling.bpmn"
ESCALATION_POLICY = P1_FILE.with_name("escalation_policy.dmn")  # the 督办 limit P1 reads
SET_UP = "2026-03-01T09:00:00"  # the Sunday before: diagrams deployed, staff accounts made
START = "2026-03-02T09:00:00"  # a Monday morning, local time
COMPLAINT = {
    "customer_name": "王女士", "phone": "13800000002", "room": "5-2-1101", "channel": "visit",
    "occurred_at": "2026-03-02 08:10", "place": "地下车库", "description": "车库照明坏了一半",
    "read_back_confirmed": "true",
}
WORKERS = {"engineering": ("engineer", "engineer2"), "cleaning": ("cleaner",), "security": ("guard",),
           "landscaping": ("gardener",)}


class Walk:
    """One case on its own clock, which moves only forward; timers due by then are fired."""

    def __init__(self, db: Database, rng: random.Random, now: datetime, fire_timers: bool = True):
        self.db, self.rng, self.now, self.fire_timers = db, rng, now, fire_timers
        self.case = 0

    def wait(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)
        if self.fire_timers:
            with clock.frozen(self.now):
                services.fire_due_timers(self.db)

    def task_id(self, element_id: str) -> str | None:
        with clock.frozen(self.now):
            items = services.list_tasks(self.db, services.Actor.operator(), instance_id=self.case, scope="open").items
        return next((t.id for t in items if t.element_id == element_id), None)

    def do(self, element_id: str, actor: str, **data: Any) -> None:
        """Complete the open task of this element, a few minutes after the previous step."""
        self.wait(self.rng.choice((1, 3, 5)))
        task_id = self.task_id(element_id)
        assert task_id is not None, f"case {self.case}: no open {element_id}"
        with clock.frozen(self.now):
            services.complete(self.db, task_id, services.actor_for(self.db, actor), data)

    def act(self, action: Any, element_id: str, actor: str, *args: Any) -> None:
        task_id = self.task_id(element_id)
        with clock.frozen(self.now):
            action(self.db, task_id, services.actor_for(self.db, actor), *args)


def walk_complaint(db: Database, rng: random.Random, now: datetime) -> int:
    """One complaint from the counter to wherever its drawn path ends; its instance id."""
    walk = Walk(db, rng, now)
    with clock.frozen(walk.now):
        walk.case = services.start_instance(db, P1, services.actor_for(db, "frontdesk"), dict(COMPLAINT))
    kind, severity = rng.choice(("soft", "hard")), rng.choice(("general", "general", "major"))
    valid = rng.random() > 0.2
    walk.do("Task_ClassifyComplaint", "frontdesk", complaint_kind=kind, complaint_severity=severity,
            validity="valid" if valid else "invalid")
    if not valid:
        walk.do("Task_DeclineInvalidComplaint", "frontdesk", decline_reason="私人纠纷", complainant_informed="true")
        return walk.case
    dept = rng.choice(tuple(WORKERS))
    walk.do("Task_DispatchToDepartment", "frontdesk", responsible_dept=dept)
    if severity == "major":
        walk.do("Task_AgreeReplyTime", "frontdesk", explanation_to_owner="需公司领导处理",
                agreed_reply_at=(walk.now + timedelta(days=1)).isoformat(timespec="minutes"))
        walk.do("Task_ReportToGM", "manager", incident_time="今天上午", incident_symptoms="设施故障",
                emergency_plan="先行抢修", manager_report="已电话汇报")
        walk.do("Task_GMReview", "gm", review_measures="限期整改", responsible_person="部门经理")
        walk.do("Task_ReplyAtAgreedTime", "frontdesk", reply_to_owner="已答复整改方案")
        walk.do("Task_ProblemAnalysisReport", "supervisor", incident_impact="业户不便", handling_summary="已修复",
                cause_analysis="设备老化", corrective_preventive_measures="定期检查", analysis_sent_to_gm_office="true")
    if rng.random() < 0.1:
        with clock.frozen(walk.now):
            services.cancel_instance(db, walk.case, services.actor_for(db, "supervisor"), "业户撤回投诉")
        return walk.case
    _handle(walk, dept, kind)
    return walk.case


def _handle(walk: Walk, dept: str, kind: str) -> None:
    rng = walk.rng
    worker, *others = WORKERS[dept]
    walk.wait(rng.choice((2, 20)))  # 20 minutes: the 15-minute pick-up reminder fires
    walk.act(services.claim, "Task_PickUpTicket", worker)
    if others and rng.random() < 0.5:
        walk.act(services.delegate, "Task_PickUpTicket", worker, others[0])
        worker = others[0]
    elif rng.random() < 0.3:
        walk.act(services.unclaim, "Task_PickUpTicket", worker)
    walk.do("Task_PickUpTicket", worker)
    _remind_if_open(walk, "Task_EscalatePickUp", pickup_supervision="已催办")
    if rng.random() < 0.1:
        return  # left open, waiting on the department and on reminder timers
    if kind == "hard":
        walk.wait(rng.choice((5, 70)))  # 70 minutes: the 1-hour reminder fires
        walk.do("Task_HardFirstResponse", worker, first_response="已到现场查看")
        _remind_if_open(walk, "Task_RemindHardFirstResponse", first_response_supervision="已督办")
        walk.do("Task_HardSecondResponse", worker, second_response="已订配件", estimated_resolution="明天")
    else:
        walk.wait(rng.choice((5, 40)))  # 40 minutes: both soft reminders fire
        walk.do("Task_SoftReaction", worker, reaction_note="已处理")
        walk.do("Task_SoftVerify", "frontdesk", verify_note="核对无误")
        _remind_if_open(walk, "Task_RemindSoftReaction", reaction_supervision="已督办")
        _remind_if_open(walk, "Task_RemindSoftVerify", verify_supervision="已督办")
    _record(walk, worker, sent_back=rng.random() < 0.2)
    walk.wait(rng.choice((30, 25 * 60)))  # 25 hours: the 24-hour follow-up timer fires
    suggestions = rng.random() < 0.3
    walk.do("Task_FollowUpVisit", "frontdesk2", visit_result="业户认可", satisfaction=rng.choice(
        ("satisfied", "fair", "unsatisfied")), has_suggestions="true" if suggestions else "false",
            suggestions="增加巡查" if suggestions else "")
    _remind_if_open(walk, "Task_RemindFollowUp", follow_up_supervision="已督办")
    if suggestions:
        walk.do("Task_ForwardSuggestions", worker, suggestions="增加巡查", suggestion_response="采纳")


def _record(walk: Walk, worker: str, sent_back: bool) -> None:
    for complete in ((False, True) if sent_back else (True,)):
        walk.do("Task_RecordHandling", worker, handling_result="已修复")
        walk.do("Task_CheckRecord", "frontdesk", record_complete="true" if complete else "false",
                matter_resolved="true", head_signed="true", check_note="" if complete else "缺签字")


def _remind_if_open(walk: Walk, element_id: str, **data: Any) -> None:
    """The supervisor handles his 督办; one left past the centre's limit went up to the manager.

    Draws nothing from the walk's random numbers, so which 督办 are open does not change the paths
    of the complaints walked after this one.
    """
    for element, actor, values in ((element_id, "supervisor", data),
                                   (f"{element_id}ToManager", "manager", {f"{k}_manager": v for k, v in data.items()})):
        if walk.task_id(element) is not None:
            walk.wait(1)
        task_id = walk.task_id(element)
        if task_id is not None:
            with clock.frozen(walk.now):
                services.complete(walk.db, task_id, services.actor_for(walk.db, actor), values)
            return


def walk_complaints(db: Database, count: int, seed: int = 6, start: str = START) -> list[int]:
    """``count`` complaints, one every 10 minutes from ``start``; their instance ids."""
    rng = random.Random(seed)
    first = clock.parse_time(start)
    return [walk_complaint(db, rng, first + timedelta(minutes=10 * n)) for n in range(count)]


def quick_complaints(db: Database, count: int, seed: int = 7, start: str = START) -> list[int]:
    """``count`` complaints settled at the counter within minutes: declined as invalid, or
    dispatched and then withdrawn by the customer. Cheap, for volume."""
    rng = random.Random(seed)
    first = clock.parse_time(start)
    cases = []
    for n in range(count):
        walk = Walk(db, rng, first + timedelta(minutes=5 * n), fire_timers=False)  # done in minutes
        with clock.frozen(walk.now):
            walk.case = services.start_instance(db, P1, services.actor_for(db, "frontdesk2"), dict(COMPLAINT))
        valid = rng.random() < 0.5
        walk.do("Task_ClassifyComplaint", "frontdesk2", complaint_kind="soft", complaint_severity="general",
                validity="valid" if valid else "invalid")
        if valid:
            walk.do("Task_DispatchToDepartment", "frontdesk2", responsible_dept="cleaning")
            with clock.frozen(walk.now):
                services.cancel_instance(db, walk.case, services.actor_for(db, "supervisor"), "业户撤回投诉")
        else:
            walk.do("Task_DeclineInvalidComplaint", "frontdesk2", decline_reason="不属物业服务范围",
                    complainant_informed="true")
        cases.append(walk.case)
    return cases


def complaint_desk(url: str) -> Database:
    """A fresh database with P1 deployed and the demo users P1 needs; only ``auditor`` and
    ``frontdesk`` can sign in (password ``demo``): hashing a password is slow on purpose."""
    db = Database(url)
    db.upgrade_schema()
    needed = {"auditor", "frontdesk", "frontdesk2", "supervisor", "manager", "gm", *sum(WORKERS.values(), ())}
    with clock.frozen(SET_UP):
        services.deploy_paths(db, [P1_FILE, ESCALATION_POLICY], services.Actor.operator("test"))
        for name, display, groups in DEMO_USERS:
            if name in needed:
                password = DEMO_PASSWORD if name in ("auditor", "frontdesk") else None
                services.add_user(db, name, groups, password, display, actor=services.Actor.operator("demo"))
    return db


def walked_desk(folder: Path, cases: int) -> Iterator[Database]:
    """For a module fixture: ``cases`` complaints walked on a fresh database in ``folder``."""
    db = complaint_desk(f"sqlite:///{folder / 'bpmdesk.db'}")
    walk_complaints(db, cases)
    yield db
    db.dispose()
