"""Four eyes: the checker of a step is never its doer, on every road to the checking task.

The probe of issue 13: one user in both ``cleaning`` and ``front-desk`` picks up a complaint,
handles it and tries to accept his own work — refused with a clear message and recorded in the
case's history; another front-desk member passes. Diagrams: tests/data/four_eyes/.
"""
from __future__ import annotations

import base64
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine import services
from engine.errors import DeployError, Forbidden
from engine.services import TaskFilter
from engine.store import Database
from test_compat import NAMESPACES, line_of

ROOT = Path(__file__).resolve().parents[1]
DIAGRAMS = ROOT / "tests" / "data" / "four_eyes"
OP = services.Actor.operator()
PASSWORD = "pw-4eyes"
REFUSED = "四眼原则：您完成了本案件的「处理投诉」，不能{}复核任务「验收处理结果」（复核人不能是经办人）。请由其他同事处理。"


@pytest.fixture
def desk(empty_db: Database) -> Database:
    """The two test procedures; ``dual`` in cleaning and front-desk, ``fd`` in front-desk,
    ``clean`` in cleaning, ``boss`` a supervisor of the departments."""
    services.deploy_paths(empty_db, [DIAGRAMS], OP)
    services.set_group(empty_db, "cs-supervisor", "客服主管", actor=OP)
    for group in ("cleaning", "front-desk"):
        services.set_group(empty_db, group, group, ["cs-supervisor"], actor=OP)
    for name, groups in (("dual", ["cleaning", "front-desk"]), ("fd", ["front-desk"]), ("clean", ["cleaning"]),
                         ("boss", ["cs-supervisor"])):
        services.add_user(empty_db, name, groups, PASSWORD, actor=OP)
    return empty_db


def as_(db: Database, name: str) -> services.Actor:
    return services.actor_for(db, name)


def open_task(db: Database, case: int, element: str) -> services.TaskItem:
    items = services.list_tasks(db, OP, TaskFilter(instance_id=case)).items
    return next(t for t in items if t.element_id == element)


def handled_by(db: Database, person: str, process: str = "complaint_checked") -> tuple[int, str]:
    """A case whose complaint ``person`` picked up and handled; the id of the acceptance task."""
    case = services.start_instance(db, process, as_(db, "fd"), {})
    handle = open_task(db, case, "Task_Handle")
    services.claim(db, handle.id, as_(db, person))
    services.complete(db, handle.id, as_(db, person), {"result": "已清理"})
    return case, open_task(db, case, "Task_Accept").id


def refusals(db: Database, case: int) -> list[dict]:
    return [e.payload | {"actor": e.actor} for e in services.history(db, case, OP) if e.type == "four_eyes_refused"]


# --- the service layer ------------------------------------------------------------------------------

@pytest.mark.postgres
def test_the_doer_cannot_claim_or_complete_the_check_and_another_member_passes(desk: Database) -> None:
    case, accept = handled_by(desk, "dual")
    for action, word in ((services.claim, "认领"), (lambda *a: services.complete(*a, {"accepted": True}), "完成")):
        with pytest.raises(Forbidden) as refused:
            action(desk, accept, as_(desk, "dual"))
        assert str(refused.value) == REFUSED.format(word)
    assert open_task(desk, case, "Task_Accept").assignee is None  # nothing changed
    assert services.next_task_for(desk, case, as_(desk, "dual")) is None  # not sent on to a refused form
    assert services.next_task_for(desk, case, as_(desk, "fd")).id == accept
    assert [(r["actor"], r["action"], r["person"], [(c["element_id"], c["person"], c["part"]) for c in r["checked"]])
            for r in refusals(desk, case)] == [
        ("dual", "claim", "dual", [("Task_Handle", "dual", "completed")]),
        ("dual", "complete", "dual", [("Task_Handle", "dual", "completed")])]
    services.claim(desk, accept, as_(desk, "fd"))
    services.complete(desk, accept, as_(desk, "fd"), {"accepted": True})
    completed = [e for e in services.history(desk, case, OP) if e.type == "task_completed"][-1]
    assert (completed.actor, completed.payload["checked"][0]["person"]) == ("fd", "dual")
    assert open_task(desk, case, "Task_Visit").state == "open"
    assert services.replay(desk, case, OP).agrees  # the refusals are history, not steps


