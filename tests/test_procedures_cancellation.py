"""P3 cancellations and returns (order_cancellation_return.bpmn + return_policy.dmn).

The request is made at Monday 2026-03-02 09:00; order and delivery times are set relative to that,
so each case sits just inside or just outside the 48-hour and 7-day limits.
"""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput

from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

P3 = "order_cancellation_return"
REQUEST = {"customer_name": "李四", "phone": "13900000002", "order_no": "SO-1001", "request_kind": "cancel",
           "request_reason": "家里装修推迟", "price": "5000"}
HOURS_47 = "2026-02-28 10:00"
HOURS_49 = "2026-02-28 08:00"
DAY_7 = "2026-02-23"
DAY_8 = "2026-02-22"


def requested(desk: Desk, **order) -> int:
    """A request the customer does not withdraw, judged by the policy table."""
    case = desk.start(P3, "frontdesk", **{**REQUEST, **order})
    desk.complete(case, "Task_TryResolve", "frontdesk", suggestion="建议延期送货")
    return case


def judged(desk: Desk, **order) -> tuple[str, float, str]:
    data = desk.data(requested(desk, **order))
    return data["decision"], data["fee_rate"], data["reason"]


ORDINARY = {"order_kind": "ordinary", "ordered_at": "2026-01-10 10:00"}
PICKUP = {"order_kind": "self_pickup", "ordered_at": "2026-01-10 10:00"}


@pytest.mark.parametrize("order, decision, fee_rate", [
    ({"order_kind": "ordinary", "ordered_at": HOURS_47}, "free_cancel", 0),
    ({"order_kind": "ordinary", "ordered_at": HOURS_49}, "cancel_with_fee", 0.1),
    ({"order_kind": "self_pickup", "ordered_at": HOURS_47}, "free_cancel", 0),
    ({"order_kind": "self_pickup", "ordered_at": HOURS_49}, "cancel_with_fee", 0.1),
    ({"order_kind": "custom", "ordered_at": HOURS_47}, "refused", 0),
    ({"order_kind": "clearance", "ordered_at": HOURS_47}, "refused", 0),
    ({"order_kind": "special_sale", "ordered_at": HOURS_47}, "refused", 0),
    ({**ORDINARY, "delivered": "true", "delivered_on": DAY_7, "packaging_intact": "true"}, "return_allowed", 0),
    ({**ORDINARY, "delivered": "true", "delivered_on": DAY_8, "packaging_intact": "true"}, "refused", 0),
    ({**ORDINARY, "delivered": "true", "delivered_on": DAY_7, "packaging_intact": "false"}, "refused", 0),
    ({**PICKUP, "delivered": "true", "delivered_on": DAY_7, "packaging_intact": "true"}, "return_allowed", 0),
    ({**PICKUP, "delivered": "true", "delivered_on": DAY_8, "packaging_intact": "true"}, "refused", 0),
    ({**PICKUP, "delivered": "true", "delivered_on": DAY_7, "packaging_intact": "false"}, "refused", 0),
    ({**ORDINARY, "delivered": "true", "delivered_on": DAY_8, "quality_defect": "true"}, "repair_first", 0),
    ({"order_kind": "custom", "ordered_at": HOURS_47, "delivered": "true", "delivered_on": DAY_8,
      "quality_defect": "true"}, "repair_first", 0),
    ({"order_kind": "clearance", "ordered_at": HOURS_47, "delivered": "true", "delivered_on": DAY_7,
      "quality_defect": "true"}, "refused", 0),
], ids=["47h", "49h", "pickup-47h", "pickup-49h", "custom", "clearance", "special-sale",
        "day7", "day8", "day7-damaged", "pickup-day7", "pickup-day8", "pickup-opened",
        "defect", "custom-defect", "clearance-defect"])
def test_policy_table(desk, order, decision, fee_rate):
    got_decision, got_fee_rate, reason = judged(desk, **order)
    assert (got_decision, got_fee_rate) == (decision, fee_rate)
    assert reason, "staff always see the reason"


def test_refused_request_is_explained_to_the_customer(desk):
    case = requested(desk, order_kind="custom", ordered_at=HOURS_47)
    task = desk.task(case, "Task_InformRefusal")
    assert task.candidate_groups == ("front-desk",)
    desk.complete(case, "Task_InformRefusal", "frontdesk", customer_informed="true")
    assert desk.status(case) == "completed"


def test_customer_may_withdraw_after_talking(desk):
    case = desk.start(P3, "frontdesk", **REQUEST, order_kind="ordinary", ordered_at=HOURS_49)
    desk.complete(case, "Task_TryResolve", "frontdesk", suggestion="可改期送货", customer_withdraws="true")
    assert desk.status(case) == "completed"
    assert "decision" not in desk.data(case)


def cancel_paperwork(desk: Desk, case: int) -> None:
    desk.complete(case, "Task_FillCancellationForm", "frontdesk", sales_order_provided="true",
                  receipt_provided="true", customer_signed="true")


