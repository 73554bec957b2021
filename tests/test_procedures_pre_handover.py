"""交付前准备 pre-handover preparation (pre_handover_preparation.bpmn + handover_milestones.dmn), seed 001
客服专员岗位作业指导书: start three months before handover, draft within one month, reviewed by the
area lead and the risk-control lead, final two months before handover."""
from __future__ import annotations

from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)


def planned(desk: Desk) -> int:
    return desk.start("pre_handover_preparation", "specialist", project_name="滨江花园三期", handover_date="2026-06-02")


def drafted(desk: Desk, case: int) -> None:
    desk.complete(case, "Task_Draft", "specialist", faq_draft="交付百问 v1", script_draft="统一说辞 v1")
    desk.complete(case, "Task_AreaLeadReview", "arealead", area_lead_ok="true")
    desk.complete(case, "Task_RiskLeadReview", "risklead", risk_lead_ok="true")


def test_work_starts_three_months_before_handover(desk):
    case = planned(desk)  # Monday 2 March 09:00; 2 June − 3 months = 2 March 00:00 has passed: starts at once
    assert desk.data(case)["prep_start"] == "2026-03-02" and desk.data(case)["final_due"] == "2026-04-02"
    assert desk.task(case, "Task_Draft").candidate_groups == ("cs-specialist",)


def test_start_waits_for_three_months_before_handover(desk):
    case = desk.start("pre_handover_preparation", "specialist", project_name="四期", handover_date="2026-06-03")
    desk.wait(hours=14, minutes=59)  # 2 March 23:59
    assert "Task_Draft" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert "Task_Draft" in desk.open_elements(case)


def test_a_draft_not_done_within_a_month_is_escalated(desk):
    case = planned(desk)
    desk.wait(days=31, minutes=-1)  # the draft opened on 2 March 09:00: one month is 2 April 09:00
    assert "Task_RemindDraft" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindDraft").candidate_groups == ("cs-supervisor",)


def test_both_leads_review_and_the_final_is_due_two_months_before_handover(desk):
    case = planned(desk)
    drafted(desk, case)
    assert "Task_Finalise" in desk.open_elements(case)
    desk.wait(days=30, hours=14, minutes=59)  # 1 April 23:59
    assert "Task_RemindFinal" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert "Task_RemindFinal" in desk.open_elements(case)


def test_a_lead_who_rejects_sends_the_draft_back(desk):
    case = planned(desk)
    desk.complete(case, "Task_Draft", "specialist", faq_draft="v1", script_draft="v1")
    desk.complete(case, "Task_AreaLeadReview", "arealead", area_lead_ok="false", area_lead_note="补充车位问题")
    desk.complete(case, "Task_RiskLeadReview", "risklead", risk_lead_ok="true")
    assert "Task_Draft" in desk.open_elements(case)
