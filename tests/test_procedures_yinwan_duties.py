"""002's periodic duties (seed 002 第一篇 三（二）制度執行): each starts by itself on its timer cycle,
puts one task in the front desk's inbox and is escalated to the CS supervisor when its deadline
passes (checked one minute before and one minute after), the task staying open."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

import pytest

from engine import clock
from test_procedures_periodic import just_before_next_start, started
from test_procedures_support import procedures_db  # noqa: F401 (fixture)


def next_month(start: datetime) -> datetime:
    return (start.replace(day=1) + timedelta(days=32)).replace(day=1)


Due = Callable[[datetime], datetime]
DUTIES: list[tuple[str, str, str, Due, str]] = [
    # process, when it starts (weekly: Monday; monthly: the 1st; at 00:00), task, deadline, escalation
    ("quality_check_weekly", "monday", "Task_QualityCheck", lambda s: s + timedelta(days=1),
     "Task_RemindQualityCheck"),  # 周二前上报: before Tuesday 00:00
    ("meeting_minutes_half_monthly", "monday", "Task_SubmitMinutes", lambda s: s + timedelta(weeks=2),
     "Task_RemindSubmitMinutes"),
    ("work_memo_monthly", "first", "Task_SubmitMemo", lambda s: s + timedelta(days=28),
     "Task_RemindSubmitMemo"),  # 28号: the end of the 28th
    ("finance_summary_monthly", "first", "Task_ReportFinanceSummary", lambda s: s.replace(day=23),
     "Task_RemindReportFinanceSummary"),  # 23日前
    ("monthly_statistics", "first", "Task_ReportStatistics", lambda s: s.replace(day=25),
     "Task_RemindReportStatistics"),  # 25日前
    ("owner_callback_monthly", "first", "Task_OwnerCallbacks", next_month, "Task_RemindOwnerCallbacks"),
    ("online_training_weekly", "monday", "Task_AttendTraining", lambda s: s + timedelta(weeks=1),
     "Task_RemindAttendTraining"),
]


@pytest.mark.parametrize("process_id, when, task, due, escalation", DUTIES, ids=[d[0] for d in DUTIES])
def test_duty_starts_on_time_and_is_escalated_when_its_deadline_passes(procedures_db, process_id, when, task, due,
                                                                       escalation):
    desk = just_before_next_start(procedures_db, process_id)
    start = (desk.now + timedelta(minutes=1)).astimezone(clock.local_tz())
    assert (start.hour, start.minute) == (0, 0)
    assert start.weekday() == 0 if when == "monday" else start.day == 1
    before = started(desk, process_id)
    desk.wait(minutes=0)
    assert started(desk, process_id) == before, "nothing before its time"
    desk.wait(minutes=1, seconds=1)  # due once its time has passed: the deadline counts from here
    case = started(desk, process_id)
    assert case not in (None, before)
    assert desk.task(case, task).candidate_groups == ("front-desk",)
    deadline = due(start)
    desk.wait(seconds=(deadline - timedelta(minutes=1) - desk.now).total_seconds())
    assert escalation not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, escalation).candidate_groups == ("cs-supervisor",)
    assert task in desk.open_elements(case), "the duty stays open"


def test_the_weekly_quality_check_is_reported_and_closes(procedures_db):
    desk = just_before_next_start(procedures_db, "quality_check_weekly")
    desk.wait(minutes=2)
    case = started(desk, "quality_check_weekly")
    desk.complete(case, "Task_QualityCheck", "frontdesk", checked_items="大堂、电梯、车库", findings="车库照明2处损坏",
                  reported="true")
    assert desk.status(case) == "completed"
