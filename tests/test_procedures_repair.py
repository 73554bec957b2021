"""P2 engineering repair (engineering_repair.bpmn) and P4 product repair (product_repair.bpmn)."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

P2 = "engineering_repair"
P4 = "product_repair"
REPAIR = {"customer_name": "王五", "phone": "13700000003", "room": "5-2-301", "repair_content": "卫生间水管漏水",
          "appointment_time": "今天下午"}
FURNITURE = {"customer_name": "赵六", "phone": "13600000004", "address": "滨江路8号", "product": "实木衣柜 W-200",
             "fault": "柜门合页松脱"}


# --- P2 -----------------------------------------------------------------------------------------

def reported(desk: Desk, urgency: str = "normal", simple: bool = True, reporter: str = "owner") -> int:
    return desk.start(P2, "frontdesk", **REPAIR, urgency=urgency, simple_job=str(simple).lower(), reporter=reporter)


def on_site(desk: Desk, case: int, **quote) -> None:
    desk.complete(case, "Task_AssignTechnician", "engineer", technician="赵强")
    desk.complete(case, "Task_ArriveOnSite", "engineer")
    desk.complete(case, "Task_InspectAndQuote", "engineer", diagnosis="阀门老化",
                  **({"finish_today": "true"} | quote))


def test_repair_happy_path_with_the_one_hour_check_and_return_visit(desk):
    case = reported(desk)
    assert desk.task(case, "Task_AssignTechnician").candidate_groups == ("engineering",)
    on_site(desk, case)
    desk.complete(case, "Task_CompleteRepair", "engineer", repair_result="已更换阀门")
    assert desk.open_elements(case) == set(), "the return visit waits for the one-hour check"
    desk.wait(hours=1, minutes=1)
    assert desk.task(case, "Task_AskIfCompleted").candidate_groups == ("front-desk",)
    desk.complete(case, "Task_AskIfCompleted", "frontdesk", done_at_check="true", check_note="已完工")
    desk.complete(case, "Task_ReturnVisit", "frontdesk", quality="good", timeliness="good", attitude="good")
    assert desk.status(case) == "completed"


def test_the_signed_in_technician_is_recorded_as_the_one_on_site(desk):
    case = reported(desk)
    desk.complete(case, "Task_AssignTechnician", "engineer", technician="赵强")
    with pytest.raises(InvalidInput, match="自动填写为办理人"):
        desk.complete(case, "Task_ArriveOnSite", "engineer2", technician_on_site="赵强")
    desk.complete(case, "Task_ArriveOnSite", "engineer2")
    assert desk.data(case)["technician_on_site"] == "engineer2"


def test_one_hour_check_of_a_simple_job_comes_one_hour_after_the_notice(desk):
    case = reported(desk)
    desk.wait(minutes=59)
    assert "Task_AskIfCompleted" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert "Task_AskIfCompleted" in desk.open_elements(case)


def test_a_job_that_is_not_simple_has_no_one_hour_check(desk):
    case = reported(desk, simple=False)
    on_site(desk, case)
    desk.wait(hours=2)
    assert "Task_AskIfCompleted" not in desk.open_elements(case)
    desk.complete(case, "Task_CompleteRepair", "engineer", repair_result="已更换阀门")
    assert desk.open_elements(case) == {"Task_ReturnVisit"}


def test_a_department_reported_job_gets_no_owner_visit(desk):
    case = reported(desk, reporter="department")
    on_site(desk, case)
    desk.complete(case, "Task_CompleteRepair", "engineer", repair_result="已更换阀门")
    desk.wait(hours=1, minutes=1)
    desk.complete(case, "Task_AskIfCompleted", "frontdesk", done_at_check="true", check_note="已完工")
    assert desk.status(case) == "completed"


def test_arrival_on_site_not_within_20_minutes_of_the_assignment_escalates(desk):
    case = reported(desk)
    desk.wait(minutes=5)
    desk.complete(case, "Task_AssignTechnician", "engineer", technician="赵强")  # 09:05
    desk.wait(minutes=19)  # 09:24
    assert "Task_EscalateArrival" not in desk.open_elements(case)
    desk.wait(minutes=2)  # 09:26
    assert desk.task(case, "Task_EscalateArrival").candidate_groups == ("cs-supervisor",)
    assert "Task_ArriveOnSite" in desk.open_elements(case)


def test_the_20_minutes_are_for_arriving_not_for_the_quote(desk):
    case = reported(desk)
    desk.complete(case, "Task_AssignTechnician", "engineer", technician="赵强")
    desk.wait(minutes=19)
    desk.complete(case, "Task_ArriveOnSite", "engineer")
    desk.wait(minutes=30)  # inspecting and quoting takes its time
    assert "Task_EscalateArrival" not in desk.open_elements(case)
    assert "Task_InspectAndQuote" in desk.open_elements(case)


def test_emergency_is_dispatched_with_high_priority(desk):
    urgent, normal = reported(desk, "emergency"), reported(desk)
    assert desk.task(urgent, "Task_AssignTechnician").priority > desk.task(normal, "Task_AssignTechnician").priority


def test_major_event_is_reported_to_the_department_manager(desk):
    case = reported(desk, "major")
    assert desk.task(case, "Task_ReportToManager").candidate_groups == ("cs-manager",)
    assert "Task_ReportToManager" not in desk.open_elements(reported(desk, "emergency"))


def test_paid_repair_fee_is_collected_and_a_long_job_is_explained(desk):
    case = reported(desk)
    on_site(desk, case, paid_repair="true", quote="180", finish_today="false")
    desk.complete(case, "Task_CollectFee", "frontdesk", fee_collected="180", receipt_no="R-77")
    assert desk.task(case, "Task_InformOwnerOfSchedule").candidate_groups == ("front-desk",)
    desk.complete(case, "Task_InformOwnerOfSchedule", "frontdesk", expected_completion="周五",
                  owner_informed="true")
    assert "Task_CompleteRepair" in desk.open_elements(case)


def test_owner_opinions_are_fed_back_to_engineering(desk):
    case = reported(desk)
    on_site(desk, case)
    desk.complete(case, "Task_CompleteRepair", "engineer", repair_result="已修复")
    desk.wait(hours=2)
    desk.complete(case, "Task_AskIfCompleted", "frontdesk", check_note="已完工")
    desk.complete(case, "Task_ReturnVisit", "frontdesk", quality="fair", timeliness="poor", attitude="good",
                  has_opinions="true", other_opinions="来得太晚")
    assert desk.task(case, "Task_FeedbackToEngineering").candidate_groups == ("engineering",)


def test_an_arrival_escalation_still_open_ends_with_the_repair(desk):
    case = reported(desk, simple=False, reporter="department")
    desk.complete(case, "Task_AssignTechnician", "engineer", technician="赵强")
    desk.wait(minutes=21)
    assert "Task_EscalateArrival" in desk.open_elements(case)
    desk.complete(case, "Task_ArriveOnSite", "engineer")
    desk.complete(case, "Task_InspectAndQuote", "engineer", diagnosis="阀门老化", finish_today="true")
    desk.complete(case, "Task_CompleteRepair", "engineer", repair_result="已修复")
    assert desk.status(case) == "completed"
    assert desk.open_elements(case) == set()


# --- P4 -----------------------------------------------------------------------------------------

def answered(desk: Desk, location: str) -> int:
    case = desk.start(P4, "frontdesk", **FURNITURE)
    desk.complete(case, "Task_BookVisit", "service", visit_date="2026-03-03")
    desk.complete(case, "Task_AssessRepair", "service", assessment="合页螺丝滑牙", product_fault="true",
                  warranty_decision="保修期内免费维修", repair_charge="0")
    assert desk.task(case, "Task_StoreManagerSign").candidate_groups == ("store-manager",)
    desk.complete(case, "Task_StoreManagerSign", "storemgr")
    desk.complete(case, "Task_InformSolution", "service", solution="更换合页", repair_location=location,
                  apologized="true", customer_informed="true")
    return case


def test_product_repair_at_home(desk):
    case = answered(desk, "home")
    desk.complete(case, "Task_RepairAtHome", "service", repair_record="更换合页两只")
    desk.complete(case, "Task_SatisfactionCall", "service", satisfaction="satisfied")
    assert desk.status(case) == "completed"


def test_product_repair_at_the_service_centre(desk):
    case = answered(desk, "pickup")
    desk.complete(case, "Task_ArrangeTransport", "service", transport_date="2026-03-04")
    desk.complete(case, "Task_RepairAtCenter", "service", repair_record="更换门板")
    desk.complete(case, "Task_ReturnProduct", "service", return_date="2026-03-06")
    assert desk.task(case, "Task_SatisfactionCall").candidate_groups == ("service-center",)


def test_customer_not_contacted_within_a_day_escalates_without_holding_up_the_answer(desk):
    case = desk.start(P4, "frontdesk", **FURNITURE)
    desk.wait(hours=23, minutes=59)
    assert "Task_RemindContact" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindContact").candidate_groups == ("cs-supervisor",)
    desk.complete(case, "Task_BookVisit", "service", visit_date="2026-03-04")
    desk.complete(case, "Task_AssessRepair", "service", assessment="可修", warranty_decision="免费", product_fault="true", repair_charge="0")
    desk.complete(case, "Task_StoreManagerSign", "storemgr")
    desk.complete(case, "Task_InformSolution", "service", solution="上门", repair_location="home",
                  customer_informed="true")
    assert {"Task_RepairAtHome", "Task_RemindContact"} <= desk.open_elements(case)


def test_answer_not_within_72_hours_escalates(desk):
    case = desk.start(P4, "frontdesk", **FURNITURE)
    desk.complete(case, "Task_BookVisit", "service", visit_date="2026-03-05")
    desk.wait(hours=71, minutes=59)
    assert "Task_RemindAnswer" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindAnswer").candidate_groups == ("cs-supervisor",)
    assert "Task_AssessRepair" in desk.open_elements(case)


def test_satisfaction_call_within_24_hours_of_the_goods_coming_back(desk):
    case = answered(desk, "home")
    desk.complete(case, "Task_RepairAtHome", "service", repair_record="已修复")
    desk.wait(hours=23, minutes=59)
    assert "Task_RemindSatisfactionCall" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindSatisfactionCall").candidate_groups == ("cs-supervisor",)
