"""Comments and attachments on a case and its tasks, and a supervisor's new due time for a task:
what staff see, who may see the files, what is refused, and that the history stays verifiable."""
from __future__ import annotations

import io
import re
from typing import Iterator

import pytest
from flask import Flask

from engine import clock, services
from engine.services import TaskFilter
from engine.store import Database
from test_webui_app import client_for, post, text
from test_webui_team import LATE, OPERATOR, T0, late_pickup
from webui import create_app
from webui_site import prepared_database

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, Database]]:
    db = prepared_database(f"sqlite:///{tmp_path_factory.mktemp('notes') / 'bpmdesk.db'}",
                           {"frontdesk", "engineer", "supervisor", "cleaner", "auditor"})
    app = create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path_factory.mktemp("var"), "TESTING": True})
    yield app, db
    db.dispose()


def upload(client, case: int, name: str, content: bytes, task: str | None = None, via: str = "/"):
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(via).get_data(as_text=True)).group(1)
    data = {"csrf_token": token, "file": (io.BytesIO(content), name), **({"task_id": task} if task else {}),
            "back": via}
    return client.post(f"/cases/{case}/attachments", data=data, content_type="multipart/form-data")


def test_a_comment_and_a_photo_on_a_task_are_on_the_case_page_and_only_for_those_who_see_the_case(
        site: tuple[Flask, Database]) -> None:
    app, db = site
    case, pickup = late_pickup(db)
    engineer = client_for(app, "engineer")
    with clock.frozen(LATE):
        said = post(engineer, f"/cases/{case}/comments",
                    {"comment": "电梯井有积水，已拍照", "task_id": pickup, "back": f"/tasks/{pickup}"}, via=f"/tasks/{pickup}")
        assert said.status_code == 302 and said.headers["Location"].startswith(f"/tasks/{pickup}")
        sent = upload(engineer, case, "C:\\手机\\积水<1>.png", PNG, pickup, via=f"/tasks/{pickup}")
        assert sent.status_code == 302
        task_page = text(engineer.get(f"/tasks/{pickup}"))
        page = text(engineer.get(f"/cases/{case}"))
    assert "电梯井有积水，已拍照" in task_page and "积水<1>.png" in task_page
    href = re.search(r'<a href="(/attachments/\d+)" class="file-name"', page).group(1)
    assert f'<img src="{href}"' in page and "PNG 图片" in page and "电梯井有积水，已拍照" in page
    assert "备注" in page and "上传附件" in page  # both in the timeline
    shown = engineer.get(href)
    assert shown.status_code == 200 and shown.data == PNG and shown.mimetype == "image/png"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in shown.headers["Content-Security-Policy"] and shown.headers["X-Content-Type-Options"] == "nosniff"
    assert client_for(app, "cleaner").get(href).status_code == 403  # another group's user
    assert client_for(app, "cleaner").get(f"/cases/{case}").status_code == 403
    assert client_for(app, "frontdesk").get(href).status_code == 200  # who started the case
    auditor = client_for(app, "auditor")
    assert auditor.get(href).status_code == 200
    assert 'id="comment-form"' not in text(auditor.get(f"/cases/{case}"))
    assert post(auditor, f"/cases/{case}/comments", {"comment": "审计意见"}).status_code == 403
    assert services.verify_history(db, OPERATOR).ok


def test_only_photos_and_pdf_within_the_limit_are_taken_and_a_pdf_is_only_downloaded(
        site: tuple[Flask, Database], monkeypatch: pytest.MonkeyPatch) -> None:
    app, db = site
    case, pickup = late_pickup(db)
    engineer = client_for(app, "engineer")
    before = len(services.attachments(db, case, OPERATOR))
    with clock.frozen(LATE):
        kinds = "只能上传照片（JPEG、PNG、GIF、WebP）或 PDF 文件。"
        for name, content, message in (("photo.jpg", b"<html><script>alert(1)</script></html>", kinds),
                                       ("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", kinds),
                                       ("empty.png", b"", "请选择要上传的文件。")):
            refused = upload(engineer, case, name, content)
            assert refused.status_code == 302 and message in text(engineer.get(refused.headers["Location"]))
        monkeypatch.setenv("BPMDESK_MAX_ATTACHMENT_BYTES", "100")
        refused = upload(engineer, case, "big.pdf", PDF + bytes(200))
        assert "每个附件不能超过 1 千字节" in text(engineer.get(refused.headers["Location"]))
        monkeypatch.delenv("BPMDESK_MAX_ATTACHMENT_BYTES")
        assert len(services.attachments(db, case, OPERATOR)) == before
        upload(engineer, case, "收据.pdf", PDF)
    receipt = services.attachments(db, case, OPERATOR)[-1]
    assert (receipt.file_name, receipt.content_type, receipt.kind) == ("收据.pdf", "application/pdf", "PDF 文件")
    served = engineer.get(f"/attachments/{receipt.id}")
    assert served.headers["Content-Disposition"].startswith("attachment;") and served.data == PDF


