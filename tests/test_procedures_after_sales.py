"""P5 after-sales follow-up (after_sales_follow_up.bpmn)."""
from __future__ import annotations

from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

P5 = "after_sales_follow_up"
SALE = {"customer_name": "钱七", "phone": "13500000005", "order_no": "SO-2002", "products": "布艺沙发"}


def sold(desk: Desk) -> int:
    return desk.start(P5, "storemgr", **SALE)


def test_sale_opens_the_call_the_letter_and_the_delivery_follow_up(desk):
    case = sold(desk)
    groups = {t.element_id: t.candidate_groups for t in desk.open_tasks(case)}
    assert groups == {"Task_SatisfactionCall": ("service-center",),
                      "Task_SendThankYouLetter": ("service-center",),
                      "Task_ConfirmDelivery": ("service-center",)}


def test_whole_follow_up_completes(desk):
    case = sold(desk)
    desk.complete(case, "Task_SatisfactionCall", "service", environment_rating="satisfied",
                  shopping_rating="satisfied", staff_rating="fair", satisfaction="satisfied")
    desk.complete(case, "Task_SendThankYouLetter", "service", letter_sent_on="2026-03-03")
    desk.complete(case, "Task_ConfirmDelivery", "service", delivered_on="2026-03-05", consultant_notified="true")
    assert desk.task(case, "Task_ConsultantCall").candidate_groups == ("store-manager",)
    desk.complete(case, "Task_ConsultantCall", "storemgr", delivery_feedback="送货准时", delivery_rating="satisfied")
    desk.wait(days=7, minutes=1)
    desk.complete(case, "Task_SecondCall", "service", second_call_opinions="使用良好",
                  second_call_satisfaction="satisfied")
    assert desk.status(case) == "completed"


def test_satisfaction_call_within_24_hours(desk):
    case = sold(desk)
    desk.wait(hours=23, minutes=59)
    assert "Task_RemindSatisfactionCall" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindSatisfactionCall").candidate_groups == ("cs-supervisor",)
    assert "Task_SatisfactionCall" in desk.open_elements(case)


def test_thank_you_letter_within_7_days(desk):
    case = sold(desk)
    desk.wait(days=6, hours=23, minutes=59)
    assert "Task_RemindThankYouLetter" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindThankYouLetter").candidate_groups == ("cs-supervisor",)


def test_second_call_on_the_7th_day_after_the_letter(desk):
    case = sold(desk)
    desk.wait(days=2)
    desk.complete(case, "Task_SendThankYouLetter", "service", letter_sent_on="2026-03-04")
    desk.wait(days=6, hours=23, minutes=59)
    assert "Task_SecondCall" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_SecondCall").candidate_groups == ("service-center",)
