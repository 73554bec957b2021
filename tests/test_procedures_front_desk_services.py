"""Paid copying (paid_copying.bpmn + copy_fee.dmn) and air-ticket booking (air_ticket_booking.bpmn),
seed 000 第1篇 三、四: the front desk's own services. Neither manual section gives a time limit."""
from __future__ import annotations

import pytest

from engine.errors import InvalidInput
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)


def copy_job(desk: Desk, kind: str, paper: str, pages: int, **extra: str) -> int:
    return desk.start("paid_copying", "frontdesk", requester_kind=kind, document="房产证", paper_size=paper,
                      pages=str(pages), **extra)


@pytest.mark.parametrize("kind, paper, pages, fee", [
    ("external", "A4", 3, 3.0), ("staff_private", "A3", 2, 4.0), ("external", "A3", 1, 2.0)])
def test_outside_and_private_copies_are_charged_per_page(desk, kind, paper, pages, fee):
    case = copy_job(desk, kind, paper, pages, customer_name="张三")
    assert desk.data(case)["copy_amount"] == fee
    desk.complete(case, "Task_CollectFee", "frontdesk", no_receipt_told="true", fee_collected=str(fee))
    assert desk.status(case) == "completed"
    assert desk.data(case)["handler"] == "frontdesk"


def test_the_collected_amount_must_be_the_fee(desk):
    case = copy_job(desk, "external", "A4", 5)
    with pytest.raises(InvalidInput):
        desk.complete(case, "Task_CollectFee", "frontdesk", no_receipt_told="true", fee_collected="4")
    assert desk.open_elements(case) == {"Task_CollectFee"}


@pytest.mark.parametrize("kind", ["other_dept", "own_dept"])
def test_department_copies_are_booked_to_the_department_not_charged(desk, kind):
    case = copy_job(desk, kind, "A4", 40, department="工程部")
    assert desk.open_elements(case) == {"Task_RecordDepartmentCopy"}
    assert desk.data(case)["charged_to"] == "department"
    desk.complete(case, "Task_RecordDepartmentCopy", "frontdesk", department_handler="赵强", expense_booked="true")
    assert desk.status(case) == "completed"


def booked_request(desk: Desk) -> int:
    case = desk.start("air_ticket_booking", "frontdesk", customer_name="王五", room="5-2-301", phone="13700000003",
                      id_number="330102199001011234", destination="北京", travel_time="3月5日上午", cabin="economy",
                      read_back_confirmed="true")
    desk.complete(case, "Task_AskTicketOffice", "frontdesk", flight_time="3月5日 09:30", airline="国航",
                  aircraft="A330", ticket_price="1280", discount="八折", arrival_time="11:45")
    return case


def test_air_ticket_is_booked_delivered_and_the_owner_told(desk):
    case = booked_request(desk)
    desk.complete(case, "Task_ConfirmPurchase", "frontdesk", buy="true", rechecked="true")
    desk.complete(case, "Task_BookTicket", "frontdesk", rechecked="true", booking_reference="国航售票处 A77")
    courier = desk.task(case, "Task_CourierSigns")
    assert courier.candidate_groups == ("front-desk",)
    desk.complete(case, "Task_CourierSigns", "frontdesk", courier_name="小刘", courier_signed="true")
    desk.complete(case, "Task_TellOwner", "frontdesk", owner_informed="true")
    assert desk.status(case) == "completed"


def test_owner_who_does_not_buy_ends_the_booking(desk):
    case = booked_request(desk)
    desk.complete(case, "Task_ConfirmPurchase", "frontdesk", buy="false")
    assert desk.status(case) == "completed"
    assert "booking_reference" not in desk.data(case)
