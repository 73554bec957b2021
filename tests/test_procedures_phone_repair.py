"""售后接返机 phone repair intake and return (processes/phone_repair.bpmn), seed 001: the a–j checks
are a form, and a phone whose IMEI does not match on return goes back to the factory."""
from __future__ import annotations

from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

INTAKE = {"customer_name": "孙七", "phone": "13500000005", "store": "解放路店", "brand": "华为", "model": "P60",
          "imei_outer": "861234567890123", "fault_described": "充电无反应", "fault_confirmed": "true",
          "read_back_confirmed": "true", "accepted_cost": "200", "customer_signed": "true", "parts_returned": "true",
          "data_loss_warned": "true"}
CHECKS = {"a_status": "warranty", "b_appearance_ok": "true", "c_seal_intact": "true", "d_no_liquid_damage": "true",
          "imei_inner": "861234567890123", "e_imei_match": "true", "h_no_unauthorised_repair": "true",
          "i_warranty_card_invoice": "true", "j_sorted_by_brand": "true"}


def at_the_factory(desk: Desk, **factory: str) -> int:
    case = desk.start("phone_repair", "aftersales", **INTAKE)
    assert desk.task(case, "Task_CheckPhone").candidate_groups == ("after-sales",)
    desk.complete(case, "Task_CheckPhone", "aftersales", **CHECKS)
    desk.complete(case, "Task_ListAndShip", "aftersales", factory_list="华为P60 充电故障 保修", packed_and_sent="true")
    desk.complete(case, "Task_FactoryReturn", "aftersales", **(factory or {"replaced": "false"}))
    return case


def returned(desk: Desk, case: int, imei: str) -> None:
    """The phone back from the factory, checked; the desk compares the IMEI it reads with the one on file."""
    desk.complete(case, "Task_ReturnCheck", "aftersales", imei_on_return=imei, fault_fixed="true",
                  appearance_ok_on_return="true", labels_applied="true", inner_outer_match_on_return="true",
                  return_list="解放路店 返还清单 3月")


def test_a_repaired_phone_with_the_same_imei_is_returned_to_the_customer(desk):
    case = at_the_factory(desk)
    returned(desk, case, INTAKE["imei_outer"])
    desk.complete(case, "Task_ReturnToCustomer", "aftersales", returned_by_hand="true")
    assert desk.status(case) == "completed"
    assert desk.data(case)["d_no_liquid_damage"] is True


def test_an_imei_mismatch_on_return_sends_the_phone_back_to_the_factory(desk):
    case = at_the_factory(desk)
    returned(desk, case, "861234567899999")
    assert desk.open_elements(case) == {"Task_ListAndShip"}


def test_a_phone_the_factory_replaced_is_checked_against_the_new_units_imei(desk):
    case = at_the_factory(desk, replaced="true", replacement_imei="869999999999999", replacement_note="整机更换")
    returned(desk, case, INTAKE["imei_outer"])
    assert desk.open_elements(case) == {"Task_ListAndShip"}, "the old IMEI is not the replacement's"
    desk.complete(case, "Task_ListAndShip", "aftersales", factory_list="换机串号不符 退回", packed_and_sent="true")
    desk.complete(case, "Task_FactoryReturn", "aftersales", replaced="true", replacement_imei="869999999999999")
    returned(desk, case, "869999999999999")
    assert desk.open_elements(case) == {"Task_ReturnToCustomer"}
