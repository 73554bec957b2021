"""P1 complaint handling (processes/complaint_handling.bpmn) walked through the service layer."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

P1 = "complaint_handling"
COMPLAINT = {
    "customer_name": "张三", "phone": "13800000001", "room": "3-1-502", "channel": "phone",
    "occurred_at": "2026-03-02 08:30", "place": "3号楼电梯厅", "description": "电梯厅地面积水无人清理",
    "read_back_confirmed": "true",
}


def received(desk: Desk, kind: str = "soft", severity: str = "general", dept: str = "cleaning") -> int:
    """A valid complaint, classified and dispatched to ``dept``."""
    case = desk.start(P1, "frontdesk", **COMPLAINT)
    desk.complete(case, "Task_ClassifyComplaint", "frontdesk",
                  complaint_kind=kind, complaint_severity=severity, validity="valid")
    desk.complete(case, "Task_DispatchToDepartment", "frontdesk", responsible_dept=dept)
    return case


def handled(desk: Desk, case: int, worker: str = "cleaner") -> None:
    """Soft complaint: picked up, reacted to, checked, recorded and the record accepted."""
    desk.complete(case, "Task_PickUpTicket", worker)
    desk.complete(case, "Task_SoftReaction", worker, reaction_note="已派人清理积水")
    desk.complete(case, "Task_SoftVerify", "frontdesk", verify_note="现场已清理")
    record(desk, case, worker)
    accept_record(desk, case)


def record(desk: Desk, case: int, worker: str) -> None:
    desk.complete(case, "Task_RecordHandling", worker,
                  handling_result="积水已清理，地漏已疏通")


def accept_record(desk: Desk, case: int) -> None:
    desk.complete(case, "Task_CheckRecord", "frontdesk2",
                  record_complete="true", matter_resolved="true", head_signed="true")


def test_soft_complaint_happy_path_reaches_archive(desk):
    case = received(desk)
    assert desk.task(case, "Task_PickUpTicket").candidate_groups == ("cleaning",)
    assert desk.task(case, "Task_PickUpTicket").customer_name == "张三"
    handled(desk, case)
    follow_up = desk.task(case, "Task_FollowUpVisit")
    assert follow_up.candidate_groups == ("front-desk",)
    desk.complete(case, "Task_FollowUpVisit", "frontdesk", visit_result="业户满意", satisfaction="satisfied")
    assert desk.status(case) == "completed"
    assert desk.data(case)["handling_result"] == "积水已清理，地漏已疏通"


def test_department_group_follows_the_dispatch(desk):
    case = received(desk, dept="engineering")
    assert desk.task(case, "Task_PickUpTicket").candidate_groups == ("engineering",)
    assert "Task_PickUpTicket" in desk.inbox("engineer", case)
    assert "Task_PickUpTicket" not in desk.inbox("cleaner", case)


def test_invalid_complaint_is_declined_with_a_recorded_reason(desk):
    case = desk.start(P1, "frontdesk", **COMPLAINT)
    desk.complete(case, "Task_ClassifyComplaint", "frontdesk",
                  complaint_kind="soft", complaint_severity="general", validity="invalid")
    assert desk.open_elements(case) == {"Task_DeclineInvalidComplaint"}
    desk.complete(case, "Task_DeclineInvalidComplaint", "frontdesk",
                  decline_reason="业主室内私人装修纠纷，不属物业服务合同范围", complainant_informed="true")
    assert desk.status(case) == "completed"
    assert desk.data(case)["decline_reason"].startswith("业主室内私人装修纠纷")


AGREED_15H = "2026-03-02T15:00+08:00"


def major_reported(desk: Desk, agreed: str = AGREED_15H) -> int:
    """A major complaint: reply time agreed with the owner, incident reported to the GM's assistant."""
    case = received(desk, severity="major")
    assert desk.open_elements(case) == {"Task_PickUpTicket", "Task_AgreeReplyTime"}
    assert desk.task(case, "Task_AgreeReplyTime").candidate_groups == ("front-desk",)
    desk.complete(case, "Task_AgreeReplyTime", "frontdesk", explanation_to_owner="需公司领导决定赔偿方案",
                  agreed_reply_at=agreed)
    assert desk.task(case, "Task_ReportToGM").candidate_groups == ("cs-manager",)
    desk.complete(case, "Task_ReportToGM", "manager", incident_time="2026-03-02 08:30", incident_symptoms="电梯厅积水",
                  emergency_plan="抽水并封闭电梯厅", manager_report="已通知保洁、工程到场")
    assert desk.data(case)["reported_by"] == "manager"
    return case


