"""The business key where Camunda 7 lets a diagram read it: `${execution.processBusinessKey}` in
expressions, `execution.getProcessBusinessKey()` in scripts, `${task.assignee}` in task listeners;
and the start page asks for one where the process uses it."""
from __future__ import annotations

import json

from engine import services
from engine.compat import SourceFile
from engine.demo import ensure_demo_users
from webui import create_app

from camunda_cases import cli, definitions, user_task
from test_webui_app import client_for, post, text

KEYED = definitions('''<bpmn:process id="keyed" isExecutable="true">
<bpmn:startEvent id="start"/>
<bpmn:scriptTask id="read" scriptFormat="python"><bpmn:script>key = execution.getProcessBusinessKey()</bpmn:script></bpmn:scriptTask>
<bpmn:exclusiveGateway id="which" default="plain"/>
''' + user_task("vip", "贵宾受理", attributes='camunda:assignee="frontdesk"') + user_task("normal", "普通受理") + '''
<bpmn:endEvent id="end"/>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="read"/>
<bpmn:sequenceFlow id="f2" sourceRef="read" targetRef="which"/>
<bpmn:sequenceFlow id="to_vip" sourceRef="which" targetRef="vip">
  <bpmn:conditionExpression>${execution.processBusinessKey.startsWith("VIP")}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="plain" sourceRef="which" targetRef="normal"/>
<bpmn:sequenceFlow id="f3" sourceRef="vip" targetRef="end"/>
<bpmn:sequenceFlow id="f4" sourceRef="normal" targetRef="end"/>
</bpmn:process>''')
PLAIN = definitions('''<bpmn:process id="plain_one" isExecutable="true"><bpmn:startEvent id="s"/>
<bpmn:endEvent id="e"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e"/></bpmn:process>''')


def deploy(db, pid: str, content: bytes):
    return services.deploy_files(db, [SourceFile(f"{pid}.bpmn", content)], services.Actor.operator("test"))


def test_expressions_and_scripts_read_the_business_key(empty_db):
    deploy(empty_db, "keyed", KEYED)
    vip = services.start_instance(empty_db, "keyed", services.Actor.operator(), business_key="VIP-7")
    view = services.show_instance(empty_db, vip, services.Actor.operator())
    assert view.data["key"] == "VIP-7" and [t.name for t in view.open_tasks] == ["贵宾受理"]
    other = services.start_instance(empty_db, "keyed", services.Actor.operator(), business_key="A-1")
    assert [t.name for t in services.show_instance(empty_db, other, services.Actor.operator()).open_tasks] == ["普通受理"]
    replayed = services.replay(empty_db, vip, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None


def test_the_business_key_from_the_command_line(tmp_path):
    (tmp_path / "keyed.bpmn").write_bytes(KEYED)
    bpmdesk = cli(tmp_path)
    assert bpmdesk("deploy", "keyed.bpmn").returncode == 0
    instance = bpmdesk("start", "keyed", "--business-key", "VIP-9").stdout.strip()
    shown = json.loads(bpmdesk("show", instance, "--json").stdout)
    assert shown["data"]["key"] == "VIP-9" and [t["name"] for t in shown["open_tasks"]] == ["贵宾受理"]


def test_the_start_page_asks_for_a_business_key_only_where_the_process_uses_one(empty_db, tmp_path):
    ensure_demo_users(empty_db)
    deploy(empty_db, "keyed", KEYED)
    deploy(empty_db, "plain_one", PLAIN)
    app = create_app({"DATABASE_URL": empty_db.url, "VAR_DIR": tmp_path / "var", "TESTING": True})
    client = client_for(app, "admin")
    assert "业务键" in text(client.get("/start/keyed")) and "业务键" not in text(client.get("/start/plain_one"))
    response = post(client, "/start/keyed", {"bpmdesk:business_key": "VIP-3"}, via="/start/keyed")
    assert response.status_code == 302
    started = max(services.list_tasks(empty_db, services.Actor.operator()).items, key=lambda t: t.instance_id)
    view = services.show_instance(empty_db, started.instance_id, services.Actor.operator())
    assert view.business_key == "VIP-3" and view.data["key"] == "VIP-3"
    too_long = post(client, "/start/keyed", {"bpmdesk:business_key": "K" * 300}, via="/start/keyed")
    assert too_long.status_code == 400 and "业务键必须是不超过" in text(too_long)
