"""P6 collective household services (household_registration.bpmn + household_documents.dmn)."""
from __future__ import annotations

import pytest

from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

P6 = "household_registration"
CUSTOMER = {"customer_name": "孙八", "phone": "13300000006", "id_number": "330106199001011234"}
SETTLE_FORMS = {"agency_entrustment", "acceptance_letter", "talent_agreement", "pledge"}
PREVIOUS = SETTLE_FORMS | {"id_copy", "household_card", "no_house_certificate", "photos"}
CARD = {"id_copy", "card_pledge", "deposit_paid"}


def ticked(documents: set[str]) -> dict[str, str]:
    return {doc: "true" for doc in documents}


def required(desk: Desk, case: int) -> list[str]:
    return desk.data(case)["required_documents"]


def test_previous_year_graduate_settles_once_the_papers_are_complete(desk):
    case = desk.start(P6, "registry", **CUSTOMER, service="settle_previous")
    assert desk.task(case, "Task_CheckDocuments").candidate_groups == ("registry-clerk",)
    assert "结婚证" not in required(desk, case)
    desk.complete(case, "Task_CheckDocuments", "registry", **ticked(PREVIOUS))
    desk.complete(case, "Task_CompleteSettlement", "registry", pledge_explained="true", qq_added="true")
    assert desk.status(case) == "completed"


def test_missing_documents_block_the_step_and_are_named(desk):
    case = desk.start(P6, "registry", **CUSTOMER, service="settle_previous", married="true",
                      female_15_49="true")
    needed = required(desk, case)
    assert {"结婚证", "计划生育诚信承诺书", "15—49周岁女性情况入户调查登记表"} <= set(needed)
    desk.complete(case, "Task_CheckDocuments", "registry", **ticked(PREVIOUS))
    assert desk.open_elements(case) == {"Task_CheckDocuments"}, "the service cannot go on"
    assert desk.data(case)["missing_text"] == "计划生育诚信承诺书、15—49周岁女性情况入户调查登记表、结婚证"
    desk.complete(case, "Task_CheckDocuments", "registry", **ticked(
        PREVIOUS | {"marriage_certificate", "family_planning_pledge", "female_survey"}))
    assert desk.open_elements(case) == {"Task_CompleteSettlement"}


@pytest.mark.parametrize("origin, extra, absent", [
    ("school", "户口迁移证原件", "老家户口簿"),
    ("hometown", "老家户口簿", "户口迁移证原件"),
])
def test_fresh_graduate_documents_depend_on_where_the_hukou_is(desk, origin, extra, absent):
    case = desk.start(P6, "registry", **CUSTOMER, service="settle_fresh", hukou_origin=origin)
    needed = required(desk, case)
    assert {"毕业证原件及复印件", "报到证原件", extra} <= set(needed)
    assert absent not in needed


@pytest.mark.parametrize("born, late", [("2026-02-01", False), ("2026-01-15", True)])
def test_child_registered_after_a_month_needs_the_explanation(desk, born, late):
    case = desk.start(P6, "registry", **CUSTOMER, service="settle_child")
    desk.complete(case, "Task_RecordChild", "registry", child_name="孙小小", child_birth_date=born)
    needed = required(desk, case)
    assert {"出生证", "准生证", "父母结婚证", "父母双方无房证明"} <= set(needed)
    assert ("未在一个月内落户的情况说明" in needed) is late
    assert ("父母双方派出所未落户证明" in needed) is late


def test_archive_transfer_needs_the_release_proof(desk):
    case = desk.start(P6, "registry", **CUSTOMER, service="archive_transfer")
    assert required(desk, case) == ["解除协议证明或就业调整表"]
    desk.complete(case, "Task_CheckDocuments", "registry", release_proof="true")
    desk.complete(case, "Task_TransferArchive", "registry", former_employer="某某科技", archive_destination="人才中心")
    assert desk.status(case) == "completed"


def test_renewal_charges_every_fee_year_begun_since_payment(desk):
    case = desk.start(P6, "registry", **CUSTOMER, service="renewal")
    desk.complete(case, "Task_LookUpRenewal", "registry", storage_paid_until="2025-06-30",
                  archive_paid_until="2026-12-31")
    data = desk.data(case)
    assert data["renewal_amount"] == 300 * 1, "one storage year begun, archive still paid"
    assert data["storage_paid_until_after"] == "2026-06-30"
    desk.complete(case, "Task_CollectRenewal", "registry", renewal_paid="true")
    assert desk.status(case) == "completed"


def test_renewal_with_nothing_owed_ends_at_once(desk):
    case = desk.start(P6, "registry", **CUSTOMER, service="renewal")
    desk.complete(case, "Task_LookUpRenewal", "registry", storage_paid_until="2026-06-30",
                  archive_paid_until="2026-12-31")
    assert desk.status(case) == "completed"


def card_issued(desk: Desk, service: str) -> int:
    case = desk.start(P6, "registry", **CUSTOMER, service=service)
    assert set(required(desk, case)) == {"身份证复印件", "户籍卡承诺书", "保障金"}
    desk.complete(case, "Task_CheckDocuments", "registry", **ticked(CARD))
    desk.complete(case, "Task_IssueCard", "registry", card_issued="true")
    assert desk.data(case)["deposit_amount"] == 600
    return case


def test_transfer_out_of_the_city_refunds_the_deposit_when_card_and_pledge_return(desk):
    case = card_issued(desk, "transfer_out_of_city")
    desk.complete(case, "Task_OutOfCityMigration", "registry", entry_permit_no="ZQ-1", migration_certificate_no="QY-2")
    desk.complete(case, "Task_ReceiveCardBack", "registry", old_card_returned="true")
    assert desk.open_elements(case) == {"Task_ReceiveCardBack"}, "no refund without the pledge"
    desk.complete(case, "Task_ReceiveCardBack", "registry", old_card_returned="true", pledge_returned="true")
    refund = desk.task(case, "Task_RefundDeposit")
    assert refund.candidate_groups == ("finance",)
    desk.complete(case, "Task_RefundDeposit", "finance", deposit_refunded="true")
    assert desk.status(case) == "completed"


def test_new_card_copy_is_enough_only_within_the_city(desk):
    out = card_issued(desk, "transfer_out_of_city")
    desk.complete(out, "Task_OutOfCityMigration", "registry", entry_permit_no="ZQ-1", migration_certificate_no="QY-2")
    desk.complete(out, "Task_ReceiveCardBack", "registry", new_card_copy="true", pledge_returned="true")
    assert desk.open_elements(out) == {"Task_ReceiveCardBack"}
    inside = card_issued(desk, "transfer_in_city")
    desk.complete(inside, "Task_InCityMigration", "registry", destination_station="西湖派出所")
    desk.complete(inside, "Task_ReceiveCardBack", "registry", new_card_copy="true", pledge_returned="true")
    assert desk.open_elements(inside) == {"Task_RefundDeposit"}


def test_borrowed_card_is_returned_against_the_deposit(desk):
    case = card_issued(desk, "borrow_card")
    assert desk.open_elements(case) == {"Task_ReceiveCardBack"}
    desk.complete(case, "Task_ReceiveCardBack", "registry", old_card_returned="true", pledge_returned="true")
    assert desk.open_elements(case) == {"Task_RefundDeposit"}