def test_major_complaint_reply_time_report_review_and_problem_analysis(desk):
    """002 四: agree a reply time; 002 第二篇: incident report, then the 问题分析报告 to the GM's office."""
    case = major_reported(desk)
    assert desk.task(case, "Task_GMReview").candidate_groups == ("gm",)
    assert desk.task(case, "Task_ReplyAtAgreedTime").candidate_groups == ("front-desk",)
    handled(desk, case)
    desk.complete(case, "Task_FollowUpVisit", "frontdesk", visit_result="满意", satisfaction="satisfied")
    desk.complete(case, "Task_GMReview", "gm", review_measures="增加巡查频次", responsible_person="保洁主管")
    assert "Task_ProblemAnalysisReport" not in desk.open_elements(case), "the report comes after the event"
    desk.complete(case, "Task_ReplyAtAgreedTime", "frontdesk", reply_to_owner="赔偿方案已确定")
    report = desk.task(case, "Task_ProblemAnalysisReport")
    assert report.candidate_groups == ("cs-supervisor",)
    assert desk.status(case) == "running", "the case waits for the analysis report"
    desk.complete(case, "Task_ProblemAnalysisReport", "supervisor", incident_impact="业主出行不便",
                  handling_summary="当日清理", cause_analysis="地漏堵塞", corrective_preventive_measures="每周疏通地漏",
                  analysis_sent_to_gm_office="true")
    assert desk.status(case) == "completed"
    assert (desk.data(case)["responsible_person"], desk.data(case)["analysis_by"]) == ("保洁主管", "supervisor")


def test_a_major_complaint_not_answered_by_the_agreed_time_is_escalated(desk):
    case = major_reported(desk)
    desk.wait(hours=5, minutes=59)  # 14:59, the reply was agreed for 15:00
    assert "Task_RemindAgreedReply" not in desk.open_elements(case)
    desk.wait(minutes=2)  # 15:01
    assert desk.task(case, "Task_RemindAgreedReply").candidate_groups == ("cs-supervisor",)
    assert "Task_ReplyAtAgreedTime" in desk.open_elements(case), "the reply is still owed"


def test_the_agreed_reply_time_is_required(desk):
    case = received(desk, severity="major")
    with pytest.raises(InvalidInput) as refused:
        desk.complete(case, "Task_AgreeReplyTime", "frontdesk", explanation_to_owner="需领导决定")
    assert set(refused.value.field_errors) == {"agreed_reply_at"}


@pytest.mark.parametrize("channel, written", [("letter", True), ("phone", False), ("visit", False)])
def test_a_written_complaint_gets_a_written_reply(desk, channel, written):
    case = desk.start(P1, "frontdesk", **{**COMPLAINT, "channel": channel})
    desk.complete(case, "Task_ClassifyComplaint", "frontdesk", complaint_kind="soft", complaint_severity="general",
                  validity="valid")
    desk.complete(case, "Task_DispatchToDepartment", "frontdesk", responsible_dept="cleaning")
    handled(desk, case)
    desk.complete(case, "Task_FollowUpVisit", "frontdesk", visit_result="满意", satisfaction="satisfied")
    if written:
        assert desk.task(case, "Task_WrittenReply").candidate_groups == ("front-desk",)
        desk.complete(case, "Task_WrittenReply", "frontdesk", recorded_in_complaint_book="true",
                      reported_to_leaders="true", written_reply="积水已清理，地漏已疏通，特此函复。",
                      written_reply_sent_on="2026-03-03")
    assert desk.status(case) == "completed"


def test_general_complaint_needs_no_review(desk):
    case = received(desk)
    assert "Task_ReportToGM" not in desk.open_elements(case)


