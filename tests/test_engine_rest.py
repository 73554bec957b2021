"""/engine-rest as Camunda's tools use it: Modeler's deploy and start requests, authentication
(Basic, tokens, sessions with CSRF), who may do what, Camunda's JSON shapes and error bodies."""
from __future__ import annotations

import base64
import json
import io
import re
from pathlib import Path

import pytest

from engine import services
from engine.services import Actor
from engine.services import tokens
from engine.compat import SourceFile
from engine.services.deploy import check_files, version_files
from webui import create_app

from camunda_cases import cli

OP = Actor.operator()
ROOT = Path(__file__).resolve().parents[1]
PAYMENT = ROOT / "tests" / "data" / "engine_rest" / "payment.bpmn"
BOUNDARY = "----WebKitFormBoundaryq2Rv7Yb0lOa6dT3e"


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.fixture
def app(empty_db, tmp_path: Path):
    app = create_app({"DATABASE_URL": empty_db.url, "VAR_DIR": tmp_path, "SECRET_KEY": "test", "TESTING": True})
    db = app.extensions["bpmdesk.db"]
    services.add_user(db, "ana", ["analyst"], password="ana-pw", actor=OP)
    services.add_user(db, "clerk", ["front-desk"], password="clerk-pw", actor=OP)
    yield app
    db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def db_of(app):
    return app.extensions["bpmdesk.db"]


ANA = basic("ana", "ana-pw")
CLERK = basic("clerk", "clerk-pw")


def modeler_body(name: str, content: bytes, deployment: str = "payment", *more: tuple[str, bytes]) -> bytes:
    """Camunda Modeler 5's deploy request body as its FormData sends it (CamundaAPI.deployDiagram):
    deployment-name, deployment-source, enable-duplicate-filtering, then the diagram as text/xml
    (and `more` files, as Modeler adds the files linked to the diagram)."""
    def field(part: str, value: str) -> bytes:
        return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{part}\"\r\n\r\n{value}\r\n").encode()

    def resource(file: str, body: bytes) -> bytes:
        kind = "application/json" if file.endswith(".form") else "text/xml"
        return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{file}\"; filename=\"{file}\"\r\n"
                f"Content-Type: {kind}\r\n\r\n").encode() + body + b"\r\n"
    return (field("deployment-name", deployment) + field("deployment-source", "Camunda Modeler")
            + field("enable-duplicate-filtering", "true")
            + b"".join(resource(file, body) for file, body in [(name, content), *more])
            + f"--{BOUNDARY}--\r\n".encode())


def modeler_deploy(client, name: str, content: bytes, headers=ANA, *more: tuple[str, bytes]):
    return client.post("/engine-rest/deployment/create", data=modeler_body(name, content, name.split(".")[0], *more),
                       headers={**headers, "accept": "application/json"},
                       content_type=f"multipart/form-data; boundary={BOUNDARY}")


def test_modeler_connection_check_deploy_and_start_instance(app, client):
    assert client.get("/engine-rest/deployment?maxResults=0", headers=ANA).json == []
    assert client.get("/engine-rest/version", headers=ANA).json == {"version": "7.21.0"}
    deployed = modeler_deploy(client, "payment.bpmn", PAYMENT.read_bytes())
    assert deployed.status_code == 200
    definition = deployed.json["deployedProcessDefinitions"]["refund_payment:1:1"]
    assert (definition["key"], definition["version"], definition["name"]) == ("refund_payment", 1, "退款打款")
    assert deployed.json["name"] == "payment" and deployed.json["source"] == "Camunda Modeler"

    started = client.post(f"/engine-rest/process-definition/{definition['id']}/start", headers=ANA,
                          json={"businessKey": "default", "variables": {"amount": {"value": 12, "type": "Integer"}}})
    assert started.status_code == 200
    assert (started.json["definitionId"], started.json["businessKey"], started.json["ended"]) == (
        "refund_payment:1:1", "default", False)
    case = services.show_instance(db_of(app), int(started.json["id"]), OP)
    assert case.data["amount"] == 12 and case.started_by == "ana"
    history = services.history(db_of(app), case.id, OP)
    assert [(e.type, e.actor) for e in history][:2] == [("instance_started", "ana"), ("external_task_created", "ana")]


