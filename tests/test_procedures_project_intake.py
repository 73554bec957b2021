"""项目对接 project intake (project_intake.bpmn + project_routing.dmn, project_daily_summary.bpmn),
seed 001: a total above 50 goes to the investment director, other projects are re-contacted weekly."""
from __future__ import annotations

from engine import clock
from test_procedures_periodic import just_before_next_start, started
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

PROJECT = {"project_name": "智慧养老社区", "industry": "养老", "financing_size": "3000万元", "financing_method": "股权",
           "contact": "周总 13300000009"}


def scored(desk: Desk, score: int) -> int:
    case = desk.start("project_intake", "specialist", **PROJECT)
    desk.complete(case, "Task_VerifyProject", "specialist", verified="true")
    desk.complete(case, "Task_ScoreProject", "specialist", total_score=str(score))
    return case


def test_a_project_scoring_above_50_goes_to_the_investment_director(desk):
    case = scored(desk, 51)
    assert desk.task(case, "Task_DirectorReview").candidate_groups == ("investment-director",)
    desk.complete(case, "Task_DirectorReview", "investdir", director_decision="约见面谈")
    assert desk.status(case) == "completed"


def test_a_project_of_50_is_not_compliant_and_is_re_contacted_after_a_week(desk):
    case = scored(desk, 50)
    assert desk.open_elements(case) == set()
    desk.wait(days=6, hours=23, minutes=59)
    assert "Task_Recontact" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_Recontact").candidate_groups == ("cs-specialist",)
    desk.complete(case, "Task_Recontact", "specialist", recontact_result="not_yet")
    desk.wait(days=7, minutes=1)
    desk.complete(case, "Task_Recontact", "specialist", recontact_result="rescore")
    desk.complete(case, "Task_ScoreProject", "specialist", total_score="62")
    assert "Task_DirectorReview" in desk.open_elements(case)


def test_the_daily_summary_goes_to_the_director_and_is_escalated_a_day_later(procedures_db):
    """17:00 and the one-day deadline are the centre's reading (the manual says only "每日")."""
    desk = just_before_next_start(procedures_db, "project_daily_summary")
    desk.wait(minutes=1, seconds=1)
    assert desk.now.astimezone(clock.local_tz()).strftime("%H:%M") == "17:00"
    case = started(desk, "project_daily_summary")
    assert desk.task(case, "Task_SendDailySummary").candidate_groups == ("cs-specialist",)
    desk.wait(hours=23, minutes=59)
    assert "Task_RemindDailySummary" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindDailySummary").candidate_groups == ("cs-supervisor",)
    desk.wait(minutes=59)  # the supervisor's hour runs from when the 督办 opened (the wait above fired it)
    assert "Task_RemindDailySummaryToManager" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindDailySummaryToManager").candidate_groups == ("cs-manager",)