def test_delegation_and_a_supervisors_assignment_cannot_give_the_check_to_the_doer(desk: Database) -> None:
    case, accept = handled_by(desk, "dual")
    services.claim(desk, accept, as_(desk, "fd"))
    with pytest.raises(Forbidden, match="四眼原则：dual 完成了本案件的「处理投诉」，不能被委派复核任务"):
        services.delegate(desk, accept, as_(desk, "fd"), "dual")
    with pytest.raises(Forbidden, match="四眼原则：dual 完成了本案件的「处理投诉」，不能被分派复核任务"):
        services.assign(desk, accept, as_(desk, "boss"), "dual")
    assert open_task(desk, case, "Task_Accept").assignee == "fd"
    assert [(r["actor"], r["action"], r["person"]) for r in refusals(desk, case)] == [
        ("fd", "delegate", "dual"), ("boss", "assign", "dual")]


def test_having_been_assignee_of_the_checked_step_is_enough_even_after_handing_it_on(desk: Database) -> None:
    case = services.start_instance(desk, "complaint_checked", as_(desk, "fd"), {})
    handle = open_task(desk, case, "Task_Handle")
    services.claim(desk, handle.id, as_(desk, "dual"))
    services.delegate(desk, handle.id, as_(desk, "dual"), "clean")
    services.complete(desk, handle.id, as_(desk, "clean"), {"result": "已清理"})
    accept = open_task(desk, case, "Task_Accept").id
    with pytest.raises(Forbidden, match="四眼原则：您承办过本案件的「处理投诉」，不能认领复核任务「验收处理结果」"):
        services.claim(desk, accept, as_(desk, "dual"))


def test_a_supervisor_who_handled_the_step_cannot_take_the_check_over(desk: Database) -> None:
    services.set_groups(desk, "boss", ["cs-supervisor", "cleaning"], actor=OP)
    case, accept = handled_by(desk, "boss")
    with pytest.raises(Forbidden, match="四眼原则：您完成了本案件的「处理投诉」，不能被分派复核任务"):
        services.assign(desk, accept, as_(desk, "boss"), "boss")
    services.assign(desk, accept, as_(desk, "boss"), "fd")


def test_every_round_of_a_rework_loop_counts(desk: Database) -> None:
    case, accept = handled_by(desk, "dual")
    services.complete(desk, accept, as_(desk, "fd"), {"accepted": False})  # sent back
    again = open_task(desk, case, "Task_Handle")
    services.complete(desk, again.id, as_(desk, "clean"), {"result": "重新清理"})
    second = open_task(desk, case, "Task_Accept").id
    with pytest.raises(Forbidden, match="您完成了本案件的「处理投诉」"):
        services.complete(desk, second, as_(desk, "dual"), {"accepted": True})
    services.complete(desk, second, as_(desk, "fd"), {"accepted": True})
    visit = open_task(desk, case, "Task_Visit").id  # checks both the handling and the acceptance
    with pytest.raises(Forbidden, match="您完成了本案件的「验收处理结果」"):
        services.complete(desk, visit, as_(desk, "fd"))


def test_the_same_person_may_do_the_same_step_in_another_case(desk: Database) -> None:
    handled_by(desk, "dual")
    case = services.start_instance(desk, "complaint_checked", as_(desk, "fd"), {})
    services.complete(desk, open_task(desk, case, "Task_Handle").id, as_(desk, "clean"), {"result": "好"})
    services.claim(desk, open_task(desk, case, "Task_Accept").id, as_(desk, "dual"))