def test_the_same_content_as_bpmdesk_deploy_is_unchanged(app, client):
    services.deploy_paths(db_of(app), [PAYMENT], OP)
    again = modeler_deploy(client, "payment.bpmn", PAYMENT.read_bytes())
    assert again.status_code == 200 and again.json["deployedProcessDefinitions"] is None
    assert [(d.process_id, d.version) for d in services.list_definitions(db_of(app))] == [("refund_payment", 1)]
    changed = modeler_deploy(client, "payment.bpmn", PAYMENT.read_text(encoding="utf-8").replace("银行打款", "银行转账").encode())
    assert list(changed.json["deployedProcessDefinitions"]) == ["refund_payment:2:2"]
    assert services.list_definitions(db_of(app))[0].deployed_by == "ana"


def test_a_lint_problem_is_a_400_modeler_shows_with_file_and_line(client):
    broken = PAYMENT.read_bytes().replace(b' camunda:topic="refund-pay"', b"")
    answer = modeler_deploy(client, "payment.bpmn", broken)
    assert answer.status_code == 400 and answer.json["type"] == "ParseException"
    assert answer.json["message"].startswith("ENGINE-09005 Could not parse BPMN process.")
    assert re.search(r"\* payment\.bpmn:\d+: serviceTask \"Task_Pay\" .*without camunda:topic", answer.json["message"])
    assert client.get("/engine-rest/process-definition", headers=ANA).json == []


def test_who_may_deploy_and_how_callers_authenticate(app, client):
    assert modeler_deploy(client, "payment.bpmn", PAYMENT.read_bytes(), CLERK).json["type"] == "AuthorizationException"
    assert modeler_deploy(client, "payment.bpmn", PAYMENT.read_bytes(), CLERK).status_code == 403
    nobody = client.get("/engine-rest/deployment")
    assert nobody.status_code == 401 and nobody.json["type"] == "AuthenticationException"
    assert client.get("/engine-rest/deployment", headers=basic("ana", "wrong")).status_code == 401
    issued = tokens.issue_token(db_of(app), "pipeline", ["analyst"], actor=OP)
    bearer = {"Authorization": f"Bearer {issued.secret}"}
    assert modeler_deploy(client, "payment.bpmn", PAYMENT.read_bytes(), bearer).status_code == 200
    assert services.list_definitions(db_of(app))[0].deployed_by == "pipeline"
    tokens.revoke_token(db_of(app), issued.info.id, actor=OP)
    assert client.get("/engine-rest/deployment", headers=bearer).status_code == 401
    assert services.get_user(db_of(app), "pipeline").groups == ("analyst",)


def test_a_session_needs_csrf_but_basic_and_tokens_do_not(app, client):
    services.deploy_paths(db_of(app), [PAYMENT], OP)
    start = "/engine-rest/process-definition/key/refund_payment/start"
    assert client.post(start, headers=CLERK, json={}).status_code == 200  # no CSRF token needed
    client.post("/api/login", json={"username": "clerk", "password": "clerk-pw"},
                headers={"X-CSRFToken": client.get("/api/csrf").json["csrf_token"]})
    forged = client.post(start, json={})
    assert forged.status_code == 400 and forged.json["type"] == "RestException"
    token = client.get("/api/csrf").json["csrf_token"]
    assert client.post(start, json={}, headers={"X-CSRFToken": token}).status_code == 200
    assert len(services.list_tasks(db_of(app), OP).items) == 0  # external tasks are no inbox tasks


