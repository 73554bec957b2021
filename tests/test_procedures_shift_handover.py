"""值班 / 交接班 (processes/shift_handover.bpmn), seed 001 客服部值班制度: at least two on duty from
08:00, the handover record at the end of the 22:00 shift, confirmed by the next shift."""
from __future__ import annotations

import pytest

from engine.errors import Forbidden, InvalidInput
from test_procedures_periodic import just_before_next_start, started
from test_procedures_support import Desk, procedures_db  # noqa: F401 (fixture)

P = "shift_handover"


def shift(procedures_db) -> tuple[Desk, int]:
    desk = just_before_next_start(procedures_db, P)
    desk.wait(minutes=1, seconds=1)
    return desk, started(desk, P)


def test_the_shift_starts_at_8_and_needs_at_least_two_on_duty(procedures_db):
    desk, case = shift(procedures_db)
    assert desk.task(case, "Task_ConfirmRoster").candidate_groups == ("front-desk",)
    with pytest.raises(InvalidInput):
        desk.complete(case, "Task_ConfirmRoster", "frontdesk", on_duty="王芳", on_duty_count="1")
    desk.complete(case, "Task_ConfirmRoster", "frontdesk", on_duty="王芳、李娜", on_duty_count="2")


def test_the_handover_record_opens_at_22_and_is_confirmed_by_the_next_shift(procedures_db):
    desk, case = shift(procedures_db)
    desk.complete(case, "Task_ConfirmRoster", "frontdesk", on_duty="王芳、李娜", on_duty_count="2")
    desk.wait(hours=13, minutes=59)
    assert "Task_WriteHandover" not in desk.open_elements(case), "21:59"
    desk.wait(minutes=2)
    desk.complete(case, "Task_WriteHandover", "frontdesk", key_work="3号楼停水通知", open_problems="5-2-301漏水待修",
                  special_needs="8-1-101老人需上门", unfinished_repairs="5-2-301",
                  reception_log="来电12个、来访3人，均已登记")
    confirm = desk.task(case, "Task_ConfirmHandover")
    assert confirm.candidate_groups == ("front-desk",)
    with pytest.raises(Forbidden, match="四眼原则"):
        desk.complete(case, "Task_ConfirmHandover", "frontdesk", handover_clear="true")
    desk.complete(case, "Task_ConfirmHandover", "frontdesk2", handover_clear="true")
    assert desk.status(case) == "completed"
    assert (desk.data(case)["handed_over_by"], desk.data(case)["taken_over_by"]) == ("frontdesk", "frontdesk2")


def test_a_handover_record_not_written_by_8_the_next_morning_is_escalated(procedures_db):
    desk, case = shift(procedures_db)
    desk.complete(case, "Task_ConfirmRoster", "frontdesk", on_duty="王芳、李娜", on_duty_count="2")
    desk.wait(hours=14, seconds=1)  # 22:00, the record opens: the 10 hours count from here
    assert "Task_WriteHandover" in desk.open_elements(case)
    desk.wait(hours=9, minutes=59)
    assert "Task_RemindHandover" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindHandover").candidate_groups == ("cs-supervisor",)
