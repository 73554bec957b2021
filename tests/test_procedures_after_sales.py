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
    desk.wait(days=8)  # Tuesday 03-10 09:00: the 7th day after the letter of 03-03
    desk.complete(case, "Task_SecondCall", "service", second_call_opinions="使用良好",
                  second_call_satisfaction="satisfied")
    assert desk.status(case) == "completed"


def test_open_escalations_end_with_the_case(desk):
    """A 督办 follows the task it watches: the case does not stay running for it."""
    case = sold(desk)
    desk.wait(hours=24, minutes=1)
    assert "Task_RemindSatisfactionCall" in desk.open_elements(case)
    desk.complete(case, "Task_SatisfactionCall", "service", environment_rating="satisfied",
                  shopping_rating="satisfied", staff_rating="fair", satisfaction="satisfied")
    desk.complete(case, "Task_SendThankYouLetter", "service", letter_sent_on="2026-03-03")
    desk.complete(case, "Task_ConfirmDelivery", "service", delivered_on="2026-03-05", consultant_notified="true")
    desk.complete(case, "Task_ConsultantCall", "storemgr", delivery_feedback="送货准时", delivery_rating="satisfied")
    desk.wait(days=7)
    desk.complete(case, "Task_SecondCall", "service", second_call_opinions="使用良好",
                  second_call_satisfaction="satisfied")
    assert desk.status(case) == "completed"
    assert desk.open_elements(case) == set()


def test_an_unhandled_escalation_goes_up_to_the_manager_after_the_centres_limit(desk):
    """The supervisor's limit is the centre's setting (escalation_policy.dmn: PT1H), not the manual's."""
    case = sold(desk)
    desk.wait(hours=24, minutes=1)  # the 24-hour reminder fires at 09:01 the next day
    assert desk.data(case)["escalation_limit"] == "PT1H"
    desk.wait(minutes=59)
    assert "Task_RemindSatisfactionCallToManager" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindSatisfactionCallToManager").candidate_groups == ("cs-manager",)
    assert "Task_RemindSatisfactionCall" not in desk.open_elements(case), "it moved up, not copied"
    assert "Task_SatisfactionCall" in desk.open_elements(case)


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
    """答谢信寄出的第7天: counted in days from the date on the letter (03-04 -> 03-11)."""
    case = sold(desk)
    desk.wait(days=2)  # 03-04 09:00
    desk.complete(case, "Task_SendThankYouLetter", "service", letter_sent_on="2026-03-04")
    desk.wait(days=6, hours=14, minutes=59)  # 03-10 23:59
    assert "Task_SecondCall" not in desk.open_elements(case)
    desk.wait(minutes=2)  # 03-11 00:01
    assert desk.task(case, "Task_SecondCall").candidate_groups == ("service-center",)


def test_second_call_counts_from_the_letters_date_not_from_when_it_was_recorded(desk):
    case = sold(desk)
    desk.wait(days=2)  # recorded on 03-04 for a letter that went out on 03-03
    desk.complete(case, "Task_SendThankYouLetter", "service", letter_sent_on="2026-03-03")
    desk.wait(days=5, hours=14, minutes=59)  # 03-09 23:59
    assert "Task_SecondCall" not in desk.open_elements(case)
    desk.wait(minutes=2)  # 03-10 00:01
    assert "Task_SecondCall" in desk.open_elements(case)


def test_second_call_not_made_on_the_7th_day_is_escalated(desk):
    case = sold(desk)
    desk.complete(case, "Task_SendThankYouLetter", "service", letter_sent_on="2026-03-02")
    desk.wait(days=7, hours=14, minutes=59)  # 03-09 23:59, the last minute of the 7th day
    assert "Task_RemindSecondCall" not in desk.open_elements(case)
    desk.wait(minutes=2)  # 03-10 00:01
    assert desk.task(case, "Task_RemindSecondCall").candidate_groups == ("cs-supervisor",)
    assert "Task_SecondCall" in desk.open_elements(case)
