"""Four eyes in the procedures: where a manual has one person check another's work, the checker is
never the doer — refused on the service layer, in the CLI and through the REST API, while another
member of the checking group passes.

Each row drives a real case of a procedure in processes/ to its checking task, with the checked
step(s) done by a user who is also in the checking group (the only way the doer could reach the
check at all).
"""
from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from click.testing import CliRunner

from engine import clock, services
from engine.cli import main
from engine.errors import Forbidden
from test_procedures_cancellation import DAY_7, HOURS_49, ORDINARY, REQUEST
from test_procedures_move_in import inspect, inspection_due
from test_procedures_support import Desk, desk, procedures_db  # noqa: F401 (fixtures)

OP = services.Actor.operator()
PASSWORD = "pw-procedures"
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Check:
    """A checking task of a procedure and how to reach it with ``doer`` doing the checked work."""
    process: str
    element: str
    doer_groups: tuple[str, ...]  # the checked step's group(s); the doer is also in the checker's group
    checker_group: str
    checker: str  # a demo user of the checker's group, who did nothing before
    reach: Callable[[Desk, str], int]
    data: dict[str, str]  # what the checker submits


def _return_form(desk: Desk, doer: str, **order: str) -> int:
    case = desk.start("order_cancellation_return", "frontdesk", **{**REQUEST, **ORDINARY, "request_kind": "return",
                                                                   "delivered": "true", "delivered_on": DAY_7,
                                                                   "packaging_intact": "true", **order})
    desk.complete(case, "Task_TryResolve", "frontdesk", suggestion="建议保留")
    desk.complete(case, "Task_FillReturnForm", doer, receipt_provided="true", pickup_slip_provided="true",
                  delivery_slip_provided="true", customer_signed="true")
    desk.complete(case, "Task_InspectGoods", doer, goods_condition="完好", goods_confirmed="true")
    return case


def _cancellation_form(desk: Desk, doer: str) -> int:
    case = desk.start("order_cancellation_return", "frontdesk", **REQUEST, order_kind="ordinary", ordered_at=HOURS_49)
    desk.complete(case, "Task_TryResolve", "frontdesk", suggestion="建议延期送货")
    desk.complete(case, "Task_FillCancellationForm", doer, sales_order_provided="true", receipt_provided="true",
                  customer_signed="true")
    return case


def _repair_assessed(desk: Desk, doer: str) -> int:
    case = desk.start("product_repair", "frontdesk", customer_name="赵六", phone="13600000004", address="滨江路8号",
                      product="实木衣柜", fault="柜门合页松脱")
    desk.complete(case, "Task_BookVisit", "service", visit_date="2026-03-03")
    desk.complete(case, "Task_AssessRepair", doer, assessment="合页滑牙", product_fault="true",
                  warranty_decision="免费维修", repair_charge="0")
    return case


def _defect_repaired(desk: Desk, doer: str) -> int:
    case = inspection_due(desk)
    inspect(desk, case, has_defects="true", defects="客厅墙面裂缝")
    desk.complete(case, "Task_CreateWorkOrder", "frontdesk", work_order_no="WO-1")
    desk.complete(case, "Task_RepairDefects", doer, repair_party="maintenance", repair_note="已修补")
    return case


def _complaint_recorded(desk: Desk, doer: str) -> int:
    """The probe of issue 13: one person picks up, handles and records a complaint."""
    case = desk.start("complaint_handling", "frontdesk", customer_name="张三", phone="13800000001", room="3-1-502",
                      channel="phone", occurred_at="2026-03-02 08:30", place="3号楼电梯厅",
                      description="电梯厅地面积水", read_back_confirmed="true")
    desk.complete(case, "Task_ClassifyComplaint", "frontdesk", complaint_kind="soft", complaint_severity="general",
                  validity="valid")
    desk.complete(case, "Task_DispatchToDepartment", "frontdesk", responsible_dept="cleaning")
    desk.complete(case, "Task_PickUpTicket", doer)
    desk.complete(case, "Task_SoftReaction", doer, reaction_note="已清理")
    desk.complete(case, "Task_SoftVerify", "frontdesk", verify_note="已核对")
    desk.complete(case, "Task_RecordHandling", doer, handling_result="积水已清理")
    assert desk.data(case)["handler_name"] == doer, "处理人 is who signed in"
    return case


