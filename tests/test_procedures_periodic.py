"""Periodic duties: the daily complaint follow-up and the weekly summaries start on timers.

An instance is started by the operator (as the scheduler does) just before the cycle's first time;
the duty's task must appear when the timer fires, for the right group, and be escalated when its
deadline passes.
"""
from __future__ import annotations

import pytest

from engine import services
from engine.store import Database
from test_procedures_support import Desk, procedures_db  # noqa: F401 (fixture)

DUTIES = [  # process, first time of the cycle, task, group, deadline, escalation
    ("complaint_daily_followup", "2026-01-05T17:00:00", "Task_FollowUpTodaysComplaints", "front-desk",
     {"hours": 1}, "Task_RemindDailyFollowUp"),
    ("complaint_weekly_summary", "2026-01-05T09:00:00", "Task_SummarizeWeeklyComplaints", "front-desk",
     {"hours": 8}, "Task_RemindWeeklySummary"),
    ("satisfaction_weekly_summary", "2026-01-05T09:00:00", "Task_SummarizeSatisfaction", "service-center",
     {"hours": 8}, "Task_RemindSatisfactionSummary"),
]


def started_before(db: Database, process_id: str, first: str) -> tuple[Desk, int]:
    desk = Desk(db, start_at=first)
    desk.wait(minutes=-1)
    return desk, desk.start(process_id, None)


@pytest.mark.parametrize("process_id, first, task, group, deadline, escalation", DUTIES,
                         ids=[d[0] for d in DUTIES])
def test_duty_appears_on_time_and_is_escalated_when_missed(procedures_db, process_id, first, task, group, deadline,
                                                          escalation):
    desk, case = started_before(procedures_db, process_id, first)
    assert task not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, task).candidate_groups == (group,)
    desk.wait(**deadline, minutes=-2)
    assert escalation not in desk.open_elements(case)
    desk.wait(minutes=3)
    assert desk.task(case, escalation).candidate_groups == ("cs-supervisor",)
    assert task in desk.open_elements(case), "the duty stays open"


def test_weekly_complaint_summary_goes_to_the_manager(procedures_db):
    desk, case = started_before(procedures_db, "complaint_weekly_summary", "2026-01-05T09:00:00")
    desk.wait(minutes=2)
    desk.complete(case, "Task_SummarizeWeeklyComplaints", "frontdesk", complaints_count="12", major_count="1",
                  weekly_summary="本周投诉12起，其中重大1起")
    assert desk.task(case, "Task_ManagerReviewsSummary").candidate_groups == ("cs-manager",)


def test_periodic_duties_are_not_started_by_hand(procedures_db):
    startable = {d.process_id for d in services.startable(procedures_db, "frontdesk")}
    assert "complaint_handling" in startable
    assert not startable & {d[0] for d in DUTIES}
