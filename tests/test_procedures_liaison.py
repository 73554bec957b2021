"""部门间对接 finance ↔ business managers (price_filing.bpmn + quote_deadline.dmn, payment_collection.bpmn),
seed 001 部门间对接事宜通知: VP + GM signatures, quotes at least two days ahead, collections of
10,000 yuan or more (and bank instruments) accompanied by finance."""
from __future__ import annotations

import pytest

from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

FILING = {"project_full_name": "滨江花园三期 二标段 5号楼", "price_list": "2026春季价格表", "customer_detail": "甲方报价明细",
          "detail_complete_printed": "true", "tax_included": "true", "invoice_title": "滨江置业有限公司",
          "tax_no": "91330100MA2XXXX", "order_entry_at": "2026-03-05T09:00"}


def signed(desk: Desk, gm: str = "true") -> int:
    case = desk.start("price_filing", "bizmgr", **FILING)
    assert desk.task(case, "Task_VPSign").candidate_groups == ("vp",)
    desk.complete(case, "Task_VPSign", "vp", vp_signed="true")
    desk.complete(case, "Task_GMSign", "gm", gm_signed=gm)
    return case


def test_a_price_filing_needs_both_signatures_to_take_effect(desk):
    assert desk.status(signed(desk, gm="false")) == "completed"
    case = signed(desk)
    assert desk.data(case)["vp_signer"] == "vp" and desk.data(case)["gm_signer"] == "gm"
    desk.complete(case, "Task_SubmitQuote", "bizmgr", quote_delivered="true")
    assert desk.task(case, "Task_FinanceReview").candidate_groups == ("finance",)
    desk.complete(case, "Task_FinanceReview", "finance", finance_reviewed="true")
    desk.complete(case, "Task_OrderEntry", "salesadmin", order_entered="true")
    assert desk.status(case) == "completed"


def test_a_quote_not_delivered_two_days_before_order_entry_is_escalated_to_finance(desk):
    case = signed(desk)  # Monday 2 March 09:00; order entry Thursday 5 March 09:00 → due Tuesday 3 March 09:00
    desk.wait(hours=23, minutes=59)
    assert "Task_RemindQuote" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindQuote").candidate_groups == ("finance",)
    assert "Task_SubmitQuote" in desk.open_elements(case)


@pytest.mark.parametrize("amount, kind, escorted", [
    ("10000", "cash", True), ("9999.99", "cash", False), ("500", "bank_draft", True)])
def test_finance_accompanies_collections_of_10000_yuan_or_more_and_bank_instruments(desk, amount, kind, escorted):
    case = desk.start("payment_collection", "bizmgr", project_full_name="滨江花园三期", customer_name="滨江置业",
                      amount=amount, payment_kind=kind)
    assert desk.open_elements(case) == ({"Task_FinanceEscort"} if escorted else {"Task_CollectAlone"})