def test_incomplete_record_goes_back_to_the_department(desk):
    case = received(desk)
    desk.complete(case, "Task_PickUpTicket", "cleaner")
    desk.complete(case, "Task_SoftReaction", "cleaner", reaction_note="已处理")
    desk.complete(case, "Task_SoftVerify", "frontdesk", verify_note="已核对")
    record(desk, case, "cleaner")
    desk.complete(case, "Task_CheckRecord", "frontdesk", record_complete="true", matter_resolved="true",
                  head_signed="false", check_note="部门负责人未签字")
    back = desk.task(case, "Task_RecordHandling")
    assert back.candidate_groups == ("cleaning",)
    record(desk, case, "cleaner")
    accept_record(desk, case)
    assert desk.open_elements(case) == {"Task_FollowUpVisit"}


def test_hard_complaint_gets_two_responses(desk):
    case = received(desk, kind="hard", dept="engineering")
    desk.complete(case, "Task_PickUpTicket", "engineer")
    assert desk.open_elements(case) == {"Task_HardFirstResponse"}
    desk.complete(case, "Task_HardFirstResponse", "engineer", first_response="已联系业户，安排检修")
    desk.complete(case, "Task_HardSecondResponse", "engineer", second_response="配件已订",
                  estimated_resolution="明天上午")
    assert desk.open_elements(case) == {"Task_RecordHandling"}


def test_suggestions_from_the_visit_go_to_the_department(desk):
    case = received(desk)
    handled(desk, case)
    desk.complete(case, "Task_FollowUpVisit", "frontdesk", visit_result="基本满意", satisfaction="fair",
                  has_suggestions="true", suggestions="希望雨天多巡查")
    forward = desk.task(case, "Task_ForwardSuggestions")
    assert forward.candidate_groups == ("cleaning",)
    desk.complete(case, "Task_ForwardSuggestions", "cleaner", suggestion_response="雨天增加巡查")
    assert desk.status(case) == "completed"


def test_follow_up_is_delegated_at_shift_handover(desk):
    case = received(desk)
    handled(desk, case)
    desk.claim(case, "Task_FollowUpVisit", "frontdesk")
    desk.delegate(case, "Task_FollowUpVisit", "frontdesk", "frontdesk2")
    assert desk.task(case, "Task_FollowUpVisit").assignee == "frontdesk2"
    desk.complete(case, "Task_FollowUpVisit", "frontdesk2", visit_result="满意", satisfaction="satisfied")
    assert desk.status(case) == "completed"


# --- service levels --------------------------------------------------------------------------

def escalations(desk: Desk, case: int) -> dict[str, tuple[str, ...]]:
    return {t.element_id: t.candidate_groups for t in desk.open_tasks(case)
            if t.element_id.startswith(("Task_Escalate", "Task_Remind"))}


def test_pickup_not_within_15_minutes_escalates_to_the_supervisor(desk):
    case = received(desk)
    desk.wait(minutes=14)
    assert escalations(desk, case) == {}
    desk.wait(minutes=2)
    assert escalations(desk, case) == {"Task_EscalatePickUp": ("cs-supervisor",)}
    assert "Task_PickUpTicket" in desk.open_elements(case), "the ticket stays open"
    assert "Task_EscalatePickUp" in desk.inbox("supervisor", case)


def test_pickup_in_time_never_escalates(desk):
    case = received(desk)
    desk.wait(minutes=10)
    desk.complete(case, "Task_PickUpTicket", "cleaner")
    desk.wait(minutes=10)
    assert "Task_EscalatePickUp" not in escalations(desk, case)


def test_soft_complaint_reaction_15_minutes_and_check_30_minutes_from_receipt(desk):
    """第7篇 五 12: received at 09:00 and picked up at 09:14, the reaction is late at 09:15, the check at 09:30."""
    case = received(desk)
    desk.wait(minutes=14)
    desk.complete(case, "Task_PickUpTicket", "cleaner")
    assert escalations(desk, case) == {}, "09:14"
    desk.wait(minutes=2)
    assert escalations(desk, case) == {"Task_RemindSoftReaction": ("cs-supervisor",)}, "09:16"
    desk.complete(case, "Task_SoftReaction", "cleaner", reaction_note="已处理")
    desk.wait(minutes=13)
    assert "Task_RemindSoftVerify" not in escalations(desk, case), "09:29"
    desk.wait(minutes=2)
    assert escalations(desk, case)["Task_RemindSoftVerify"] == ("cs-supervisor",), "09:31"
    assert "Task_SoftVerify" in desk.open_elements(case)