def test_cancellation_after_48_hours_costs_the_fee_and_needs_the_gm(desk):
    case = requested(desk, order_kind="ordinary", ordered_at=HOURS_49)
    assert desk.data(case)["cancellation_fee_amount"] == 500
    cancel_paperwork(desk, case)
    assert desk.task(case, "Task_ApproveCancellation").candidate_groups == ("gm",)
    desk.complete(case, "Task_ApproveCancellation", "gm", approved="true")
    assert desk.task(case, "Task_NotifyServiceCenter").candidate_groups == ("service-center",)
    desk.complete(case, "Task_NotifyServiceCenter", "service", delivery_stopped="true")
    assert desk.task(case, "Task_FileWithFinance").candidate_groups == ("finance",)
    desk.complete(case, "Task_FileWithFinance", "finance", filed="true")
    assert desk.data(case)["refund_amount"] == 4500
    desk.complete(case, "Task_NotifyCustomerRefund", "frontdesk", customer_notified="true")
    assert desk.status(case) == "completed"


def test_gm_may_refuse_a_cancellation(desk):
    case = requested(desk, order_kind="ordinary", ordered_at=HOURS_47)
    cancel_paperwork(desk, case)
    desk.complete(case, "Task_ApproveCancellation", "gm", approved="false", approval_note="已投产")
    assert desk.open_elements(case) == {"Task_InformRefusal"}


def test_return_within_7_days_is_approved_by_the_head_of_direct_sales(desk):
    case = requested(desk, **ORDINARY, request_kind="return", delivered="true", delivered_on=DAY_7,
                     packaging_intact="true")
    assert desk.task(case, "Task_FillReturnForm").candidate_groups == ("store-manager",)
    desk.complete(case, "Task_FillReturnForm", "storemgr", receipt_provided="true",
                  pickup_slip_provided="true", delivery_slip_provided="true", customer_signed="true")
    desk.complete(case, "Task_InspectGoods", "storemgr", goods_condition="完好", goods_confirmed="true")
    assert desk.task(case, "Task_ApproveReturn").candidate_groups == ("sales-head",)
    desk.complete(case, "Task_ApproveReturn", "sales", approved="true")
    assert desk.open_elements(case) == {"Task_FileWithFinance"}, "returns skip the cancellation notice"
    desk.complete(case, "Task_FileWithFinance", "finance", refund_amount="5000", filed="true")
    desk.complete(case, "Task_NotifyCustomerRefund", "frontdesk", customer_notified="true")
    assert desk.status(case) == "completed"


def inspected(desk: Desk, *, defect: bool, insists: bool, delivered_on: str = DAY_8) -> int:
    case = requested(desk, **ORDINARY, request_kind="return", delivered="true", delivered_on=delivered_on,
                     packaging_intact="true", quality_defect="true")
    assert desk.task(case, "Task_InspectionVisit").candidate_groups == ("service-center",)
    desk.complete(case, "Task_InspectionVisit", "service", visit_time="周三上午", inspection_result="抽屉滑轨断裂",
                  quality_defect=str(defect).lower(), customer_insists=str(insists).lower())
    return case


def assessed(desk: Desk, case: int, *, product_fault: bool, charge: str) -> None:
    """The product repair the return turned into, up to the store manager's signature."""
    desk.complete(case, "Task_BookVisit", "service", visit_date="2026-03-04")
    desk.complete(case, "Task_AssessRepair", "service", assessment="抽屉滑轨断裂", warranty_decision="更换滑轨",
                  product_fault=str(product_fault).lower(), repair_charge=charge)
    desk.complete(case, "Task_StoreManagerSign", "storemgr")
    desk.complete(case, "Task_InformSolution", "service", solution="上门更换滑轨", repair_location="home",
                  customer_informed="true")


def repaired(desk: Desk, case: int) -> None:
    desk.complete(case, "Task_RepairAtHome", "service", repair_record="更换滑轨两条")
    desk.complete(case, "Task_SatisfactionCall", "service", satisfaction="satisfied")


def test_accepted_repair_of_a_defect_starts_product_repair_and_the_case_ends_with_it(desk):
    """转产品维修: the product-repair procedure runs inside the case (a call activity), as Camunda runs it."""
    case = inspected(desk, defect=True, insists=False)
    assert desk.status(case) == "running"
    assert desk.open_elements(case) == {"Task_BookVisit"}
    passed = desk.data(case)
    assert (passed["customer_name"], passed["order_no"], passed["fault"], passed["purchase_date"]) == (
        "李四", "SO-1001", "抽屉滑轨断裂", DAY_8)
    assessed(desk, case, product_fault=True, charge="0")
    assert desk.open_elements(case) == {"Task_RepairAtHome"}, "a product fault is repaired free of charge"
    repaired(desk, case)
    assert desk.status(case) == "completed"


