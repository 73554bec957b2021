"""外包客服 the outsourced shop service (processes/shop_customer_service.bpmn, shop_logistics_watch.bpmn),
seed 001 外包客服对接资料表: calm the buyer, pass to the 掌柜 when online or log a message, and the
plan for logistics not updated after 1, 2 and 3 days."""
from __future__ import annotations

import pytest

from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

BUYER = {"shop_name": "彬狐服饰专营店", "customer_name": "买家小林", "phone": "13000000012", "order_no": "PDD-7788"}


@pytest.mark.parametrize("online, first", [("true", "Task_OwnerHandles"), ("false", "Task_LogMessage")])
def test_the_buyer_is_passed_to_the_owner_when_online_else_a_message_is_logged(desk, online, first):
    case = desk.start("shop_customer_service", "shopcs", **BUYER, issue_kind="damaged", issue="收到的衣服破了",
                      calmed="true", owner_online=online)
    assert desk.open_elements(case) == {first}
    if online == "false":
        desk.complete(case, "Task_LogMessage", "shopcs", message="破损件，要求换货，电话13000000012")
        assert desk.data(case)["logged_by"] == "shopcs"
    assert desk.task(case, "Task_OwnerReplies" if online == "false" else first).candidate_groups == ("shop-owner",)


def shipped(desk: Desk) -> int:
    return desk.start("shop_logistics_watch", "shopcs", **BUYER, tracking_no="YT1234567890")


@pytest.mark.parametrize("days, task, group", [(1, "Task_Calm", "outsourced-cs"),
                                               (2, "Task_ContactWarehouse", "outsourced-cs"),
                                               (3, "Task_NotifyOwner", "shop-owner")])
def test_logistics_not_updated_for_1_2_3_days_gets_its_step(desk, days, task, group):
    case = shipped(desk)
    desk.wait(days=days, minutes=-1)
    assert task not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, task).candidate_groups == (group,)
    assert "Task_TrackLogistics" in desk.open_elements(case), "the parcel is still followed"


def test_an_update_restarts_the_count_and_receipt_ends_the_case(desk):
    case = shipped(desk)
    desk.wait(hours=23)
    desk.complete(case, "Task_TrackLogistics", "shopcs", logistics_state="updated", logistics_note="已到达武汉转运中心")
    desk.wait(hours=23, minutes=59)  # 46 h 59 min after shipping, 23 h 59 min after the update
    assert "Task_Calm" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert "Task_Calm" in desk.open_elements(case)
    desk.complete(case, "Task_TrackLogistics", "shopcs", logistics_state="received")
    assert desk.status(case) == "completed" and desk.open_elements(case) == set()
