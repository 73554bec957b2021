"""P7 move-in acceptance (move_in_acceptance.bpmn + move_in_documents.dmn)."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

P7 = "move_in_acceptance"
OWNER = {"customer_name": "周九", "phone": "13200000007", "room": "8-1-1201"}
OWNER_PAPERS = {"owner_id": "true", "move_in_notice": "true", "purchase_contract": "true"}


def documents_checked(desk: Desk, applicant: str = "owner", **papers: str) -> int:
    case = desk.start(P7, "frontdesk", **OWNER, applicant_type=applicant)
    desk.complete(case, "Task_VerifyDocuments", "frontdesk", **OWNER_PAPERS, **papers)
    return case


def inspection_due(desk: Desk) -> int:
    case = documents_checked(desk)
    desk.complete(case, "Task_RegisterResident", "frontdesk", registration_filled="true", agreements_signed="true")
    desk.complete(case, "Task_HandOverItems", "frontdesk", keys_count="3", handbook_given="true",
                  drawings_given="true", items_confirmed="true")
    desk.complete(case, "Task_CollectManagementFee", "frontdesk", management_fee="2400", fee_receipt_no="F-1")
    assert desk.task(case, "Task_Inspection").candidate_groups == ("engineering",)
    return case


def inspect(desk: Desk, case: int, **found: str) -> None:
    desk.complete(case, "Task_Inspection", "engineer", water_meter="12", electricity_meter="30", gas_meter="5",
                  readings_confirmed="true", **found)


def test_owner_moves_in_without_defects_or_custody(desk):
    case = inspection_due(desk)
    inspect(desk, case)
    desk.complete(case, "Task_Archive", "frontdesk", archived="true")
    assert desk.status(case) == "completed"


@pytest.mark.parametrize("applicant, missing", [
    ("delegate", "受托人身份证、委托书"),
    ("company", "单位证明、个人身份证明"),
])
def test_delegate_and_company_papers_are_required(desk, applicant, missing):
    case = documents_checked(desk, applicant)
    assert desk.open_elements(case) == {"Task_VerifyDocuments"}
    assert desk.data(case)["missing_text"] == missing


def test_delegate_with_all_papers_goes_on(desk):
    case = documents_checked(desk, "delegate", delegate_id="true", power_of_attorney="true")
    assert desk.open_elements(case) == {"Task_RegisterResident"}


def repaired_and_rechecked(desk: Desk, case: int, *, repairer: str = "engineer", checker: str = "engineer2") -> None:
    desk.complete(case, "Task_CreateWorkOrder", "frontdesk", work_order_no="WO-1")
    desk.complete(case, "Task_RepairDefects", repairer, repair_party="maintenance", repair_note="已修补")
    desk.complete(case, "Task_RecheckRepair", checker, recheck_passed="true")


def test_defects_loop_through_repair_and_reinspection_until_the_owner_signs(desk):
    """001 ⑤: 维修部复检合格后，客户服务中心…确认再次验收时间…验收合格请业主在维修工作单上签字确认."""
    case = inspection_due(desk)
    inspect(desk, case, has_defects="true", defects="客厅墙面裂缝")
    for signed in ("false", "true"):
        repaired_and_rechecked(desk, case)
        assert desk.data(case)["recheck_by"] == "engineer2"
        assert desk.task(case, "Task_BookReinspection").candidate_groups == ("front-desk",)
        desk.complete(case, "Task_BookReinspection", "frontdesk", reinspection_time="周三10点")
        desk.complete(case, "Task_Reinspection", "engineer", defects="墙面仍有细缝", owner_signed_off=signed)
        if signed == "false":
            assert desk.open_elements(case) == {"Task_CreateWorkOrder"}, "no acceptance without the owner's signature"
    assert desk.open_elements(case) == {"Task_Archive"}
    assert desk.data(case)["reinspection_by"] == "engineer"


def test_the_owners_signature_must_be_answered(desk):
    case = inspection_due(desk)
    inspect(desk, case, has_defects="true", defects="客厅墙面裂缝")
    repaired_and_rechecked(desk, case)
    desk.complete(case, "Task_BookReinspection", "frontdesk", reinspection_time="周三10点")
    with pytest.raises(InvalidInput) as refused:
        desk.complete(case, "Task_Reinspection", "engineer", defects="已修复")
    assert set(refused.value.field_errors) == {"owner_signed_off"}


def test_a_failed_recheck_goes_back_to_the_repair(desk):
    case = inspection_due(desk)
    inspect(desk, case, has_defects="true", defects="卫生间渗水")
    desk.complete(case, "Task_CreateWorkOrder", "frontdesk", work_order_no="WO-2")
    desk.complete(case, "Task_RepairDefects", "engineer", repair_party="developer", repair_note="开发商已返修")
    desk.complete(case, "Task_RecheckRepair", "engineer2", recheck_passed="false")
    assert desk.open_elements(case) == {"Task_RepairDefects"}


def in_custody(desk: Desk) -> int:
    case = inspection_due(desk)
    inspect(desk, case)
    desk.complete(case, "Task_Archive", "frontdesk", archived="true", custody_requested="true")
    desk.complete(case, "Task_SignCustody", "frontdesk", custody_agreement_signed="true", water_meter_start="12",
                  electricity_meter_start="30", custody_fee="1680")
    return case


def patrol(desk: Desk, case: int, water: int, electricity: int, **more: str) -> None:
    desk.complete(case, "Task_CustodyPatrol", "guard", water_reading=str(water),
                  electricity_reading=str(electricity), **more)


def test_custody_is_patrolled_every_week(desk):
    case = in_custody(desk)
    desk.wait(days=6, hours=23)
    assert "Task_CustodyPatrol" not in desk.open_elements(case)
    desk.wait(hours=2)
    assert desk.task(case, "Task_CustodyPatrol").candidate_groups == ("security",)
    patrol(desk, case, 13, 35)
    assert desk.open_elements(case) == set(), "nothing wrong: wait for next week"
    desk.wait(days=7, minutes=1)
    patrol(desk, case, 14, 40, custody_ended="true")
    assert desk.status(case) == "completed"


@pytest.mark.parametrize("water, electricity", [(18, 35), (13, 51)])
def test_readings_over_the_custody_limits_are_told_to_the_owner(desk, water, electricity):
    case = in_custody(desk)
    desk.wait(days=7, minutes=1)
    patrol(desk, case, water, electricity)
    assert desk.task(case, "Task_NotifyOwner").candidate_groups == ("front-desk",)