def test_tasks_as_the_web_inbox_shows_them(app, client):
    db = db_of(app)
    services.deploy_paths(db, [PAYMENT], OP)
    services.add_user(db, "w", ["worker"], password="w-pw", actor=OP)
    case = services.start_instance(db, "refund_payment", Actor("clerk", {"front-desk"}), {"amount": 1})
    [locked] = services.external.fetch_and_lock(db, Actor("w", {"worker"}), "w1", [services.external.TopicRequest("refund-pay", 60000)], 1)
    services.external.complete(db, Actor("w", {"worker"}), locked.id, "w1", {})
    listed = client.get(f"/engine-rest/task?processInstanceId={case}&candidateGroup=front-desk", headers=CLERK).json
    assert [(t["taskDefinitionKey"], t["name"], t["assignee"]) for t in listed] == [("Task_Confirm", "确认到账", None)]
    assert client.get("/engine-rest/task", headers=ANA).json == []  # not the analyst's group
    task_id = listed[0]["id"]
    assert client.post(f"/engine-rest/task/{task_id}/claim", headers=ANA, json={"userId": "ana"}).status_code == 403
    assert client.post(f"/engine-rest/task/{task_id}/claim", headers=CLERK, json={"userId": "clerk"}).status_code == 204
    assert client.get("/engine-rest/task?assignee=clerk", headers=CLERK).json[0]["assignee"] == "clerk"
    assert client.post(f"/engine-rest/task/{task_id}/unclaim", headers=CLERK).status_code == 204
    stray = client.post(f"/engine-rest/task/{task_id}/complete", headers=CLERK,
                        json={"variables": {"note": {"value": "到账", "type": "String"}}})
    assert stray.status_code == 400 and "note" in stray.json["message"]  # not a field of the form: as on the web
    done = client.post(f"/engine-rest/task/{task_id}/complete", headers=CLERK, json={"withVariablesInReturn": True})
    assert done.status_code == 200 and done.json["amount"] == {"type": "Integer", "value": 1, "valueInfo": {}}
    assert services.show_instance(db, case, OP).status == "completed"
    again = client.post(f"/engine-rest/task/{task_id}/complete", headers=CLERK, json={})
    assert again.status_code == 409 and again.json["type"] == "OptimisticLockingException"


def test_typed_variables_are_checked(app, client):
    services.deploy_paths(db_of(app), [PAYMENT], OP)
    start = "/engine-rest/process-definition/key/refund_payment/start"
    wrong = client.post(start, headers=CLERK, json={"variables": {"amount": {"value": "twelve", "type": "Integer"}}})
    assert wrong.status_code == 400 and wrong.json["type"] == "InvalidRequestException"
    assert "amount" in wrong.json["message"]
    typed = {"a": {"value": "3", "type": "Long"}, "b": {"value": True, "type": "Boolean"},
             "c": {"value": '{"x": [1]}', "type": "Json"}, "d": {"value": None, "type": "Null"},
             "e": {"value": 1.5, "type": "Double"}, "f": {"value": "2026-12-01T09:00:00.000+0800", "type": "Date"}}
    started = client.post(start, headers=CLERK, json={"variables": typed})
    data = services.show_instance(db_of(app), int(started.json["id"]), OP).data
    assert {k: data[k] for k in typed} == {"a": 3, "b": True, "c": {"x": [1]}, "d": None, "e": 1.5,
                                           "f": "2026-12-01T09:00:00.000+0800"}
    assert client.post(start, headers=CLERK, json={"variables": {"x": {"value": "AA==", "type": "Bytes"}}}).status_code == 400
    assert client.post(start, headers=CLERK, data="not json", content_type="application/json").status_code == 400