def test_the_process_wide_option_makes_every_check_task_check_all_work_before_it(desk: Database) -> None:
    case = services.start_instance(desk, "complaint_all_checks", as_(desk, "fd"), {})
    services.complete(desk, open_task(desk, case, "Task_Receive").id, as_(desk, "fd"))
    services.complete(desk, open_task(desk, case, "Task_Handle").id, as_(desk, "clean"))
    verify = open_task(desk, case, "Task_Verify").id
    with pytest.raises(Forbidden, match="您完成了本案件的「前台受理」，不能认领复核任务「前台核实」"):
        services.claim(desk, verify, as_(desk, "fd"))
    services.complete(desk, verify, as_(desk, "dual"))
    assert services.show_instance(desk, case, OP).status == "completed"


# --- deploy ---------------------------------------------------------------------------------------

def checked_diagram(properties: str, *, on: str = "userTask", process_properties: str = "") -> bytes:
    """start → Task_Handle → Task_Check (carrying ``properties``) → end, and a parallel Task_Side."""
    props = lambda text: (f"<bpmn:extensionElements><camunda:properties>{text}</camunda:properties>"
                          "</bpmn:extensionElements>") if text else ""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="p" isExecutable="true">
{props(process_properties)}
<bpmn:startEvent id="start"/>
<bpmn:parallelGateway id="split"/>
<bpmn:userTask id="Task_Handle" camunda:candidateGroups="cleaning"/>
<bpmn:userTask id="Task_Side" camunda:candidateGroups="cleaning"/>
<bpmn:{on} id="Task_Check" camunda:candidateGroups="front-desk">
{props(properties)}
</bpmn:{on}>
<bpmn:endEvent id="end"/>
<bpmn:endEvent id="end_side"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="split"/>
<bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="Task_Handle"/>
<bpmn:sequenceFlow id="f3" sourceRef="Task_Handle" targetRef="Task_Check"/>
<bpmn:sequenceFlow id="f4" sourceRef="Task_Check" targetRef="end"/>
<bpmn:sequenceFlow id="f5" sourceRef="split" targetRef="Task_Side"/>
<bpmn:sequenceFlow id="f6" sourceRef="Task_Side" targetRef="end_side"/>
</bpmn:process>
</bpmn:definitions>
'''.encode()


def deploy_problems(db: Database, content: bytes) -> list[str]:
    with pytest.raises(DeployError) as refused:
        services.deploy_files(db, [("checks.bpmn", content)], OP)
    return refused.value.problems


def fe(value: str, name: str = "fourEyes") -> str:
    return f'<camunda:property name="{name}" value="{value}"/>'


@pytest.mark.parametrize(("properties", "on", "process", "expected"), [
    (fe("Task_Nope"), "userTask", "", 'fourEyes names "Task_Nope", which is not a user task of this process '
     "(its user tasks: Task_Handle, Task_Side); write the id of a user task whose doer must not do this check"),
    (fe("Task_Side"), "userTask", "", 'fourEyes names "Task_Side", which does not come before it on any path'),
    (fe("Task_Check"), "userTask", "", "names the task itself: a check cannot check itself"),
    (fe(" , "), "userTask", "", 'fourEyes is empty: list the ids of the user tasks it checks, '
     'e.g. fourEyes="Task_Handle,Task_Record"'),
    (fe("Task_Handle"), "manualTask", "", 'the property "fourEyes" is only for user tasks'),
    (fe("true", "check"), "userTask", "", 'has check="true", but its process does not set fourEyes="all"'),
    (fe("yes", "check"), "userTask", fe("all"), 'check="yes": write check="true"'),
    ("", "userTask", fe("Task_Handle"), 'fourEyes="Task_Handle": on a process it takes only "all"'),
    ("", "userTask", fe("all"), 'sets fourEyes="all", but no user task has the property check="true"'),
])
def test_deploy_refuses_what_four_eyes_cannot_mean_with_file_line(empty_db: Database, properties: str, on: str,
                                                                  process: str, expected: str) -> None:
    content = checked_diagram(properties, on=on, process_properties=process)
    [problem] = deploy_problems(empty_db, content)
    assert expected in problem
    needle = properties or process
    assert problem.startswith(f"checks.bpmn:{line_of(content, needle.strip())}:")


def test_a_check_with_nothing_before_it_is_refused(empty_db: Database) -> None:
    content = checked_diagram("", process_properties=fe("all")).replace(
        b'<bpmn:userTask id="Task_Handle" camunda:candidateGroups="cleaning"/>',
        b'<bpmn:userTask id="Task_Handle" camunda:candidateGroups="cleaning"><bpmn:extensionElements>'
        b'<camunda:properties><camunda:property name="check" value="true"/></camunda:properties>'
        b'</bpmn:extensionElements></bpmn:userTask>')
    [problem] = deploy_problems(empty_db, content)
    assert 'userTask "Task_Handle" has check="true", but no user task comes before it' in problem


def test_checks_reach_into_and_out_of_sub_processes_and_loops(empty_db: Database) -> None:
    """A check after a sub-process may name a task inside it; a task in a loop may check the task
    after it, which a previous round did."""
    content = f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NAMESPACES} id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:process id="p" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:subProcess id="Sub">
  <bpmn:startEvent id="sub_start"/>
  <bpmn:userTask id="Task_Inner" camunda:candidateGroups="cleaning"/>
  <bpmn:endEvent id="sub_end"/>
  <bpmn:sequenceFlow id="s1" sourceRef="sub_start" targetRef="Task_Inner"/>
  <bpmn:sequenceFlow id="s2" sourceRef="Task_Inner" targetRef="sub_end"/>
</bpmn:subProcess>
<bpmn:userTask id="Task_Check" camunda:candidateGroups="front-desk"><bpmn:extensionElements><camunda:properties>
  <camunda:property name="fourEyes" value="Task_Inner,Task_Later"/></camunda:properties></bpmn:extensionElements>
</bpmn:userTask>
<bpmn:userTask id="Task_Later" camunda:candidateGroups="cleaning"/>
<bpmn:exclusiveGateway id="again" default="f5"/>
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Sub"/>
<bpmn:sequenceFlow id="f2" sourceRef="Sub" targetRef="Task_Check"/>
<bpmn:sequenceFlow id="f3" sourceRef="Task_Check" targetRef="Task_Later"/>
<bpmn:sequenceFlow id="f4" sourceRef="Task_Later" targetRef="again"/>
<bpmn:sequenceFlow id="f5" sourceRef="again" targetRef="end"/>
<bpmn:sequenceFlow id="f6" sourceRef="again" targetRef="Sub"><bpmn:conditionExpression>${{false}}</bpmn:conditionExpression></bpmn:sequenceFlow>
</bpmn:process>
</bpmn:definitions>
'''.encode()
    report = services.deploy_files(empty_db, [("sub.bpmn", content)], OP)
    assert [p.process_id for p in report.processes] == ["p"]


