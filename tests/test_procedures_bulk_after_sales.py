"""大宗售后 bulk after-sales (processes/bulk_after_sales.bpmn), seed 001 大宗售后管理制度与流程: the
twelve steps with one named person carrying the case, return visits at the times the CS department
books, and repair or replacement for defects within the contract period."""
from __future__ import annotations

from engine import clock
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

BULK = "bulk_after_sales"
ENQUIRY = {"customer_name": "东方酒店", "contact_person": "钱经理", "phone": "13100000011",
           "customer_need": "客房中央空调 120 台", "product_advice": "KFR-72 变频"}


def installed(desk: Desk) -> int:
    """Enquiry → quote → contract → shipping → installation → training, up to the first visit's booking."""
    case = desk.start(BULK, "salesdept", **ENQUIRY)
    desk.complete(case, "Task_Quote", "salesdept", quote_amount="960000", fees="含运费、安装费", settlement="分三期",
                  customer_told="true")
    desk.complete(case, "Task_Contract", "salesdept", contract_signed="true", contract_no="HT-2026-018",
                  product_model="KFR-72", contract_price="950000", purchase_date="2026-03-02",
                  warranty_until="2027-03-01", shipping_list="KFR-72 ×120")
    assert desk.task(case, "Task_Shipping").candidate_groups == ("logistics-dept",)
    desk.complete(case, "Task_Shipping", "logisticsdept", shipped_on="2026-03-03", delivered_on="2026-03-05",
                  delivered_safely="true")
    assert desk.task(case, "Task_Install").candidate_groups == ("tech-dept",)
    desk.complete(case, "Task_Install", "techdept", install_date="2026-03-06", running_ok="true")
    desk.complete(case, "Task_Training", "techdept", training_content="遥控与集控面板", customer_can_operate="true")
    return case


def visited(desk: Desk, case: int, **answers: str) -> None:
    desk.complete(case, "Task_ReturnVisit", "specialist", usage="运行正常", **answers)


def test_the_person_who_took_the_enquiry_carries_the_case_from_quote_to_record(desk):
    case = desk.start(BULK, "salesdept", **ENQUIRY)
    quote = desk.task(case, "Task_Quote")
    assert (desk.data(case)["case_owner"], quote.assignee) == ("salesdept", "salesdept")
    desk.complete(case, "Task_Quote", "salesdept", quote_amount="960000", fees="含运费", settlement="一次付清",
                  customer_told="true")
    assert desk.task(case, "Task_Contract").assignee == "salesdept"


def test_no_contract_ends_the_case(desk):
    case = desk.start(BULK, "salesdept", **ENQUIRY)
    desk.complete(case, "Task_Quote", "salesdept", quote_amount="960000", fees="含运费", settlement="一次付清",
                  customer_told="true")
    desk.complete(case, "Task_Contract", "salesdept", contract_signed="false")
    assert desk.status(case) == "completed"


def test_return_visits_come_at_the_times_the_cs_department_books(desk):
    case = installed(desk)
    desk.complete(case, "Task_PlanVisits", "specialist", next_visit_at="2026-04-01T10:00")
    desk.now = clock.parse_time("2026-04-01T09:59:00")  # one minute before the booked time
    desk.wait(seconds=0)
    assert "Task_ReturnVisit" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_ReturnVisit").candidate_groups == ("cs-specialist",)
    visited(desk, case, fault_reported="false", next_visit_at="2026-07-01T10:00")
    assert desk.task(case, "Task_Feedback").candidate_groups == ("after-sales-dept",)
    desk.complete(case, "Task_Feedback", "aftersalesdept", feedback_summary="运行正常，无意见", filed="true")
    assert desk.open_elements(case) == set(), "waiting for the next booked visit"
    desk.now = clock.parse_time("2026-07-01T09:59:00")
    desk.wait(seconds=0)
    assert "Task_ReturnVisit" not in desk.open_elements(case)
    desk.wait(minutes=2)
    visited(desk, case, fault_reported="false", visits_end="true")
    desk.complete(case, "Task_Feedback", "aftersalesdept", feedback_summary="合同期满前最后一次回访", filed="true")
    record = desk.task(case, "Task_Record")
    assert record.assignee == "salesdept"
    desk.complete(case, "Task_Record", "salesdept", fault_history="无故障", departments_informed="true")
    assert desk.status(case) == "completed"


def test_a_defect_within_the_contract_period_is_repaired_or_replaced_by_the_company(desk):
    case = installed(desk)
    desk.complete(case, "Task_PlanVisits", "specialist", next_visit_at="2026-03-02T10:00")
    desk.wait(hours=1, minutes=1)
    visited(desk, case, fault_reported="true", next_visit_at="2026-06-01T10:00")
    desk.complete(case, "Task_AssessFault", "techdept", fault_description="3 台压缩机异响", fault_date="2026-03-02",
                  defect_cause="manufacturing")
    assert desk.open_elements(case) == {"Task_WarrantyRepair"}
    desk.complete(case, "Task_WarrantyRepair", "techdept", warranty_handling="replace", handling_result="更换压缩机")
    assert desk.open_elements(case) == {"Task_Feedback"}


def test_a_fault_after_the_contract_period_or_from_other_causes_is_not_a_warranty_repair(desk):
    case = installed(desk)
    desk.complete(case, "Task_PlanVisits", "specialist", next_visit_at="2026-03-02T10:00")
    desk.wait(hours=1, minutes=1)
    visited(desk, case, fault_reported="true", next_visit_at="2027-06-01T10:00")
    desk.complete(case, "Task_AssessFault", "techdept", fault_description="遥控器丢失", fault_date="2027-03-02",
                  defect_cause="material")
    assert desk.open_elements(case) == {"Task_OtherFault"}