def test_definitions_xml_errors_and_openapi(app, client):
    services.deploy_paths(db_of(app), [PAYMENT], OP)
    assert client.get("/engine-rest/process-definition/key/refund_payment", headers=CLERK).json["id"] == "refund_payment:1:1"
    xml = client.get("/engine-rest/process-definition/key/refund_payment/xml", headers=CLERK).json
    assert xml["bpmn20Xml"] == PAYMENT.read_text(encoding="utf-8")
    missing = client.get("/engine-rest/process-definition/key/nothing", headers=CLERK)
    assert missing.status_code == 404 and missing.json["type"] == "InvalidRequestException"
    assert client.get("/engine-rest/no/such/thing", headers=CLERK).json["type"] == "InvalidRequestException"
    assert client.delete("/engine-rest/deployment", headers=CLERK).status_code == 405
    spec = client.get("/engine-rest/openapi.json", headers=CLERK).json
    assert {"/deployment/create", "/external-task/fetchAndLock", "/external-task/{task_id}/bpmnError",
            "/process-definition/{definition}/start", "/task/{task_id}/complete"} <= set(spec["paths"])
    assert "post" in spec["paths"]["/external-task/fetchAndLock"]
    assert client.post("/engine-rest/deployment/create", headers=ANA, content_type="multipart/form-data",
                       data={"tenant-id": "t1", "payment.bpmn": (io.BytesIO(PAYMENT.read_bytes()), "payment.bpmn")}
                       ).status_code == 400


def test_a_deployed_decision_evaluates_with_typed_variables(app, client):
    services.deploy_paths(db_of(app), [ROOT / "processes" / "order_cancellation_return.bpmn",
                                       ROOT / "processes" / "return_policy.dmn",
                                       ROOT / "processes" / "product_repair.bpmn", ROOT / "processes" / "escalation_policy.dmn"], OP)
    inputs = {"order_kind": {"value": "clearance", "type": "String"}, "delivered": {"value": True, "type": "Boolean"},
              "hours_since_order": {"value": 30, "type": "Integer"}, "days_since_delivery": {"value": 2, "type": "Integer"},
              "packaging_intact": {"value": True}, "quality_defect": {"value": False}, "customer_insists": {"value": False}}
    answer = client.post("/engine-rest/decision-definition/key/return_policy/evaluate", headers=CLERK,
                         json={"variables": inputs})
    assert answer.status_code == 200
    [result] = answer.json
    assert result["decision"] == {"type": "String", "value": "refused", "valueInfo": {}}
    assert "处理品" in result["reason"]["value"]
    missing = client.post("/engine-rest/decision-definition/key/nothing/evaluate", headers=CLERK, json={})
    assert missing.status_code == 404 and missing.json["type"] == "InvalidRequestException"


def test_messages_correlate_by_business_key_and_signals_are_sent(app, client):
    services.deploy_paths(db_of(app), [ROOT / "tests" / "data" / "engine_rest" / "wait_payment.bpmn"], OP)
    start = "/engine-rest/process-definition/key/wait_payment/start"
    first = client.post(start, headers=CLERK, json={"businessKey": "ORDER-1"}).json
    second = client.post(start, headers=CLERK, json={"businessKey": "ORDER-2"}).json
    assert first["businessKey"] == "ORDER-1"
    sent = client.post("/engine-rest/message", headers=CLERK, json={
        "messageName": "payment_received", "businessKey": "ORDER-2", "resultEnabled": True,
        "processVariables": {"amount": {"value": 88, "type": "Integer"}}})
    assert sent.status_code == 200 and sent.json[0]["processInstance"]["id"] == second["id"]
    moved = services.show_instance(db_of(app), int(second["id"]), OP)
    assert [t.element_id for t in moved.open_tasks] == ["Task_Check"] and moved.data["amount"] == 88
    assert services.show_instance(db_of(app), int(first["id"]), OP).open_tasks == []
    nobody = client.post("/engine-rest/message", headers=CLERK, json={"messageName": "payment_received",
                                                                      "businessKey": "ORDER-9"})
    assert nobody.status_code == 400 and nobody.json["type"] == "InvalidRequestException"
    assert client.post("/engine-rest/signal", headers=CLERK, json={"name": "nothing_waits"}).status_code == 204