def test_a_soft_complaint_picked_up_after_its_limits_is_escalated_at_once(desk):
    case = received(desk)
    desk.wait(minutes=31)
    desk.complete(case, "Task_PickUpTicket", "cleaner")
    desk.wait(minutes=0)
    assert {"Task_RemindSoftReaction", "Task_RemindSoftVerify"} <= set(escalations(desk, case))


def test_hard_complaint_first_response_1_hour_second_3_hours_from_receipt(desk):
    """第7篇 六 6: 在接到顾客投诉的1小时内…在3小时后，需向顾客作出第二反应."""
    case = received(desk, kind="hard", dept="engineering")
    desk.wait(minutes=14)
    desk.complete(case, "Task_PickUpTicket", "engineer")
    desk.wait(minutes=45)
    assert escalations(desk, case) == {}, "09:59"
    desk.wait(minutes=2)
    assert escalations(desk, case) == {"Task_RemindHardFirstResponse": ("cs-supervisor",)}, "10:01"
    desk.complete(case, "Task_HardFirstResponse", "engineer", first_response="已回应")
    desk.wait(hours=1, minutes=58)
    assert "Task_RemindHardSecondResponse" not in escalations(desk, case), "11:59"
    desk.wait(minutes=2)
    assert escalations(desk, case)["Task_RemindHardSecondResponse"] == ("cs-supervisor",), "12:01"


def follow_up_pending(desk: Desk, kind: str) -> int:
    case = received(desk, kind=kind, dept="engineering")
    desk.complete(case, "Task_PickUpTicket", "engineer")
    if kind == "hard":
        desk.complete(case, "Task_HardFirstResponse", "engineer", first_response="已回应")
        desk.complete(case, "Task_HardSecondResponse", "engineer", second_response="已回应",
                      estimated_resolution="今天")
    else:
        desk.complete(case, "Task_SoftReaction", "engineer", reaction_note="已处理")
        desk.complete(case, "Task_SoftVerify", "frontdesk", verify_note="已核对")
    record(desk, case, "engineer")
    accept_record(desk, case)
    return case


def test_hard_complaint_follow_up_within_24_hours(desk):
    case = follow_up_pending(desk, "hard")
    desk.wait(hours=23, minutes=59)
    assert "Task_RemindFollowUp" not in escalations(desk, case)
    desk.wait(minutes=2)
    assert escalations(desk, case)["Task_RemindFollowUp"] == ("cs-supervisor",)
    assert "Task_FollowUpVisit" in desk.open_elements(case)


def test_soft_complaint_follow_up_has_no_24_hour_limit(desk):
    case = follow_up_pending(desk, "soft")
    desk.wait(hours=25)
    assert "Task_RemindFollowUp" not in escalations(desk, case)
    desk.complete(case, "Task_FollowUpVisit", "frontdesk", visit_result="满意", satisfaction="satisfied")
    assert desk.status(case) == "completed"


def test_an_open_reminder_of_the_agreed_reply_ends_with_the_case(desk):
    case = major_reported(desk)
    desk.wait(hours=6, minutes=1)
    assert "Task_RemindAgreedReply" in desk.open_elements(case)
    handled(desk, case)
    desk.complete(case, "Task_FollowUpVisit", "frontdesk", visit_result="满意", satisfaction="satisfied")
    desk.complete(case, "Task_GMReview", "gm", review_measures="增加巡查频次", responsible_person="保洁主管")
    desk.complete(case, "Task_ReplyAtAgreedTime", "frontdesk", reply_to_owner="已答复")
    desk.complete(case, "Task_ProblemAnalysisReport", "supervisor", incident_impact="小", handling_summary="已处理",
                  cause_analysis="地漏堵塞", corrective_preventive_measures="定期疏通",
                  analysis_sent_to_gm_office="true")
    assert desk.status(case) == "completed" and desk.open_elements(case) == set()
