"""影楼 photo-studio daily duties (studio_daily_calls.bpmn, studio_appointment.bpmn), seed 003
客户服务部每日岗位职责: yesterday's customers called between 11:00 and 16:00, lost walk-ins after 12:00,
tomorrow's customers about 16:00, a customer 10 minutes late is phoned."""
from __future__ import annotations

from test_procedures_periodic import just_before_next_start, started
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)


def day(procedures_db) -> tuple[Desk, int]:
    desk = just_before_next_start(procedures_db, "studio_daily_calls")
    desk.wait(minutes=1, seconds=1)
    return desk, started(desk, "studio_daily_calls")


def test_the_days_calls_open_at_11_12_and_16(procedures_db):
    desk, case = day(procedures_db)
    assert desk.open_elements(case) == {"Task_CallYesterday"}
    desk.wait(minutes=59)
    assert "Task_CallLostCustomers" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert "Task_CallLostCustomers" in desk.open_elements(case)
    desk.wait(hours=3, minutes=58)
    assert "Task_NotifyTomorrow" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert "Task_NotifyTomorrow" in desk.open_elements(case)


def test_yesterdays_customers_not_called_by_16_escalate_to_the_store_manager(procedures_db):
    desk, case = day(procedures_db)
    desk.wait(hours=4, minutes=59)
    assert "Task_RemindYesterdayCalls" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindYesterdayCalls").candidate_groups == ("store-manager",)


def test_a_serious_complaint_is_reported_to_the_store_manager_at_once(procedures_db):
    desk, case = day(procedures_db)
    desk.complete(case, "Task_CallYesterday", "frontdesk", customers_called="张、李", satisfaction_scores="9, 4",
                  recorded_in_system="true", serious_complaint="true", complaint_detail="底片丢失")
    assert desk.task(case, "Task_ReportToStoreManager").candidate_groups == ("store-manager",)


def booked(desk: Desk, balance_paid: str = "true") -> int:
    case = desk.start("studio_appointment", "frontdesk", customer_name="林小姐", phone="13000000008", shoot_type="婚纱",
                      amount="3999", shoot_at="2026-03-02T14:00")
    desk.wait(hours=5, seconds=1)  # 14:00, the customer is due
    return case


def test_a_customer_10_minutes_late_is_phoned(desk):
    case = booked(desk)
    assert desk.open_elements(case) == {"Task_Receive"}
    desk.wait(minutes=9)
    assert "Task_CallLateCustomer" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert "Task_CallLateCustomer" in desk.open_elements(case)


def test_no_shoot_before_the_balance_is_paid(desk):
    case = booked(desk)
    desk.complete(case, "Task_Receive", "frontdesk", balance_paid="false")
    assert desk.open_elements(case) == set()


def test_the_customer_is_called_after_collecting_the_photos(desk):
    case = booked(desk)
    desk.complete(case, "Task_Receive", "frontdesk", balance_paid="true", plan_book="30张")
    desk.complete(case, "Task_CollectPlan", "frontdesk", plan_collected="true", plan_filled_ok="true")
    desk.complete(case, "Task_PhotosCollected", "frontdesk", collected_on="2026-03-20")
    desk.complete(case, "Task_AfterPickupCall", "frontdesk", quality_opinion="满意")
    assert desk.status(case) == "completed", desk.open_elements(case)