CAMUNDA_NS = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def fee_dmn(fee: int) -> bytes:
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="fees" name="费用" namespace="x">
<decision id="fee" name="服务费"><decisionTable id="t"><input id="i"><inputExpression id="ie" typeRef="string">
<text>kind</text></inputExpression></input><output id="o" name="fee" typeRef="integer"/>
<rule id="r"><inputEntry id="e"><text>-</text></inputEntry><outputEntry id="oe"><text>{fee}</text></outputEntry></rule>
</decisionTable></decision></definitions>'''.encode()


def charging(label: str = "收费") -> bytes:
    """A process whose business rule task uses decision "fee" and whose call activity calls "receipt"."""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {CAMUNDA_NS} id="d" targetNamespace="x">
<bpmn:process id="charging" name="{label}" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:businessRuleTask id="rate" camunda:decisionRef="fee" camunda:resultVariable="fee"
  camunda:mapDecisionResult="singleEntry"/><bpmn:callActivity id="call" calledElement="receipt"/>
<bpmn:userTask id="pay" name="{label}" camunda:candidateGroups="front-desk"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="rate"/><bpmn:sequenceFlow id="f2" sourceRef="rate" targetRef="call"/>
<bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="pay"/><bpmn:sequenceFlow id="f4" sourceRef="pay" targetRef="e"/>
</bpmn:process></bpmn:definitions>'''.encode()


RECEIPT = f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {CAMUNDA_NS} id="r" targetNamespace="x">
<bpmn:process id="receipt" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process></bpmn:definitions>'''.encode()


def start_charging(client) -> dict:
    started = client.post("/engine-rest/process-definition/key/charging/start", headers=ANA,
                          json={"variables": {"kind": {"value": "上门", "type": "String"}}})
    assert started.status_code == 200, started.json
    return started.json


def test_deployed_decisions_are_listed_and_one_changed_file_deploys_alone(app, client):
    first = modeler_deploy(client, "charging.bpmn", charging(), ANA, ("fees.dmn", fee_dmn(10)), ("receipt.bpmn", RECEIPT))
    assert first.status_code == 200, first.json
    [decision] = first.json["deployedDecisionDefinitions"].values()
    assert (decision["key"], decision["name"], decision["version"], decision["resource"]) == ("fee", "服务费", 1, "fees.dmn")
    assert sorted(d["key"] for d in first.json["deployedProcessDefinitions"].values()) == ["charging", "receipt"]

    changed = modeler_deploy(client, "charging.bpmn", charging("收取服务费"))  # alone: fee and receipt deployed earlier
    assert changed.status_code == 200, changed.json
    assert [d["version"] for d in changed.json["deployedProcessDefinitions"].values()] == [2]
    assert changed.json["deployedDecisionDefinitions"] is None  # the table is the one deployed before
    case = start_charging(client)
    assert services.show_instance(db_of(app), int(case["id"]), OP).data["fee"] == 10

    table = modeler_deploy(client, "fees.dmn", fee_dmn(25))  # a changed table alone, as Modeler deploys it
    assert table.status_code == 200, table.json
    assert [(d["key"], d["version"]) for d in table.json["deployedDecisionDefinitions"].values()] == [("fee", 2)]
    assert [(d["key"], d["version"]) for d in table.json["deployedProcessDefinitions"].values()] == [("charging", 3)]
    assert not any("not deployed" in w for w in table.json["warnings"])
    assert services.show_instance(db_of(app), int(start_charging(client)["id"]), OP).data["fee"] == 25
    assert services.show_instance(db_of(app), int(case["id"]), OP).data["fee"] == 10  # an open case keeps its answer


def test_a_table_no_process_uses_is_not_deployed_and_says_so(client):
    answer = modeler_deploy(client, "fees.dmn", fee_dmn(10))
    assert answer.status_code == 200 and answer.json["deployedDecisionDefinitions"] is None
    assert any(w.startswith("fees.dmn:2: no process of this deployment uses a decision of this file")
               and "it is not deployed" in w for w in answer.json["warnings"])


def test_a_camunda_form_deploys_with_its_diagram_through_engine_rest(app, client):
    form = (ROOT / "tests" / "data" / "all_components.form").read_bytes()
    visit = (f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {CAMUNDA_NS} id="d" targetNamespace="x">
<bpmn:process id="visit" isExecutable="true"><bpmn:startEvent id="s"/>
<bpmn:userTask id="record" camunda:formRef="repair_visit" camunda:candidateGroups="front-desk"/><bpmn:endEvent id="e"/>
<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="record"/><bpmn:sequenceFlow id="f2" sourceRef="record" targetRef="e"/>
</bpmn:process></bpmn:definitions>''').encode()
    deployed = modeler_deploy(client, "visit.bpmn", visit, ANA, ("repair.form", form))
    assert deployed.status_code == 200, deployed.json
    assert not any("repair.form" in w or "formRef" in w for w in deployed.json["warnings"])
    assert [f.name for f in version_files(db_of(app), 1, OP)[1]] == ["visit.bpmn", "repair.form"]
    case = client.post("/engine-rest/process-definition/key/visit/start", headers=ANA, json={}).json
    [task] = client.get(f"/engine-rest/task?processInstanceId={case['id']}", headers=CLERK).json
    fields = client.get(f"/engine-rest/task/{task['id']}/form-variables", headers=CLERK).json
    assert {"customer_name", "phone", "visit_day"} <= set(fields)
    alone = modeler_deploy(client, "visit.bpmn", visit.replace(b'<bpmn:userTask id="record"',
                                                                '<bpmn:userTask id="record" name="记录"'.encode()))
    assert [d["version"] for d in alone.json["deployedProcessDefinitions"].values()] == [2]
    assert any('shows Camunda Form "repair_visit" of repair.form, deployed earlier' in note
               for note in check_files(db_of(app), [SourceFile("visit.bpmn", visit)], OP).translations)
    assert [f.name for f in version_files(db_of(app), 2, OP)[1]] == ["visit.bpmn", "repair.form"]
    relabelled = form.replace("业户姓名".encode(), "住户姓名".encode())
    assert relabelled != form
    changed = modeler_deploy(client, "repair.form", relabelled)  # the changed form alone
    assert [d["version"] for d in changed.json["deployedProcessDefinitions"].values()] == [3]
    assert [f.content for f in version_files(db_of(app), 3, OP)[1]][1] == relabelled


