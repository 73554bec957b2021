"""Periodic duties: the daily complaint follow-up and the weekly summaries start on timers.

The scheduler starts a case at each occurrence of the timer start event's cycle (counted from the
deployment); the duty's task must then be in the inbox of the right group and be escalated when its
deadline passes.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import clock, services
from engine.services.timers import StartItem, list_start_schedules
from engine.store import Database
from test_procedures_support import Desk, procedures_db  # noqa: F401 (fixture)

DUTIES = [  # process, local time of day and weekday (None: daily), task, group, deadline, escalation
    ("complaint_daily_followup", 17, None, "Task_FollowUpTodaysComplaints", "front-desk", {"hours": 1},
     "Task_RemindDailyFollowUp"),
    ("complaint_weekly_summary", 9, 0, "Task_SummarizeWeeklyComplaints", "front-desk", {"hours": 8},
     "Task_RemindWeeklySummary"),
    ("satisfaction_weekly_summary", 9, 0, "Task_SummarizeSatisfaction", "service-center", {"hours": 8},
     "Task_RemindSatisfactionSummary"),
]


def schedule(db: Database, process_id: str) -> StartItem:
    services.fire_due_timers(db)  # brings the start schedules up to date with the deployment
    return next(s for s in list_start_schedules(db) if s.process_id == process_id)


def just_before_next_start(db: Database, process_id: str) -> Desk:
    """Schedules only move forward, so this is after anything an earlier test did."""
    return Desk(db, start_at=schedule(db, process_id).next_start_at - timedelta(minutes=1))


def started(desk: Desk, process_id: str) -> int | None:
    with clock.frozen(desk.now):
        return schedule(desk.db, process_id).last_instance_id


@pytest.mark.parametrize("process_id, hour, weekday, task, group, deadline, escalation", DUTIES,
                         ids=[d[0] for d in DUTIES])
def test_duty_starts_on_time_and_is_escalated_when_missed(procedures_db, process_id, hour, weekday, task,
                                                         group, deadline, escalation):
    desk = just_before_next_start(procedures_db, process_id)
    at = (desk.now + timedelta(minutes=1)).astimezone(clock.local_tz())
    assert at.hour == hour and weekday in (None, at.weekday())
    before = started(desk, process_id)
    desk.wait(minutes=0)
    assert started(desk, process_id) == before, "nothing before its time"
    desk.wait(minutes=2)
    case = started(desk, process_id)
    assert case not in (None, before)
    assert desk.task(case, task).candidate_groups == (group,)
    desk.wait(**deadline, minutes=-2)
    assert escalation not in desk.open_elements(case)
    desk.wait(minutes=3)
    assert desk.task(case, escalation).candidate_groups == ("cs-supervisor",)
    assert task in desk.open_elements(case), "the duty stays open"


def test_weekly_complaint_summary_goes_to_the_manager(procedures_db):
    desk = just_before_next_start(procedures_db, "complaint_weekly_summary")
    desk.wait(minutes=2)
    case = started(desk, "complaint_weekly_summary")
    desk.complete(case, "Task_SummarizeWeeklyComplaints", "frontdesk", complaints_count="12", major_count="1",
                  weekly_summary="本周投诉12起，其中重大1起")
    assert desk.task(case, "Task_ManagerReviewsSummary").candidate_groups == ("cs-manager",)


def test_periodic_duties_are_not_started_by_hand(procedures_db):
    startable = {d.process_id for d in services.startable(procedures_db, services.actor_for(procedures_db, "frontdesk"))}
    assert "complaint_handling" in startable
    assert not startable & {d[0] for d in DUTIES}
