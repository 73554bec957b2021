"""Timers on a fixed clock: every kind fires once its due time has passed and not before; reminders
escalate; timer-started processes start once per occurrence; failures retry, then stop as incidents."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock, services
from engine.errors import Conflict, Forbidden
from engine.services import timers
from engine.store import Database, Event, Outbox

ROOT = Path(__file__).resolve().parents[1]
TIMER_DIAGRAMS = ROOT / "tests" / "data" / "timers"
DEPLOYED_AT = "2026-03-02T08:00:00+08:00"  # a Monday


def at(time: str, day: int = 2) -> str:
    """A moment in March 2026, Shanghai time (the diagrams' dates have no offset: they mean Shanghai)."""
    return f"2026-03-{day:02d}T{time}+08:00"


STAFF = {"frontdesk": "front-desk", "supervisor": "cs-supervisor", "manager": "cs-manager",
         "engineer": "engineering", "admin": "admin"}


def prepare(db: Database, *paths: Path) -> Database:
    """Diagrams deployed at DEPLOYED_AT, and one person per group the diagrams name."""
    with clock.frozen(DEPLOYED_AT):
        services.deploy_paths(db, paths, services.Actor.operator("test"))
        for name, group in STAFF.items():
            services.add_user(db, name, [group], actor=services.Actor.operator())
    return db


@pytest.fixture
def tdb(empty_db: Database) -> Database:
    return prepare(empty_db, TIMER_DIAGRAMS)


def start(db: Database, process_id: str, when: str = at("09:00:00")) -> int:
    with clock.frozen(when):
        return services.start_instance(db, process_id, services.Actor.operator(), {})


def fire(db: Database, when: str) -> list[timers.Firing]:
    with clock.frozen(when):
        return timers.fire_due(db)


def inbox(db: Database, user: str, when: str) -> list[services.TaskItem]:
    with clock.frozen(when):
        return services.list_tasks(db, services.actor_for(db, user)).items


def overdue(db: Database, user: str, when: str) -> list[bool]:
    with clock.frozen(when):
        return [task.overdue for task in services.list_tasks(db, services.actor_for(db, user)).items]


def events(db: Database, type_: str, instance_id: int | None = None) -> list[Event]:
    with db.unit_of_work() as session:
        query = select(Event).where(Event.type == type_).order_by(Event.id)
        if instance_id is not None:
            query = query.where(Event.instance_id == instance_id)
        return list(session.scalars(query))


def local(value) -> str:
    return value.astimezone(clock.local_tz()).strftime("%m-%d %H:%M:%S")


def test_duration_timer_fires_once_two_hours_have_passed(tdb):
    case = start(tdb, "wait_duration")
    [waiting] = timers.list_timers(tdb)
    assert (waiting.instance_id, waiting.element_id) == (case, "Timer_TwoHours")
    assert local(waiting.due_at) == "03-02 11:00:00"

    assert fire(tdb, at("11:00:00")) == []  # due means the due time has passed
    assert inbox(tdb, "frontdesk", at("11:00:00")) == []
    [firing] = fire(tdb, at("11:00:01"))
    assert (firing.outcome, firing.instance_id, firing.elements) == ("fired", case, ("Timer_TwoHours",))

    [task] = inbox(tdb, "frontdesk", at("11:00:01"))
    assert task.name == "回访客户"
    # camunda:dueDate="PT1H" and followUpDate="PT30M" count from when the task appeared
    assert (local(task.due_at), local(task.follow_up_at)) == ("03-02 12:00:01", "03-02 11:30:01")
    assert overdue(tdb, "frontdesk", at("12:00:00")) == [False]
    assert overdue(tdb, "frontdesk", at("12:00:02")) == [True]
    [fired] = events(tdb, "timer_fired", case)
    assert fired.payload["due_at"] == "2026-03-02T03:00:00+00:00"
    assert fired.payload["fired_at"] == "2026-03-02T03:00:01+00:00"
    # the timer fired once; what is left to wake for is the task's dueDate
    assert [(t.kind, t.element_id, local(t.due_at)) for t in timers.list_timers(tdb)] == [
        ("dueDate", "Task_CallBack", "03-02 12:00:01")]
    assert [f.elements for f in fire(tdb, at("13:00:00"))] == [("Task_CallBack",)]


def test_date_timer_without_offset_fires_at_that_shanghai_time(tdb):
    case = start(tdb, "wait_date")
    assert fire(tdb, at("13:59:59")) == []
    assert [f.instance_id for f in fire(tdb, at("14:00:01"))] == [case]
    assert [t.name for t in inbox(tdb, "engineer", at("14:00:01"))] == ["上门服务"]


def test_interrupting_boundary_timer_hands_the_task_to_the_supervisor(tdb):
    case = start(tdb, "answer_deadline")
    assert [t.name for t in inbox(tdb, "frontdesk", at("09:30:00"))] == ["答复客户"]
    assert inbox(tdb, "frontdesk", at("09:30:00"))[0].due_at is not None  # the boundary is its deadline
    assert fire(tdb, at("09:59:59")) == []
    assert [f.outcome for f in fire(tdb, at("10:00:01"))] == ["fired"]
    assert inbox(tdb, "frontdesk", at("10:00:01")) == []
    assert [t.name for t in inbox(tdb, "supervisor", at("10:00:01"))] == ["主管接手答复"]
    assert [e.payload["name"] for e in events(tdb, "task_cancelled", case)] == ["答复客户"]
    assert events(tdb, "escalated") == []  # nothing left open to escalate


def test_reminder_timer_escalates_the_open_task_and_writes_notices(tdb):
    case = start(tdb, "pickup_reminder")
    [task] = inbox(tdb, "frontdesk", at("09:14:59"))
    assert local(task.due_at) == "03-02 09:15:00" and overdue(tdb, "frontdesk", at("09:14:59")) == [False]
    assert fire(tdb, at("09:14:59")) == []

    assert [f.elements for f in fire(tdb, at("09:15:01"))] == [("Timer_PickUpOverdue",)]
    [task] = inbox(tdb, "frontdesk", at("09:15:01"))
    assert (task.name, task.escalated) == ("取单", True)  # still open, marked
    assert overdue(tdb, "frontdesk", at("09:15:01")) == [True]
    assert [t.name for t in inbox(tdb, "supervisor", at("09:15:01"))] == ["取单超时督办"]
    [escalated] = events(tdb, "escalated", case)
    assert escalated.payload["escalated_to"] == ["取单超时督办"]
    with tdb.unit_of_work() as session:
        notices = {o.recipient: o for o in session.scalars(select(Outbox))}
    assert set(notices) == {"group:front-desk", "group:cs-supervisor"}
    notice = notices["group:cs-supervisor"]
    assert "「取单」已超时" in notice.subject and "09:15" in notice.body and notice.sent_at is None


def test_passed_due_date_without_a_timer_notifies_whoever_holds_the_task_once(tdb):
    """回访客户 has camunda:dueDate="PT1H" and no boundary timer: nobody would hear of it otherwise."""
    case = start(tdb, "wait_duration")
    fire(tdb, at("11:00:01"))  # the task opens, due 12:00:01
    [task] = inbox(tdb, "frontdesk", at("11:00:01"))
    with clock.frozen(at("11:10:00")):
        services.claim(tdb, task.id, services.actor_for(tdb, "frontdesk"))

    assert fire(tdb, at("12:00:01")) == []  # not before it has passed
    [firing] = fire(tdb, at("12:00:02"))
    assert (firing.outcome, firing.instance_id, firing.elements) == ("fired", case, ("Task_CallBack",))
    [task] = inbox(tdb, "frontdesk", at("12:00:02"))
    assert (task.escalated, task.overdue) == (True, True)
    [escalated] = events(tdb, "escalated", case)
    assert (escalated.element_id, escalated.payload["timer"]) == ("Task_CallBack", None)
    assert escalated.payload["notified"] == ["user:frontdesk"]  # the one who claimed it
    with tdb.unit_of_work() as session:
        [notice] = session.scalars(select(Outbox))
    assert "「回访客户」已超时" in notice.subject and "12:00" in notice.body

    assert [f for f in fire(tdb, at("13:00:00")) if f.instance_id == case] == []  # once
    assert [t for t in timers.list_timers(tdb) if t.instance_id == case] == []
    with clock.frozen(at("13:00:00")):
        services.complete(tdb, task.id, services.actor_for(tdb, "frontdesk"), {})
    assert services.show_instance(tdb, case, services.Actor.operator()).status == "completed"
    assert len(events(tdb, "escalated", case)) == 1


@pytest.mark.postgres
def test_cases_read_ahead_of_their_due_time_fire_as_they_are_when_due(tdb):
    web = Database(tdb.url)  # another process: the scheduler's cache does not see its work
    untouched, picked_up = start(web, "pickup_reminder"), start(web, "pickup_reminder")
    with clock.frozen(at("09:14:58")):  # a scheduler waiting for 09:15 reads both ahead
        assert timers.parse_ahead(tdb, clock.now() + timers.AHEAD) == 2
    task = next(t for t in inbox(web, "frontdesk", at("09:14:59")) if t.instance_id == picked_up)
    with clock.frozen(at("09:14:59")):
        services.claim(web, task.id, services.actor_for(web, "frontdesk"))
        services.complete(web, task.id, services.actor_for(web, "frontdesk"))  # picked up just in time: no reminder
    web.dispose()

    assert [f.instance_id for f in fire(tdb, at("09:15:01"))] == [untouched]
    assert [e.instance_id for e in events(tdb, "escalated")] == [untouched]
    assert [t.instance_id for t in inbox(tdb, "supervisor", at("09:15:01"))] == [untouched]
    assert events(tdb, "timer_fired", picked_up) == []


def test_cycle_reminder_fires_each_repetition_then_stops(tdb):
    case = start(tdb, "hourly_nudge")  # R2/PT1H: at 10:00 and 11:00
    assert fire(tdb, at("09:59:59")) == []
    assert len(fire(tdb, at("10:00:01"))) == 1
    assert fire(tdb, at("10:59:59")) == []
    assert len(fire(tdb, at("11:00:01"))) == 1
    assert fire(tdb, at("15:00:00")) == [] and timers.list_timers(tdb) == []
    assert [t.name for t in inbox(tdb, "supervisor", at("15:00:00"))] == ["催办维修", "催办维修"]
    assert [e.payload["due_at"] for e in events(tdb, "timer_fired", case)] == [
        "2026-03-02T02:00:00+00:00", "2026-03-02T03:00:00+00:00"]
    assert events(tdb, "timer_cancelled", case) == []
    assert len(events(tdb, "escalated", case)) == 2


def test_timer_started_process_starts_once_per_occurrence_with_the_newest_version(tdb, tmp_path):
    """Daily at 17:00: the first occurrence after deployment, each once, a redeploy keeps the cadence."""
    assert fire(tdb, at("16:59:59")) == []
    [started] = fire(tdb, at("17:00:01"))
    assert (started.outcome, started.process_id, started.elements) == ("started", "daily_report",
                                                                       ("StartEvent_EveryDay",))
    assert fire(tdb, at("17:00:02")) == []  # the same occurrence never starts twice
    assert [t.name for t in inbox(tdb, "manager", at("17:00:02"))] == ["填写日报"]

    changed = tmp_path / "daily_report.bpmn"
    changed.write_text((TIMER_DIAGRAMS / "daily_report.bpmn").read_text(encoding="utf-8")
                       .replace("填写日报", "填写当日报表"), encoding="utf-8")
    with clock.frozen(at("18:00:00")):
        services.deploy_paths(tdb, [changed], services.Actor.operator())
    assert fire(tdb, at("16:59:59", day=3)) == []
    [next_day] = fire(tdb, at("17:00:01", day=3))
    assert services.show_instance(tdb, next_day.instance_id, services.Actor.operator()).version == 2
    [fired] = events(tdb, "timer_fired", next_day.instance_id)
    assert fired.payload["due_at"] == "2026-03-03T09:00:00+00:00" and fired.payload["occurrences"] == 1


def test_after_downtime_missed_occurrences_start_one_case_not_a_burst(tdb):
    assert len(fire(tdb, at("17:00:01"))) == 1
    # down from Monday evening to Thursday morning: Tuesday's and Wednesday's 17:00 were missed
    [caught_up] = [f for f in fire(tdb, at("09:00:00", day=5)) if f.process_id == "daily_report"]
    [fired] = events(tdb, "timer_fired", caught_up.instance_id)
    assert (fired.payload["due_at"], fired.payload["occurrences"]) == ("2026-03-03T09:00:00+00:00", 2)
    [schedule] = [s for s in timers.list_start_schedules(tdb) if s.process_id == "daily_report"]
    assert local(schedule.next_start_at) == "03-05 17:00:00"


def test_date_timer_start_starts_exactly_once(tdb):
    assert [f.process_id for f in fire(tdb, at("08:59:59", day=5))] == ["daily_report"]
    assert [f.process_id for f in fire(tdb, at("09:00:01", day=5))] == ["one_off_audit"]
    assert [f.process_id for f in fire(tdb, at("09:00:00", day=9))] == ["daily_report"]
    [audit] = [s for s in timers.list_start_schedules(tdb) if s.process_id == "one_off_audit"]
    assert audit.next_start_at is None


def test_failing_timer_is_retried_with_backoff_then_becomes_an_incident(tdb):
    case = start(tdb, "broken_after_wait")  # fires at 09:10, then the script divides by zero
    outcomes = []
    for moment in ("09:10:01", "09:10:30", "09:10:32", "09:11:33", "09:13:34", "09:17:35"):
        outcomes.append([(f.outcome, f.retry_at and local(f.retry_at)) for f in fire(tdb, at(moment))])
    assert outcomes == [[("retry", "03-02 09:10:31")], [], [("retry", "03-02 09:11:32")],
                        [("retry", "03-02 09:13:33")], [("retry", "03-02 09:17:34")], [("incident", None)]]

    assert services.show_instance(tdb, case, services.Actor.operator()).status == "incident"
    [incident] = events(tdb, "incident", case)
    assert "Script_Divide" in incident.payload["message"] and incident.payload["attempt"] == 5
    assert incident.payload["due_at"] == "2026-03-02T01:10:00+00:00"
    assert len(events(tdb, "timer_failed", case)) == 4
    assert [f for f in fire(tdb, at("12:00:00", day=9)) if f.instance_id == case] == []  # not forever
    assert [(t.instance_id, t.status) for t in timers.list_timers(tdb)] == [(case, "incident")]

    with pytest.raises(Forbidden):
        timers.retry_incident(tdb, case, services.actor_for(tdb, "frontdesk"))
    timers.retry_incident(tdb, case, services.actor_for(tdb, "admin"))
    with pytest.raises(Conflict):
        timers.retry_incident(tdb, case, services.actor_for(tdb, "admin"))
    assert [f.outcome for f in fire(tdb, at("12:00:01", day=9)) if f.instance_id == case] == ["retry"]


def test_real_periodic_duty_starts_and_escalates_to_the_supervisor(empty_db):
    """每日投诉跟进 (processes/): starts at 17:00, escalates to cs-supervisor when not done by 18:00."""
    prepare(empty_db, ROOT / "processes" / "complaint_daily_followup.bpmn", ROOT / "processes" / "escalation_policy.dmn")
    [started] = fire(empty_db, at("17:00:01"))
    assert [t.name for t in inbox(empty_db, "frontdesk", at("17:00:01"))] == ["跟进当日投诉处理情况"]
    assert fire(empty_db, at("18:00:00")) == []
    assert [f.instance_id for f in fire(empty_db, at("18:00:02"))] == [started.instance_id]
    assert [t.name for t in inbox(empty_db, "supervisor", at("18:00:02"))] == ["当日投诉未跟进督办"]
    assert [t.escalated for t in inbox(empty_db, "frontdesk", at("18:00:02"))] == [True]
    assert overdue(empty_db, "frontdesk", at("18:00:02")) == [True]


@pytest.mark.postgres
def test_concurrent_firing_fires_each_timer_exactly_once(tdb):
    cases = [start(tdb, "pickup_reminder") for _ in range(40)]
    results: list[list[timers.Firing]] = []

    def worker() -> None:
        results.append(timers.fire_due(tdb))

    with clock.frozen(at("09:15:01")):  # the frozen clock is shared by both threads
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    fired = Counter(f.instance_id for batch in results for f in batch)
    assert sorted(fired) == cases and set(fired.values()) == {1}
    assert Counter(e.instance_id for e in events(tdb, "timer_fired")) == Counter({c: 1 for c in cases})


def test_cli_lists_waiting_timers_and_fires_what_is_due(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    db = Database(url)
    db.upgrade_schema()
    case = start(prepare(db, TIMER_DIAGRAMS), "pickup_reminder")
    db.dispose()
    env = {**os.environ, "BPMDESK_DATABASE_URL": url,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}

    def bpmdesk(now: str, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", *args],
                                cwd=tmp_path, capture_output=True, text=True, timeout=60,
                                env={**env, "BPMDESK_NOW": now})
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
        return result

    listing = bpmdesk(at("09:00:00"), "timers").stdout
    assert f"{case}     pickup_reminder  Timer_PickUpOverdue  15分钟未取单" in listing
    assert "2026-03-02 09:15:00  reminder" in listing
    [item] = json.loads(bpmdesk(at("09:00:00"), "timers", "--json").stdout)
    assert item["due_at"] == "2026-03-02T01:15:00+00:00"

    nothing = bpmdesk(at("09:15:00"), "timers", "fire-due").stdout  # due means the time has passed
    assert nothing.startswith("nothing due at 2026-03-02 09:15:00")
    fired = bpmdesk(at("09:16:00"), "timers", "fire-due").stdout
    assert fired.startswith(f"fired    case {case}  pickup_reminder  Timer_PickUpOverdue  "
                            "due 2026-03-02 09:15:00  fired 2026-03-02 09:16:00")