# --- the roads: web, CLI, REST ----------------------------------------------------------------------

def test_the_web_shows_the_refusal_in_chinese_and_another_member_passes(desk: Database, tmp_path: Path) -> None:
    from test_webui_app import post, text, token_of
    from webui import create_app

    app = create_app({"DATABASE_URL": desk.url, "VAR_DIR": tmp_path, "TESTING": True})

    def signed_in(name: str):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        assert client.post("/login", data={"username": name, "password": PASSWORD,
                                           "csrf_token": token_of(page)}).status_code == 302
        return client

    case, accept = handled_by(desk, "dual")
    dual = signed_in("dual")
    page = text(dual.get(f"/tasks/{accept}"))
    assert "四眼原则" in page  # said before trying: no claim button for the doer
    for action, word in (("claim", "认领"), ("complete", "完成")):
        refused = post(dual, f"/tasks/{accept}/{action}", {"accepted": "true"}, via=f"/tasks/{accept}")
        assert refused.status_code == 403 and REFUSED.format(word) in text(refused)
    case_page = text(signed_in("fd").get(f"/cases/{case}"))
    assert "四眼原则：拒绝" in case_page and "复核「处理投诉」（经办：dual 完成）" in case_page
    fd = signed_in("fd")
    assert post(fd, f"/tasks/{accept}/claim", via=f"/tasks/{accept}").status_code == 302
    delegated = post(fd, f"/tasks/{accept}/delegate", {"to_user": "dual"}, via=f"/tasks/{accept}")
    assert delegated.status_code == 403 and "dual 完成了本案件的「处理投诉」，不能被委派复核任务" in text(delegated)
    assert post(fd, f"/tasks/{accept}/complete", {"accepted": "true"}, via=f"/tasks/{accept}").status_code == 302
    assert open_task(desk, case, "Task_Visit").state == "open"


