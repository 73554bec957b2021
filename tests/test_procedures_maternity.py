"""产妇接送 maternity pick-up and drop-off (processes/maternity_transport.bpmn), seed 001: the
hospital's 总值班, 后勤部, 门诊部 and 住院部 each do their part; one dedicated CS person carries the case
and makes the return visit at the time booked with the mother."""
from __future__ import annotations

from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)


def discharged(desk: Desk, visit_at: str) -> int:
    case = desk.start("maternity_transport", "frontdesk", customer_name="吴女士", phone="13100000006",
                      address="滨江区江南大道1号", pickup_at="2026-03-03T09:00")
    desk.complete(case, "Task_ReportToDuty", "frontdesk", dedicated_cs="frontdesk2", pre_pickup_list_taken="true")
    assert desk.task(case, "Task_DutyOrganises").candidate_groups == ("hospital-duty",)
    desk.complete(case, "Task_DutyOrganises", "hospduty", arrangement="专车接送", departments_notified="true")
    desk.complete(case, "Task_ArrangeVehicle", "hosplogistics", vehicle="浙A-12345", route="江南大道→医院",
                  departure_at="2026-03-03T08:20", equipment_checked="true")
    desk.complete(case, "Task_OutpatientPrepares", "outpatient", outpatient_ready="产检室已预留")
    desk.complete(case, "Task_InpatientPrepares", "inpatient", first_doctor="萧医生", escort_nurse="曾护士",
                  admission_arranged="true")
    reception = desk.task(case, "Task_Reception")
    assert reception.assignee == "frontdesk2", "the dedicated CS person carries the case"
    desk.complete(case, "Task_Reception", "frontdesk2", pre_pickup_list_checked="true")
    desk.complete(case, "Task_InitialAssessment", "inpatient", initial_assessment="一般情况良好", critical="false",
                  initial_plan="待产观察")
    desk.complete(case, "Task_Admission", "frontdesk2", formalities_done="true", handed_to_first_doctor="true")
    desk.complete(case, "Task_TreatmentPlan", "inpatient", treatment_plan="顺产", expected_discharge="2026-03-07")
    desk.complete(case, "Task_Discharge", "inpatient", records_handed="true", reported_to_duty="true",
                  discharge_orders="产后42天复查", pre_return_list="婴儿提篮、出院带药")
    desk.complete(case, "Task_ArrangeReturn", "hospduty", return_arrangement="原车送回", return_notified="true")
    desk.complete(case, "Task_ReturnVehicle", "hosplogistics", return_vehicle="浙A-12345", return_at="2026-03-07T10:00")
    desk.complete(case, "Task_DischargeRegistration", "frontdesk2", registered="true", return_visit_at=visit_at,
                  pre_return_list_checked="true", handbook_given="true", contact_given="true",
                  opinion_form="服务很好", archived="true")
    return case


def test_the_return_visit_comes_at_the_booked_time_to_the_dedicated_cs_person(desk):
    case = discharged(desk, "2026-03-02T10:00")  # the desk's clock is Monday 2 March 09:00
    desk.wait(minutes=59)
    assert "Task_ReturnVisit" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_ReturnVisit").assignee == "frontdesk2"
    desk.complete(case, "Task_ReturnVisit", "frontdesk2", return_visit_result="母婴平安")
    assert desk.status(case) == "completed"
