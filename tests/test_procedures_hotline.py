"""Hotline intake (processes/hotline_intake.bpmn + hotline_call_routing.dmn): a call is recorded and
the matching procedure starts inside the same case (call activity), chosen by the call-kind table."""
from __future__ import annotations

import pytest

from engine import services
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

HOTLINE = "hotline_intake"
CALL = {"hotline": "95598", "customer_name": "李四", "phone": "13900000002", "room": "2-3-101"}
KINDS = ["repair", "consultation", "query", "complaint", "report", "suggestion", "opinion", "praise",
         "merchant", "media", "nuisance"]


def call(desk: Desk, kind: str, content: str = "楼道灯不亮") -> int:
    return desk.start(HOTLINE, "frontdesk", **CALL, call_kind=kind, call_content=content)


def test_a_complaint_call_starts_the_complaint_procedure_with_the_callers_details(desk):
    case = call(desk, "complaint", "物业人员态度差")
    assert desk.task(case, "Task_RecordComplaint").candidate_groups == ("front-desk",)
    desk.complete(case, "Task_RecordComplaint", "frontdesk", occurred_at="2026-03-02 08:30", place="大堂",
                  description="前台人员态度差", read_back_confirmed="true")
    classify = desk.task(case, "Task_ClassifyComplaint")
    assert (classify.candidate_groups, classify.customer_name) == (("front-desk",), "李四")


def test_the_called_complaint_procedure_keeps_its_own_15_minute_limit(desk):
    case = call(desk, "complaint")
    desk.complete(case, "Task_RecordComplaint", "frontdesk", occurred_at="今早", place="3号楼",
                  description="楼道积水", read_back_confirmed="true")
    desk.complete(case, "Task_ClassifyComplaint", "frontdesk", complaint_kind="soft",
                  complaint_severity="general", validity="valid")
    desk.complete(case, "Task_DispatchToDepartment", "frontdesk", responsible_dept="cleaning")
    desk.wait(minutes=14)
    assert "Task_EscalatePickUp" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert desk.task(case, "Task_EscalatePickUp").candidate_groups == ("cs-supervisor",)


def test_a_fault_call_starts_engineering_repair_with_its_20_minute_arrival_limit(desk):
    case = call(desk, "repair")
    desk.complete(case, "Task_RecordRepair", "frontdesk", repair_content="楼道灯不亮", urgency="normal",
                  simple_job="true")
    assert desk.task(case, "Task_AssignTechnician").candidate_groups == ("engineering",)
    desk.complete(case, "Task_AssignTechnician", "engineer", technician="赵强")
    desk.wait(minutes=19)
    assert "Task_EscalateArrival" not in desk.open_elements(case)
    desk.wait(minutes=2)
    assert "Task_EscalateArrival" in desk.open_elements(case)


@pytest.mark.parametrize("kind", ["consultation", "praise", "nuisance"])
def test_other_calls_are_answered_and_recorded_at_the_desk(desk, kind):
    case = call(desk, kind)
    assert desk.open_elements(case) == {"Task_RecordOutcome"}
    desk.complete(case, "Task_RecordOutcome", "frontdesk", answer="已当场答复")
    assert desk.status(case) == "completed"


def test_every_call_kind_has_a_route_and_no_invented_limit_or_grade(procedures_db):
    routes = {}
    for kind in KINDS:
        result = services.evaluate_decision(procedures_db, "hotline_call_routing", {"call_kind": kind},
                                            services.Actor.operator()).by_output_name()
        routes[kind] = result["route"]
        assert result["response_limit"] is None and result["complaint_grade"] is None, kind
    assert routes["complaint"] == "complaint" and routes["repair"] == "repair"
    assert set(routes.values()) == {"complaint", "repair", "record"}