def test_the_cli_refuses_the_doer_with_exit_2(desk: Database, tmp_path: Path) -> None:
    case, accept = handled_by(desk, "dual")
    env = {"BPMDESK_DATABASE_URL": desk.url, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}

    def bpmdesk(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", *args], cwd=tmp_path,
                              capture_output=True, text=True, env=env, timeout=60)

    for command, word in ((["claim", accept, "--as", "dual"], "认领"),
                          (["complete", accept, "--as", "dual", "--data", '{"accepted": true}'], "完成"),
                          (["delegate", accept, "--to", "dual", "--as", "fd"], None)):
        refused = bpmdesk(*command)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert refused.stderr.startswith("error: 四眼原则：") and (word is None or REFUSED.format(word) in refused.stderr)
    history = bpmdesk("history", str(case))
    assert history.returncode == 0 and history.stdout.count("four_eyes_refused") == 3
    assert bpmdesk("complete", accept, "--as", "fd", "--data", '{"accepted": true}').returncode == 0
    assert "checks 处理投诉 [Task_Handle] done by dual (completed)" in bpmdesk("history", str(case)).stdout


def test_the_camunda_rest_api_refuses_the_doer(desk: Database, tmp_path: Path) -> None:
    from webui import create_app

    app = create_app({"DATABASE_URL": desk.url, "VAR_DIR": tmp_path, "SECRET_KEY": "t", "TESTING": True})
    client = app.test_client()

    def basic(name: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}

    case, accept = handled_by(desk, "dual")
    claimed = client.post(f"/engine-rest/task/{accept}/claim", headers=basic("dual"), json={"userId": "dual"})
    assert claimed.status_code == 403 and claimed.json["message"] == REFUSED.format("认领")
    done = client.post(f"/engine-rest/task/{accept}/complete", headers=basic("dual"), json={})
    assert done.status_code == 403 and done.json["message"] == REFUSED.format("完成")
    given = client.post(f"/engine-rest/task/{accept}/assignee", headers=basic("boss"), json={"userId": "dual"})
    assert given.status_code == 403 and "不能被分派复核任务" in given.json["message"]
    assert client.post(f"/engine-rest/task/{accept}/assignee", headers=basic("boss"),
                       json={"userId": "fd"}).status_code == 204
    handed = client.post(f"/engine-rest/task/{accept}/delegate", headers=basic("fd"), json={"userId": "dual"})
    assert handed.status_code == 403 and "不能被委派复核任务" in handed.json["message"]
    assert client.post(f"/engine-rest/task/{accept}/complete", headers=basic("fd"),
                       json={"variables": {"accepted": {"value": True, "type": "Boolean"}}}).status_code == 204
    assert [r["action"] for r in refusals(desk, case)] == ["claim", "complete", "assign", "delegate"]