def test_files_deployed_by_the_cli_are_unchanged_when_modeler_deploys_them_again(tmp_path):
    bpmdesk = cli(tmp_path)
    for name, content in (("charging.bpmn", charging()), ("fees.dmn", fee_dmn(10)), ("receipt.bpmn", RECEIPT)):
        (tmp_path / name).write_bytes(content)
    deployed = bpmdesk("deploy", "charging.bpmn", "fees.dmn", "receipt.bpmn")
    assert deployed.returncode == 0 and "deployed decision fee v1 (fees.dmn)" in deployed.stdout
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "VAR_DIR": tmp_path, "SECRET_KEY": "t"})
    services.add_user(db_of(app), "ana", ["analyst"], password="ana-pw", actor=OP)
    client = app.test_client()
    again = modeler_deploy(client, "charging.bpmn", charging(), ANA, ("fees.dmn", fee_dmn(10)), ("receipt.bpmn", RECEIPT))
    assert again.status_code == 200, again.json
    assert again.json["deployedProcessDefinitions"] is None and again.json["deployedDecisionDefinitions"] is None
    alone = modeler_deploy(client, "charging.bpmn", charging())  # one file alone: the same version too
    assert alone.json["deployedProcessDefinitions"] is None
    listed = bpmdesk("definitions", "--json")
    assert sorted((d["process_id"], d["version"]) for d in json.loads(listed.stdout)) == [("charging", 1), ("receipt", 1)]
    db_of(app).dispose()
