"""Camunda Forms: a `.form` file deployed beside its diagram is the form of a `camunda:formRef` user
task: rendered in the inbox, validated on the server, its values landing in the case."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine import compat, services
from engine.compat import load_bundle
from engine.errors import DeployError, InvalidInput
from engine.store import Database

FORM = (Path(__file__).resolve().parent / "data" / "all_components.form").read_bytes()
BPMN = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">
<bpmn:process id="visit" name="上门维修" isExecutable="true">
<bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="record"/>
<bpmn:userTask id="record" name="填写维修记录" camunda:formRef="repair_visit" camunda:candidateGroups="engineering"/>
<bpmn:sequenceFlow id="f2" sourceRef="record" targetRef="e"/><bpmn:endEvent id="e"/>
</bpmn:process></bpmn:definitions>'''.encode()
GOOD = {"customer_name": "张三", "phone": "13800138000", "note": "换了灯管\n已测试", "hours": "2", "fixed": "true",
        "satisfaction": "good", "channel": "visit", "visit_day": "2026-03-02", "next_visit": "2026-03-09 10:00"}


def deploy(db: Database, form: bytes = FORM) -> None:
    services.deploy_files(db, [compat.SourceFile("visit.bpmn", BPMN), compat.SourceFile("repair.form", form)],
                          services.Actor.operator("test"))


def open_task(db: Database, instance_id: int):
    items = services.list_tasks(db, services.Actor.operator(), instance_id=instance_id, scope="open").items
    return items[0]


def test_each_component_becomes_a_field_validated_on_the_server_and_lands_in_the_case(db: Database) -> None:
    deploy(db)
    case = services.start_instance(db, "visit", services.actor_for(db, "frontdesk"), {})
    task = open_task(db, case)
    engineer = services.actor_for(db, "engineer")
    view = services.get_task(db, task.id, engineer)
    assert [f.id for f in view.fields] == ["customer_name", "phone", "note", "hours", "fixed", "satisfaction",
                                           "channel", "visit_day", "next_visit"]
    kinds = {f.id: f.type for f in view.fields}
    assert kinds == {"customer_name": "string", "phone": "string", "note": "string", "hours": "long",
                     "fixed": "boolean", "satisfaction": "enum", "channel": "enum", "visit_day": "date",
                     "next_visit": "datetime"}
    with pytest.raises(InvalidInput) as refused:
        services.complete(db, task.id, engineer, {**GOOD, "customer_name": "张", "phone": "12345", "hours": "9",
                                                  "satisfaction": ""})
    assert set(refused.value.field_errors) == {"customer_name", "phone", "hours", "satisfaction"}
    services.complete(db, task.id, engineer, GOOD)
    data = services.show_instance(db, case, services.Actor.operator()).data
    assert (data["hours"], data["fixed"], data["satisfaction"], data["visit_day"]) == (2, True, "good", "2026-03-02")
    assert data["next_visit"].startswith("2026-03-09T10:00")


def test_a_component_the_inbox_cannot_render_is_a_deploy_error_at_its_line() -> None:
    schema = json.loads(FORM)
    schema["components"].append({"type": "taglist", "id": "F_tags", "key": "tags", "label": "标签",
                                 "values": [{"label": "a", "value": "a"}]})
    content = json.dumps(schema, ensure_ascii=False, indent=2).encode()
    with pytest.raises(DeployError) as refused:
        load_bundle([("visit.bpmn", BPMN), ("repair.form", content)])
    line = next(n for n, text in enumerate(content.decode().splitlines(), 1) if '"F_tags"' in text)
    [problem] = refused.value.problems
    assert problem.startswith(f"repair.form:{line}: ") and "taglist" in problem and problem.rule == "form-unrenderable"


def test_without_its_form_file_a_form_ref_is_a_warning_and_form_data_keeps_working() -> None:
    bundle = load_bundle([("visit.bpmn", BPMN)])
    assert any('camunda:formRef="repair_visit"' in w and "not in this deployment" in w for w in bundle.warnings)
    assert bundle.processes["visit"].forms == []


def test_the_form_file_is_stored_with_the_version_and_offered_for_download(db: Database) -> None:
    deploy(db)
    from engine.services import deploy as deploy_service
    newest = deploy_service.list_versions(db, "visit")[-1]
    files = {f["name"]: f for f in deploy_service.get_version(db, newest.id).files}
    assert files["repair.form"]["role"] == "form" and files["repair.form"]["content"].encode() == FORM
    deploy(db)  # the same files again: unchanged
    assert len(deploy_service.list_versions(db, "visit")) == 1


def test_the_inbox_renders_the_form(db: Database, tmp_path) -> None:
    import re
    from webui import create_app
    deploy(db)
    case = services.start_instance(db, "visit", services.actor_for(db, "frontdesk"), {})
    task = open_task(db, case)
    client = create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path, "TESTING": True}).test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login).group(1)
    client.post("/login", data={"username": "engineer", "password": "demo", "csrf_token": token})
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert '<textarea id="f-note"' in page or re.search(r'<textarea[^>]*name="note"', page)
    for name in ("customer_name", "phone", "hours", "fixed", "satisfaction", "channel", "visit_day", "next_visit"):
        assert f'name="{name}"' in page, name
    assert "请核对上门维修记录。" in page  # the form's text component
