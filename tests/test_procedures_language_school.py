"""开口英语 language-school customer service (language_school_service.bpmn, language_school_progress.bpmn),
seed 000 第5篇: consultant → demo → follow-up → enrolment → first lesson, a one-to-two-week vocabulary
camp for a student without basics, and the monthly progress talks."""
from __future__ import annotations

from datetime import timedelta

from engine import clock
from test_procedures_periodic import just_before_next_start, started
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)


def first_lesson(desk: Desk, basics: str) -> int:
    case = desk.start("language_school_service", "frontdesk", customer_name="陈同学", phone="13800000011")
    assert desk.task(case, "Task_Consult").candidate_groups == ("course-consultant",)
    desk.complete(case, "Task_Consult", "consultant", test_level="A2", start_point_goal="口语流利", rough_plan="一年")
    desk.complete(case, "Task_Demo", "consultant", recommended_class="初级班")
    desk.complete(case, "Task_FollowUp", "consultant", decision="follow", concerns="费用")
    desk.complete(case, "Task_FollowUp", "consultant", decision="enrol")
    desk.complete(case, "Task_Enrol", "frontdesk", enrolled="true", materials_given="true")
    desk.complete(case, "Task_DetailedPlan", "teacher", detailed_plan="每周三次", initial_video="true", file_created="true")
    desk.complete(case, "Task_FirstLesson", "assistant", has_basics=basics)
    return case


def test_a_student_with_basics_goes_straight_to_the_course(desk):
    case = first_lesson(desk, "true")
    assert desk.task(case, "Task_PromotionExam").candidate_groups == ("teacher",)


def test_the_vocabulary_camp_is_escalated_after_two_weeks(desk):
    case = first_lesson(desk, "false")
    assert desk.task(case, "Task_VocabularyCamp").candidate_groups == ("teaching-assistant",)
    desk.wait(weeks=2, minutes=-1)
    assert "Task_RemindCamp" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert "Task_RemindCamp" in desk.open_elements(case)
    desk.complete(case, "Task_VocabularyCamp", "assistant", camp_done="true")
    assert "Task_PromotionExam" in desk.open_elements(case)


def test_each_month_opens_the_review_and_advice_on_the_1st_and_the_talk_mid_month(procedures_db):
    desk = just_before_next_start(procedures_db, "language_school_progress")
    desk.wait(minutes=1, seconds=1)
    case = started(desk, "language_school_progress")
    assert (desk.now.astimezone(clock.local_tz()).day, desk.open_elements(case)) == (
        1, {"Task_MonthEndReview", "Task_MonthStartAdvice"})
    desk.wait(days=14, minutes=-1)
    assert "Task_MidMonthTalk" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_MidMonthTalk").candidate_groups == ("teacher",)
    assert (desk.now - timedelta(minutes=1)).astimezone(clock.local_tz()).day == 15