CHECKS = [
    Check("complaint_handling", "Task_CheckRecord", ("cleaning",), "front-desk", "frontdesk2",
          _complaint_recorded, {"record_complete": "true", "matter_resolved": "true", "head_signed": "true"}),
    Check("order_cancellation_return", "Task_ApproveCancellation", ("front-desk",), "gm", "gm",
          _cancellation_form, {"approved": "true"}),
    Check("order_cancellation_return", "Task_ApproveReturn", ("store-manager",), "sales-head", "sales",
          _return_form, {"approved": "true"}),
    Check("product_repair", "Task_StoreManagerSign", ("service-center",), "store-manager", "storemgr",
          _repair_assessed, {}),
    Check("move_in_acceptance", "Task_RecheckRepair", ("engineering",), "engineering", "engineer2",
          _defect_repaired, {"recheck_passed": "true"}),
]
IDS = [f"{c.process}:{c.element}" for c in CHECKS]


def doer_in_both(desk: Desk, check: Check) -> str:
    """A new user in the checked step's group(s) and the checker's group (once, if they are one)."""
    name = f"dual{next(_numbers)}"
    groups = dict.fromkeys([*check.doer_groups, check.checker_group])
    services.add_user(desk.db, name, list(groups), PASSWORD, actor=OP)
    return name


def at_the_check(desk: Desk, check: Check) -> tuple[int, int, str]:
    """(case, checking task id, doer)."""
    doer = doer_in_both(desk, check)
    case = check.reach(desk, doer)
    return case, desk.task(case, check.element).id, doer


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_the_doer_is_refused_the_check_and_another_member_passes(desk, check):
    case, task, doer = at_the_check(desk, check)
    with clock.frozen(desk.now):
        for action in (services.claim, lambda db, t, a: services.complete(db, t, a, dict(check.data))):
            with pytest.raises(Forbidden, match="四眼原则：您.*不能.*复核任务"):
                action(desk.db, task, services.actor_for(desk.db, doer))
    assert desk.task(case, check.element).assignee is None, "nothing changed"
    desk.complete(case, check.element, check.checker, **check.data)
    assert check.element not in desk.open_elements(case)


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_the_cli_refuses_the_doer(desk, check):
    case, task, doer = at_the_check(desk, check)
    run = lambda *args: CliRunner().invoke(main, list(args), env={"BPMDESK_DATABASE_URL": desk.db.url})
    refused = run("claim", str(task), "--as", doer)
    assert refused.exit_code == 2 and "四眼原则" in refused.output, refused.output
    assert run("claim", str(task), "--as", check.checker).exit_code == 0


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_the_rest_api_refuses_the_doer(desk, check, tmp_path: Path):
    from webui import create_app

    case, task, doer = at_the_check(desk, check)
    client = create_app({"DATABASE_URL": desk.db.url, "VAR_DIR": tmp_path, "SECRET_KEY": "t",
                         "TESTING": True}).test_client()
    basic = {"Authorization": "Basic " + base64.b64encode(f"{doer}:{PASSWORD}".encode()).decode()}
    with clock.frozen(desk.now):
        claimed = client.post(f"/engine-rest/task/{task}/claim", headers=basic, json={"userId": doer})
    assert claimed.status_code == 403 and "四眼原则" in claimed.json["message"]
    desk.claim(case, check.element, check.checker)


def test_the_signature_on_the_web_is_the_signed_in_person(desk, tmp_path: Path):
    """店长签字 is not typed: the task page shows who is signed in, and the case records that user."""
    from test_webui_app import post, text, token_of
    from webui import create_app

    name = f"store{next(_numbers)}"
    services.add_user(desk.db, name, ["store-manager"], PASSWORD, "店长 甲", actor=OP)
    case = _repair_assessed(desk, "service")
    task = desk.task(case, "Task_StoreManagerSign").id
    client = create_app({"DATABASE_URL": desk.db.url, "VAR_DIR": tmp_path, "TESTING": True}).test_client()
    login = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token_of(login)})
    page = client.get(f"/tasks/{task}")
    assert page.status_code == 200 and "店长 甲" in text(page) and "自动填写为办理人" in text(page)
    assert post(client, f"/tasks/{task}/complete", {}, via=f"/tasks/{task}").status_code == 302
    assert desk.data(case)["store_manager_signature"] == name


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_audit_four_eyes_lists_the_procedures_pairs_without_violations(desk, check):
    case, _, doer = at_the_check(desk, check)
    desk.complete(case, check.element, check.checker, **check.data)
    audit = CliRunner().invoke(main, ["audit", "four-eyes", "--process", check.process],
                               env={"BPMDESK_DATABASE_URL": desk.db.url})
    assert audit.exit_code == 0, audit.output
    pairs = [line.split() for line in audit.output.splitlines()[1:-1]]
    mine = {(r[3], r[6], r[7]) for r in pairs if r[0] == str(case)}
    assert (doer, f"[{check.element}]", check.checker) in mine, audit.output
    assert audit.output.splitlines()[-1].endswith(" 0 violation(s)")
