"""保单服务质控 policy-service quality control (policy_service_change.bpmn, policy_daily_qc.bpmn +
qc_error_rate.dmn), seed 003 第五篇: 交接 → 录入 (照会 loop) → 保全 → 复核 by another post → 装订 → 打印,
and the daily 质检表 naming operators and reviewers."""
from __future__ import annotations

import pytest

from engine import services
from engine.errors import Forbidden
from test_procedures_periodic import just_before_next_start, started
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

OK = {"change_reviewed_ok": "true", "entry_reviewed_ok": "true", "fee_reviewed_ok": "true"}


def changed(desk: Desk, noted: bool = False, change_post: str = "policychange") -> int:
    case = desk.start("policy_service_change", "policyintake", policy_no="P2026-0001", customer_name="郑八",
                      change_type="受益人变更", application_date="2026-03-01", documents_received="申请书、身份证复印件",
                      application_date_ok="true")
    desk.complete(case, "Task_Entry", "policyentry", materials_ok="true", entry_content="受益人改为配偶",
                  needs_note=str(noted).lower(), **({"note_content": "缺受益人身份证"} if noted else {}))
    if noted:
        assert desk.open_elements(case) == {"Task_Note"}
        desk.complete(case, "Task_Note", "policyentry", note_reply="客户已补交")
        desk.complete(case, "Task_Entry", "policyentry", materials_ok="true", entry_content="受益人改为配偶",
                      needs_note="false")
    desk.complete(case, "Task_SystemChange", change_post, change_done="true", endorsement="2026-03-02生效",
                  reports_checked="true")
    return case


def test_a_change_runs_through_review_binding_and_printing_each_by_its_own_post(desk):
    case = changed(desk, noted=True)
    assert desk.task(case, "Task_Review").candidate_groups == ("policy-review",)
    desk.complete(case, "Task_Review", "policyreview", **OK)
    desk.complete(case, "Task_Binding", "policybinding", bound="true", first_page_clauses_updated="true")
    desk.complete(case, "Task_Print", "policyprint", notices_printed="true")
    data = desk.data(case)
    assert desk.status(case) == "completed"
    assert (data["entry_by"], data["change_by"], data["reviewer"]) == ("policyentry", "policychange", "policyreview")


def test_whoever_made_the_change_cannot_review_it(desk):
    """Four eyes (二（三）2(2)② 建立复核制度): one person on both the 保全 and the 复核 post."""
    dual = desk.hire("changereview", "policy-change", "policy-review")
    case = changed(desk, change_post=dual)
    with pytest.raises(Forbidden, match="四眼原则：您完成了本案件的「系统变更与费用调整」，不能认领复核任务「复核」"):
        desk.claim(case, "Task_Review", dual)
    desk.complete(case, "Task_Review", "policyreview", **OK)
    assert desk.open_elements(case) == {"Task_Binding"}


def test_an_error_found_in_review_goes_back_to_the_system_change(desk):
    case = changed(desk)
    desk.complete(case, "Task_Review", "policyreview", **(OK | {"fee_reviewed_ok": "false"}), e05_fee="true",
                  error_note="退费少算")
    assert desk.open_elements(case) == {"Task_SystemChange"}
    assert desk.data(case)["e05_fee"] is True


def daily_sheet(procedures_db) -> tuple[Desk, int]:
    desk = just_before_next_start(procedures_db, "policy_daily_qc")
    desk.wait(minutes=1, seconds=1)
    return desk, started(desk, "policy_daily_qc")


def test_the_daily_quality_sheet_is_escalated_when_not_filled_in_a_day(procedures_db):
    desk, case = daily_sheet(procedures_db)
    assert desk.task(case, "Task_DailyQualitySheet").candidate_groups == ("policy-review",)
    desk.wait(hours=23, minutes=59)
    assert "Task_RemindQualitySheet" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindQualitySheet").candidate_groups == ("cs-supervisor",)
    desk.wait(minutes=59)  # the supervisor's hour (escalation_policy.dmn) from when the 督办 opened
    assert "Task_RemindQualitySheetToManager" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_RemindQualitySheetToManager").candidate_groups == ("cs-manager",)


def test_the_daily_quality_sheet_names_operators_and_reviewers_and_computes_the_error_rate(procedures_db):
    desk, case = daily_sheet(procedures_db)
    sheet = services.get_task(desk.db, desk.task(case, "Task_DailyQualitySheet").id, services.Actor.operator())
    points = [f.label for f in sheet.fields if f.id.startswith("qc_e")]
    assert len(points) == 14 and points[6] == "差错点 7 复核岗未及时发现纠正以上差错"
    desk.complete(case, "Task_DailyQualitySheet", "policyreview", qc_content="变更件", qc_count="40", error_count="2",
                  qc_e05="true", qc_e07="true", operators="蔡二、贾三", reviewers="丁四", new_policies="12",
                  in_process="8", noted="3", finished="29")
    assert desk.status(case) == "completed"
    data = desk.data(case)
    assert data["error_rate"] == 0.05 and data["qc_e05"] is True and data["qc_e01"] is False
