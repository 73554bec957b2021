"""销管流程 sales-order administration (processes/sales_order_admin.bpmn), seed 000 第2篇: finance
reviews the 《销售发货单》, the factory's documents are checked, and arrival is tracked against the
days the factory's 《出库单》 gives."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import Forbidden
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)


def drafted(desk: Desk, drafter: str = "salesadmin") -> int:
    """A case up to the 《销售发货单》 that ``drafter`` made from the factory's 《可发货清单》."""
    case = desk.start("sales_order_admin", "salesadmin", customer_name="华东经销商", phone="13200000007",
                      customer_need="代理", region="华东", main_products="空调")
    desk.complete(case, "Task_HandToManager", "salesadmin", business_manager="董明", reported_to_director="true")
    assert desk.task(case, "Task_ManagerFollowsUp").candidate_groups == ("business-manager",)
    desk.complete(case, "Task_ManagerFollowsUp", "bizmgr", communication="已报价", order_placed="true")
    desk.complete(case, "Task_CheckOrder", "salesadmin", order_no="SO-001", account_balance="2000", amount_due="48000",
                  sales_order_sent="true")
    desk.complete(case, "Task_PaymentReceived", "salesadmin", payment_confirmed="true", order_faxed="true")
    desk.complete(case, "Task_ShippableList", drafter, shippable_list="KFH-35 ×20", delivery_note="发货单 D-001")
    return case


def reviewed(desk: Desk, approved: str) -> int:
    case = drafted(desk)
    assert desk.task(case, "Task_FinanceReview").candidate_groups == ("finance",)
    desk.complete(case, "Task_FinanceReview", "finance", finance_approved=approved)
    return case


def test_whoever_drafted_the_delivery_note_cannot_pass_it_as_finance(desk):
    """Four eyes: one person in both 销管 and 财务 drafts the 发货单 and may not review it."""
    dual = desk.hire("salesfinance", "sales-admin", "finance")
    case = drafted(desk, drafter=dual)
    with pytest.raises(Forbidden, match="四眼原则：您完成了本案件的「收到工厂《可发货清单》，制定《销售发货单》」"):
        desk.complete(case, "Task_FinanceReview", dual, finance_approved="true")
    assert desk.open_elements(case) == {"Task_FinanceReview"}
    desk.complete(case, "Task_FinanceReview", "finance", finance_approved="true")
    assert desk.open_elements(case) == {"Task_FaxToFactory"}


def test_a_delivery_note_finance_rejects_goes_back_to_sales_admin(desk):
    case = reviewed(desk, "false")
    assert desk.open_elements(case) == {"Task_ShippableList"}


def test_arrival_is_tracked_until_the_days_the_dispatch_note_gives(desk):
    case = reviewed(desk, "true")
    assert desk.data(case)["finance_reviewer"] == "finance"
    desk.complete(case, "Task_FaxToFactory", "salesadmin", delivery_note_faxed="true")
    desk.complete(case, "Task_CheckDispatchNote", "salesadmin", carrier="顺丰", carrier_phone="95338", days_to_arrive="3",
                  matches_order="true", faxed_to_customer="true")
    track = desk.task(case, "Task_TrackArrival")
    assert track.due_at == desk.now + timedelta(days=3)
    desk.wait(days=3, minutes=-1)
    assert not desk.task(case, "Task_TrackArrival").escalated
    desk.wait(minutes=2)
    assert desk.task(case, "Task_TrackArrival").escalated
    desk.complete(case, "Task_TrackArrival", "salesadmin", arrived="true")
    desk.complete(case, "Task_FollowSales", "salesadmin", sales_situation="首批售出12台")
    assert desk.status(case) == "completed"


ISSUE = {"customer_name": "华东经销商", "phone": "13200000007", "issue_kind": "quality", "issue": "第二批空调外机异响"}


def test_a_question_answered_on_the_spot_ends_there(desk):
    case = desk.start("sales_customer_issue", "salesadmin", **(ISSUE | {"issue_kind": "shipping"}), handled_now="true",
                      answer_now="已告知物流单号")
    assert desk.status(case) == "completed"


@pytest.mark.parametrize("serious, letter", [("true", True), ("false", False)])
def test_a_question_passed_on_is_tracked_and_discussed_at_the_meeting_a_serious_one_answered_by_letter(
        desk, serious, letter):
    case = desk.start("sales_customer_issue", "salesadmin", **ISSUE, handled_now="false")
    desk.complete(case, "Task_PassOn", "salesadmin", passed_to="技术部", serious=serious)
    assert ("Task_WorkLetter" in desk.open_elements(case)) is letter
    if letter:
        desk.complete(case, "Task_WorkLetter", "salesadmin", work_letter="更换外机风扇，三日内上门", letter_sent="true")
    desk.complete(case, "Task_TrackResult", "salesadmin", handling_result="已更换", satisfaction="satisfied")
    desk.complete(case, "Task_Meeting", "salesadmin", meeting_date="2026-03-09", prevention="出厂前加测噪音")
    assert desk.status(case) == "completed"
