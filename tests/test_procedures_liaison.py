"""部门间对接 finance ↔ business managers (price_filing.bpmn + quote_deadline.dmn, payment_collection.bpmn,
project_invoicing.bpmn), seed 001 部门间对接事宜通知: VP + GM signatures by two people, quotes at least
two days ahead, collections of 10,000 yuan or more (and bank instruments) accompanied by finance,
invoices by the annual cut-off of 30 November."""
from __future__ import annotations

import pytest

from engine.errors import Forbidden, InvalidInput
from tasks.periods import end_of_yearly_day
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

FILING = {"project_full_name": "滨江花园三期 二标段 5号楼", "price_list": "2026春季价格表", "customer_detail": "甲方报价明细",
          "detail_complete_printed": "true", "tax_included": "true", "invoice_title": "滨江置业有限公司",
          "tax_no": "91330100MA2XXXX", "order_entry_at": "2026-03-05T09:00"}


def test_the_vice_president_and_the_gm_are_two_people(desk):
    """Four eyes: one person who is both 直管副总 and 总经理 signs once; the second signature is another's."""
    dual = desk.hire("vpgm", "vp", "gm")
    case = desk.start("price_filing", "bizmgr", **FILING)
    desk.complete(case, "Task_VPSign", dual, vp_signed="true")
    with pytest.raises(Forbidden, match="四眼原则：您完成了本案件的「直管副总签字」"):
        desk.complete(case, "Task_GMSign", dual, gm_signed="true")
    desk.complete(case, "Task_GMSign", "gm", gm_signed="true")
    assert (desk.data(case)["vp_signer"], desk.data(case)["gm_signer"]) == (dual, "gm")


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


INVOICE = {"project_full_name": "滨江花园三期 二标段 5号楼", "invoice_title": "滨江置业有限公司", "tax_no": "91330100MA2XXXX",
           "payer_name": "滨江置业有限公司", "payment_received": "120000", "invoice_amount": "120000"}


def test_an_invoice_follows_the_collected_amount(desk):
    with pytest.raises(InvalidInput):
        desk.start("project_invoicing", "bizmgr", **(INVOICE | {"invoice_amount": "120000.01", "names_match": "true"}))
    case = desk.start("project_invoicing", "bizmgr", **INVOICE, names_match="true")
    assert desk.task(case, "Task_IssueInvoice").candidate_groups == ("finance",)
    desk.complete(case, "Task_IssueInvoice", "finance", invoice_no="No.00012345", invoice_date="2026-03-02")
    assert desk.status(case) == "completed" and desk.data(case)["issued_by"] == "finance"


def test_a_payer_of_another_name_needs_the_managers_proof_or_he_bears_the_tax(desk):
    case = desk.start("project_invoicing", "bizmgr", **(INVOICE | {"payer_name": "滨江置业（集团）"}), names_match="false")
    desk.complete(case, "Task_NameProof", "bizmgr", proof_done="true", proof_note="同一公司证明")
    assert desk.open_elements(case) == {"Task_IssueInvoice"}
    case = desk.start("project_invoicing", "bizmgr", **(INVOICE | {"payer_name": "滨江置业（集团）"}), names_match="false")
    desk.complete(case, "Task_NameProof", "bizmgr", proof_done="false")
    assert desk.task(case, "Task_DeductTax").candidate_groups == ("finance",)
    desk.complete(case, "Task_DeductTax", "finance", tax_amount="7200", tax_deducted="true")
    assert desk.open_elements(case) == {"Task_IssueInvoice"}


def test_an_invoice_still_open_after_30_november_is_escalated_then_goes_up(procedures_db):
    desk = Desk(procedures_db, "2026-11-30T09:00:00")
    case = desk.start("project_invoicing", "bizmgr", **INVOICE, names_match="true")
    assert desk.data(case)["invoice_cutoff_at"] == "2026-12-01T00:00:00+08:00"
    desk.wait(hours=14, minutes=59)  # 23:59 on 30 November: still the cut-off day
    assert "Task_RemindCutoff" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindCutoff").candidate_groups == ("cs-supervisor",)
    desk.wait(minutes=59)  # the supervisor's hour (escalation_policy.dmn) runs from 00:01, when the 督办 opened
    assert "Task_RemindCutoffToManager" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindCutoffToManager").candidate_groups == ("cs-manager",)
    assert "Task_IssueInvoice" in desk.open_elements(case)


def test_an_invoice_asked_for_in_december_counts_towards_next_years_cut_off(procedures_db):
    desk = Desk(procedures_db, "2026-12-05T10:00:00")
    case = desk.start("project_invoicing", "bizmgr", **INVOICE, names_match="true")
    assert desk.data(case)["invoice_cutoff_at"] == "2027-12-01T00:00:00+08:00"


@pytest.mark.parametrize(("now", "cutoff_end"), [
    ("2026-03-02T09:00", "2026-12-01T00:00:00+08:00"),  # this year's 30 November
    ("2026-11-30T23:59", "2026-12-01T00:00:00+08:00"),  # the cut-off day itself is still in time
    ("2026-11-30T16:30:00Z", "2027-12-01T00:00:00+08:00"),  # 00:30 on 1 December in Beijing: next year's
])
def test_the_yearly_cut_off_ends_with_its_day_or_moves_to_next_year(now, cutoff_end):
    assert end_of_yearly_day(now, "11-30") == cutoff_end


@pytest.mark.parametrize("month_day", ["11/30", "13-01", "02-30", ""])
def test_a_cut_off_day_that_is_no_month_and_day_is_named(month_day):
    with pytest.raises(ValueError, match="is not a month and day such as 11-30"):
        end_of_yearly_day("2026-03-02", month_day)