# --- the audit --------------------------------------------------------------------------------------

def checked_case(db: Database) -> int:
    """A complaint handled by ``clean``, accepted by ``fd``, visited by ``dual``: three pairs."""
    case, accept = handled_by(db, "clean")
    services.complete(db, accept, as_(db, "fd"), {"accepted": True})
    services.complete(db, open_task(db, case, "Task_Visit").id, as_(db, "dual"))
    return case


@pytest.mark.postgres
def test_audit_four_eyes_lists_every_pair_and_names_one_planted_by_raw_sql(desk: Database, tmp_path: Path) -> None:
    from click.testing import CliRunner
    from sqlalchemy import text as sql

    from engine.cli import main

    case = checked_case(desk)
    other = checked_case(desk)
    run = lambda *args: CliRunner().invoke(main, list(args), env={"BPMDESK_DATABASE_URL": desk.url})
    clean = run("audit", "four-eyes", "--process", "complaint_checked")
    assert clean.exit_code == 0, clean.output
    rows = [line.split() for line in clean.output.splitlines()[1:-1]]
    assert [(r[0], r[2], r[3], r[7]) for r in rows if r[0] == str(case)] == [
        (str(case), "[Task_Handle]", "clean", "fd"), (str(case), "[Task_Handle]", "clean", "dual"),
        (str(case), "[Task_Accept]", "fd", "dual")]
    assert clean.output.splitlines()[-1] == "6 pair(s), 0 violation(s)"
    assert run("audit", "four-eyes", "--process", "complaint_all_checks").output.strip() == \
        "CASE  CHECKED TASK  DOER  PART  CHECKING TASK  CHECKER  TIME\n0 pair(s), 0 violation(s)"

    with desk.unit_of_work() as session:  # the acceptance "done by" the handler, behind the engine's back
        session.execute(sql("UPDATE event SET actor = 'clean' WHERE chain = :chain AND type = 'task_completed' "
                            "AND element_id = 'Task_Accept'"), {"chain": f"i:{other}"})
    planted = run("audit", "four-eyes")
    assert planted.exit_code == 1
    [violation] = [line for line in planted.output.splitlines() if line.startswith("VIOLATION:")]
    assert violation.startswith(f"VIOLATION: case {other} (complaint_checked): clean checked Task_Handle "
                                "(Task_Accept, event #")
    assert planted.output.splitlines()[-1] == "6 pair(s), 1 violation(s)"
    seq = re.search(r"event #(\d+)", violation).group(1)
    verify = run("audit", "verify")  # the same event, flagged as edited
    assert verify.exit_code == 1
    assert re.search(rf"i:{other} #{seq} \(event id \d+, case {other}\): content does not match its hash \(edited\)",
                     verify.output), verify.output


def test_the_export_shows_doer_and_checker_of_each_checked_step(desk: Database) -> None:
    import csv
    import io

    case = checked_case(desk)
    out = io.BytesIO()
    services.export_log(desk, "csv", out, OP, process_id="complaint_checked")
    rows = [r for r in csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig")))
            if r["bpmdesk:event"] == "task_completed" and r["case:concept:name"] == str(case)]
    assert [(r["bpmn:element"], r["org:resource"], r["bpmdesk:checked"], r["bpmdesk:doers"]) for r in rows] == [
        ("Task_Handle", "clean", "", ""), ("Task_Accept", "fd", "Task_Handle", "clean"),
        ("Task_Visit", "dual", "Task_Handle;Task_Accept", "clean;fd")]
    xes = io.BytesIO()
    services.export_log(desk, "xes", xes, OP, process_id="complaint_checked")
    assert b'<string key="bpmdesk:checked" value="Task_Handle;Task_Accept"/>' in xes.getvalue()
    assert b'<string key="bpmdesk:doers" value="clean;fd"/>' in xes.getvalue()
