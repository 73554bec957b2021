"""P6 collective household services (household_registration.bpmn + household_documents.dmn)."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

P6 = "household_registration"
CUSTOMER = {"customer_name": "孙八", "phone": "13300000006", "id_number": "330106199001011234"}
SETTLE_FORMS = {"agency_entrustment", "acceptance_letter", "talent_agreement", "pledge"}
PREVIOUS = SETTLE_FORMS | {"id_copy", "household_card", "no_house_certificate", "photos_two"}
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
                      female="true", age_15_49="true")
    needed = required(desk, case)
    assert {"结婚证", "夫妻双方无房证明", "计划生育诚信承诺书", "15—49周岁女性情况入户调查登记表"} <= set(needed)
    assert "无房证明" not in needed, "married: both spouses' certificates instead"
    desk.complete(case, "Task_CheckDocuments", "registry", **ticked(PREVIOUS))
    assert desk.open_elements(case) == {"Task_CheckDocuments"}, "the service cannot go on"
    assert desk.data(case)["missing_text"] == \
        "计划生育诚信承诺书、15—49周岁女性情况入户调查登记表、夫妻双方无房证明、结婚证"
    desk.complete(case, "Task_CheckDocuments", "registry", **ticked(
        PREVIOUS - {"no_house_certificate"}
        | {"marriage_certificate", "spouses_no_house_certificates", "family_planning_pledge", "female_survey"}))
    assert desk.open_elements(case) == {"Task_CompleteSettlement"}


@pytest.mark.parametrize("service", ["settle_previous", "settle_fresh"])
@pytest.mark.parametrize("female, age_15_49, pledge, survey", [
    ("true", "true", True, True),
    ("true", "false", True, False),
    ("false", "false", False, False),
], ids=["woman-15-49", "woman-over-49", "man"])
def test_every_female_customer_signs_the_pledge_and_the_survey_follows_its_title(desk, service, female, age_15_49,
                                                                                  pledge, survey):
    """第6篇：女性客户:《计划生育诚信承诺书》…、《清波户籍15—49周岁女性情况入户调查登记表》."""
    case = desk.start(P6, "registry", **CUSTOMER, service=service, female=female, age_15_49=age_15_49)
    needed = required(desk, case)
    assert ("计划生育诚信承诺书" in needed, "15—49周岁女性情况入户调查登记表" in needed) == (pledge, survey)


@pytest.mark.parametrize("service, photos, other", [
    ("settle_previous", "两张一寸照", "三张一寸照"),
    ("settle_fresh", "三张一寸照", "两张一寸照"),
])
def test_photo_counts_are_the_manuals(desk, service, photos, other):
    needed = required(desk, desk.start(P6, "registry", **CUSTOMER, service=service, hukou_origin="school"))
    assert photos in needed and other not in needed


@pytest.mark.parametrize("via_shengbang, needs_form", [("false", True), ("true", False)])
def test_the_employment_adjustment_form_is_needed_when_the_agreement_was_not_through_shengbang(
        desk, via_shengbang, needs_form):
    case = desk.start(P6, "registry", **CUSTOMER, service="settle_fresh", hukou_origin="school",
                      via_shengbang=via_shengbang)
    assert ("就业调整表（一式三份，原单位盖报到证备注的单位章）" in required(desk, case)) is needs_form


@pytest.mark.parametrize("origin, extra, absent", [
    ("school", "户口迁移证原件", "老家户口簿"),
    ("hometown", "老家户口簿", "户口迁移证原件"),
])
def test_fresh_graduate_documents_depend_on_where_the_hukou_is(desk, origin, extra, absent):
    case = desk.start(P6, "registry", **CUSTOMER, service="settle_fresh", hukou_origin=origin)
    needed = required(desk, case)
    assert {"毕业证原件及复印件三份", "报到证原件", "身份证复印件", extra} <= set(needed)
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


def test_renewal_is_what_the_clerk_looks_up_in_the_system(desk):
    """续费: the manual gives no amounts, so nothing computes one; the clerk enters the system's figure."""
    case = desk.start(P6, "registry", **CUSTOMER, service="renewal")
    lookup = desk.task(case, "Task_LookUpRenewal")
    assert lookup.candidate_groups == ("registry-clerk",)
    with pytest.raises(InvalidInput) as refused:
        desk.complete(case, "Task_LookUpRenewal", "registry", renewal_items="both")
    assert set(refused.value.field_errors) == {"renewal_amount"}
    desk.complete(case, "Task_LookUpRenewal", "registry", renewal_items="both", renewal_amount="480.50")
    assert desk.data(case)["renewal_amount"] == 480.5
    desk.complete(case, "Task_CollectRenewal", "registry", renewal_paid="true", renewal_receipt_no="XF-1")
    assert desk.status(case) == "completed"


def test_renewal_with_nothing_owed_ends_at_once(desk):
    case = desk.start(P6, "registry", **CUSTOMER, service="renewal")
    desk.complete(case, "Task_LookUpRenewal", "registry", renewal_items="none", renewal_amount="0")
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