def test_a_repair_for_misuse_is_charged_and_collected_by_finance(desk):
    case = inspected(desk, defect=False, insists=False)
    assessed(desk, case, product_fault=False, charge="180")
    collect = desk.task(case, "Task_CollectRepairCharge")
    assert collect.candidate_groups == ("finance",)
    with pytest.raises(InvalidInput) as refused:
        desk.complete(case, "Task_CollectRepairCharge", "finance", charge_received="179.99", charge_receipt_no="SK-7")
    assert refused.value.field_errors == {"charge_received": "「实收金额（元）」不能小于「维修费用（元）」（180.00）"}
    desk.complete(case, "Task_CollectRepairCharge", "finance", charge_received="180", charge_receipt_no="SK-7")
    assert desk.data(case)["charge_collected_by"] == "finance"
    repaired(desk, case)
    assert desk.status(case) == "completed"
    assert (desk.data(case)["repair_charge"], desk.data(case)["charge_received"]) == (180, 180)


def test_the_product_repairs_one_day_contact_limit_counts_from_the_hand_over(desk):
    case = inspected(desk, defect=False, insists=False)
    desk.wait(hours=23, minutes=59)
    assert "Task_RemindContact" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindContact").candidate_groups == ("cs-supervisor",)


def test_quality_defect_and_customer_insists_allows_the_return_even_after_7_days(desk):
    case = inspected(desk, defect=True, insists=True)
    assert desk.data(case)["decision"] == "return_allowed"
    assert desk.open_elements(case) == {"Task_FillReturnForm"}


def test_misuse_falls_back_to_the_ordinary_rules(desk):
    late = inspected(desk, defect=False, insists=True, delivered_on=DAY_8)
    assert desk.data(late)["decision"] == "refused"
    in_time = inspected(desk, defect=False, insists=True, delivered_on=DAY_7)
    assert desk.data(in_time)["decision"] == "return_allowed"


def returned_for_approval(desk: Desk, *, clerk: str = "storemgr", **order) -> int:
    case = requested(desk, **ORDINARY, delivered="true", delivered_on=DAY_7, packaging_intact="true", **order)
    desk.complete(case, "Task_FillReturnForm", clerk, receipt_provided="true",
                  pickup_slip_provided="true", delivery_slip_provided="true", customer_signed="true")
    desk.complete(case, "Task_InspectGoods", clerk, goods_condition="完好", goods_confirmed="true")
    return case


def test_an_exchange_ends_as_an_exchange_not_a_refund(desk):
    case = returned_for_approval(desk, request_kind="exchange")
    desk.complete(case, "Task_ApproveReturn", "sales", approved="true")
    assert desk.data(case)["sales_head_signature"] == "sales"
    filing = desk.task(case, "Task_FileExchangeWithFinance")
    assert filing.candidate_groups == ("finance",)
    desk.complete(case, "Task_FileExchangeWithFinance", "finance", price_difference="0", filed="true")
    assert desk.task(case, "Task_ArrangeExchange").candidate_groups == ("service-center",)
    desk.complete(case, "Task_ArrangeExchange", "service", replacement_goods="同款衣柜（新）",
                  exchange_date="2026-03-05", difference_settled="true")
    assert desk.status(case) == "completed"
    assert "refund_amount" not in desk.data(case)
    done = desk.case(case).completed_elements
    assert "EndEvent_Exchanged" in done and not {"Task_FileWithFinance", "Task_NotifyCustomerRefund"} & done


def test_a_refund_cannot_exceed_the_price_paid(desk):
    """The diagram bounds the refund by the price (``maxField``), so finance cannot file more."""
    case = requested(desk, **ORDINARY, price="1,299.00", request_kind="return", delivered="true",
                     delivered_on=DAY_7, packaging_intact="true")
    desk.complete(case, "Task_FillReturnForm", "storemgr", receipt_provided="true",
                  pickup_slip_provided="true", delivery_slip_provided="true", customer_signed="true")
    desk.complete(case, "Task_InspectGoods", "storemgr", goods_condition="完好", goods_confirmed="true")
    desk.complete(case, "Task_ApproveReturn", "sales", approved="true")
    with pytest.raises(InvalidInput) as refused:
        desk.complete(case, "Task_FileWithFinance", "finance", refund_amount="1299.01", filed="true")
    assert refused.value.field_errors == {
        "refund_amount": "「退款金额（元）」不能大于「销售价格（元）」（1,299.00）"}
    desk.complete(case, "Task_FileWithFinance", "finance", refund_amount="1,299.00", filed="true")
    assert desk.data(case)["refund_amount"] == 1299


def test_an_order_time_written_in_words_is_refused_beside_the_field(desk):
    with pytest.raises(InvalidInput) as refused:
        desk.start(P3, "frontdesk", **REQUEST, order_kind="ordinary", ordered_at="昨天下午3点")
    assert refused.value.field_errors == {"ordered_at": "「下单时间」必须是日期和时间，如 2026-01-05 14:30"}


def test_an_open_escalation_of_the_called_repair_ends_with_the_case(desk):
    """督办 are follow-ups: the repair's open reminder does not hold the return case open."""
    case = inspected(desk, defect=True, insists=False)
    desk.wait(days=1, minutes=1)
    assert "Task_RemindContact" in desk.open_elements(case)
    assessed(desk, case, product_fault=True, charge="0")
    repaired(desk, case)
    assert desk.status(case) == "completed"
    assert desk.open_elements(case) == set()