def test_attachments_are_kept_in_a_configured_folder_by_hash_and_exported_as_references(
        site: tuple[Flask, Database], monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    app, db = site
    case, pickup = late_pickup(db)
    monkeypatch.setenv("BPMDESK_ATTACHMENT_DIR", str(tmp_path))
    with clock.frozen(LATE):
        info = services.add_attachment(db, case, services.actor_for(db, "engineer"), "../../etc/passwd.png", PNG, pickup)
    assert info.file_name == "passwd.png"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [info.sha256]
    assert services.attachment_file(db, info.id, services.actor_for(db, "frontdesk"))[1] == PNG
    out = io.BytesIO()
    services.export_log(db, "csv", out, OPERATOR)
    exported = out.getvalue().decode("utf-8-sig")
    assert f"attachment:{info.id} sha256:{info.sha256} passwd.png" in exported and "添加附件" in exported


def test_a_supervisor_moves_a_due_time_with_a_reason_and_the_escalation_follows(site: tuple[Flask, Database]) -> None:
    app, db = site
    with clock.frozen(T0):
        case = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), {
            "customer_name": "王女士", "phone": "13900001111", "room": "1-1-101", "channel": "phone",
            "occurred_at": "今天", "place": "大堂", "description": "漏水", "read_back_confirmed": "true"})
        for element, data in (("Task_ClassifyComplaint", {"complaint_kind": "soft"}),
                              ("Task_DispatchToDepartment", {"responsible_dept": "engineering"})):
            task = next(t for t in services.list_tasks(db, OPERATOR, TaskFilter(instance_id=case)).items
                        if t.element_id == element)
            services.complete(db, task.id, services.actor_for(db, "frontdesk"), data)
    pickup = next(t for t in services.list_tasks(db, OPERATOR, TaskFilter(instance_id=case)).items
                  if t.element_id == "Task_PickUpTicket")
    supervisor, engineer = client_for(app, "supervisor"), client_for(app, "engineer")
    with clock.frozen("2025-03-03T09:05:00+08:00"):
        assert post(engineer, f"/team/due/{pickup.id}", {"due_at": "2025-03-03T11:00", "reason": "等配件"},
                    via=f"/tasks/{pickup.id}").status_code == 403
        post(supervisor, f"/team/due/{pickup.id}", {"due_at": "2025-03-03T11:00", "reason": " "}, via=f"/tasks/{pickup.id}")
        assert "请填写调整原因" in text(supervisor.get(f"/tasks/{pickup.id}"))
        post(supervisor, f"/team/due/{pickup.id}", {"due_at": "明天", "reason": "等配件"}, via=f"/tasks/{pickup.id}")
        assert "不是有效的日期时间" in text(supervisor.get(f"/tasks/{pickup.id}"))
        moved = post(supervisor, f"/team/due/{pickup.id}", {"due_at": "2025-03-03T11:00", "reason": "业主 10 点后才在家",
                                                            "back": f"/tasks/{pickup.id}"}, via=f"/tasks/{pickup.id}")
        assert moved.status_code == 302
    with clock.frozen("2025-03-03T09:20:00+08:00"):
        services.fire_due_timers(db)
        row = next(t for t in services.list_tasks(db, OPERATOR, TaskFilter(instance_id=case)).items if t.id == pickup.id)
        assert not row.escalated and row.due_at == clock.parse_time("2025-03-03T11:00:00+08:00")
        page = text(supervisor.get(f"/cases/{case}"))
        assert "调整时限" in page and "到期时间 2025-03-03 09:15 → 2025-03-03 11:00；原因：业主 10 点后才在家" in page
    with clock.frozen("2025-03-03T11:01:00+08:00"):
        services.fire_due_timers(db)
        row = next(t for t in services.list_tasks(db, OPERATOR, TaskFilter(instance_id=case)).items if t.id == pickup.id)
        assert row.escalated
    replayed = services.replay(db, case, OPERATOR)
    assert replayed.compared and replayed.agrees, replayed.divergence
    assert services.verify_history(db, OPERATOR).ok
