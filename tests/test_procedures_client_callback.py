"""客户资料与回访 client files and call-backs (client_callback.bpmn, callback_summary_report.bpmn), seed 001
客服部工作职责 篇二 and seed 003 第四篇: the supervisor assigns, the specialist contacts within a week,
a busy customer is called back at the booked time."""
from __future__ import annotations

from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)


def assigned(desk: Desk) -> int:
    case = desk.start("client_callback", "specialist", customer_name="钱九", phone="13900000010", client_profile="老客户")
    assert desk.task(case, "Task_AssignClient").candidate_groups == ("cs-supervisor",)
    desk.complete(case, "Task_AssignClient", "supervisor", client_category="重点客户", assigned_specialist="specialist")
    return case


def test_the_assigned_specialist_must_contact_the_client_within_a_week(desk):
    case = assigned(desk)
    assert desk.task(case, "Task_ContactClient").assignee == "specialist"
    desk.wait(days=7, minutes=-1)
    assert "Task_RemindContact" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindContact").candidate_groups == ("cs-supervisor",)


def test_a_busy_client_is_called_back_at_the_booked_time(desk):
    case = assigned(desk)
    desk.complete(case, "Task_ContactClient", "specialist", contact_method="phone", customer_busy="true",
                  callback_at="2026-03-02T15:00", callback_result="客户开会，约下午三点")
    desk.wait(hours=5, minutes=59)
    assert "Task_CallBackAsBooked" not in desk.open_elements(case)
    desk.wait(minutes=2)
    desk.complete(case, "Task_CallBackAsBooked", "specialist", callback_result="已回访", satisfaction="satisfied")
    assert desk.status(case) == "completed"


def test_the_round_ends_with_the_summary_report(desk):
    case = desk.start("callback_summary_report", "supervisor", round_name="3月统一回访", clients_called="40")
    desk.complete(case, "Task_WriteReport", "supervisor", analysis="满意率90%", summary_report="回访总结报告", archived="true")
    assert desk.status(case) == "completed"
