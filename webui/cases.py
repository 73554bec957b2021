"""Cases: the case page (status, data, tasks, timeline, diagram) and starting a new case."""
from __future__ import annotations

from typing import Any

from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import login_required
from markupsafe import Markup

from engine import diagram, forms, services
from engine.errors import BpmdeskError, Forbidden, InvalidInput
from engine.services import InstanceView, access
from engine.services.notes import size_words
from webui.formatting import due_change_text, person_name
from webui.team import back_or
from webui.tasks import next_step_url, submitted_values
from webui.views import actor, db

bp = Blueprint("cases", __name__)

EVENT_LABELS = {
    "instance_started": "发起案件", "instance_completed": "案件办结", "instance_cancelled": "案件撤销",
    "task_ready": "任务到达", "task_claimed": "认领任务", "task_unclaimed": "退回组内",
    "task_delegated": "委派任务", "task_assigned": "主管分派", "task_completed": "完成任务", "task_cancelled": "任务取消",
    "timer_fired": "时限到期", "timer_cancelled": "计时取消", "timer_failed": "定时处理失败",
    "escalated": "超时升级", "incident": "出现异常", "incident_resolved": "异常已处理",
    "external_task_created": "外部任务待处理", "external_task_locked": "外部系统领取",
    "external_task_completed": "外部系统完成", "external_task_failed": "外部系统报错",
    "external_task_incident": "外部任务出现异常（重试用尽）", "external_task_bpmn_error": "外部系统报告业务错误",
    "external_task_incident_resolved": "外部任务异常已处理", "external_task_retries_set": "外部任务重试次数已设定",
    "external_task_lock_extended": "外部任务延长锁定", "external_task_unlocked": "外部任务解除锁定",
    "external_task_cancelled": "外部任务取消",
    "instance_migrated": "迁移到流程新版本",
    "comment_added": "备注", "attachment_added": "上传附件", "task_due_changed": "调整时限",
    "four_eyes_refused": "四眼原则：拒绝",
}
PARTS = {"completed": "完成", "assignee": "承办"}


def checked_text(payload: dict[str, Any]) -> str:
    """A check's doers as a reader wants them: 复核「处理投诉」（经办：周敏 完成）."""
    return "；".join(f"复核「{c.get('name') or c.get('element_id')}」（经办：{person_name(c.get('person', ''))} "
                    f"{PARTS.get(c.get('part'), '')}）" for c in payload.get("checked") or [])


def diagram_of(view: InstanceView) -> Markup | str:
    """The case's diagram as inline SVG (built and escaped by engine.diagram), or why there is none."""
    escalated = {t.element_id for t in view.all_tasks if t.escalated}
    try:
        return Markup(diagram.render_svg(view.bpmn, view.process_id, completed=view.completed_elements,
                                         active=view.active_elements, escalated=escalated))
    except BpmdeskError as error:
        return str(error)


def event_text(event: Any) -> str:
    """What happened, in a few words: the task name and the detail a reader looks for."""
    payload = event.payload or {}
    parts = [payload.get("name") or ""]
    if event.type in ("task_delegated", "task_assigned"):
        parts.append(f"→ {person_name(payload.get('to', ''))}")
    if event.type == "escalated" and payload.get("escalated_to"):
        parts.append("→ " + "、".join(payload["escalated_to"]))
    if event.type == "instance_cancelled":
        parts.append(f"原因：{payload.get('reason', '')}")
    if event.type == "comment_added":
        parts.append(f"：{payload.get('text', '')}" if parts[0] else payload.get("text", ""))
    if event.type == "attachment_added":
        parts.append(f"{payload.get('file_name', '')}（{size_words(payload.get('size') or 0)}）")
    if event.type == "task_due_changed":
        parts.append(due_change_text(payload))
    if event.type in ("task_completed", "four_eyes_refused") and payload.get("checked"):
        parts.append(checked_text(payload))
    if event.type == "four_eyes_refused":
        parts.append(f"（{person_name(payload.get('person', ''))} 不能经手此复核）")
    if event.type == "timer_fired" and payload.get("interrupting"):
        parts.append("（中断当前任务）")
    if event.type == "instance_migrated":
        parts.append(f"v{payload.get('from_version')} → v{payload.get('to_version')}")
        parts.extend(payload.get("notes") or [])
    if event.type.startswith("external_task_") and (payload.get("message") or payload.get("code")):
        parts.append("：".join(str(payload[k]) for k in ("code", "message") if payload.get(k)))
    return " ".join(p for p in parts if p)


@bp.get("/cases/<int:instance_id>")
@login_required
def show(instance_id: int):
    view = services.show_instance(db(), instance_id, actor())
    events = services.history(db(), instance_id, actor())
    return render_template("case.html", case=view, events=events, svg=diagram_of(view),
                           event_labels=EVENT_LABELS, event_text=event_text,
                           files=services.attachments(db(), instance_id, actor()),
                           comments=[e for e in events if e.type == "comment_added"],
                           can_note=not access.reads_only(actor()))


@bp.post("/cases/<int:instance_id>/comments")
@login_required
def comment(instance_id: int):
    try:
        services.add_comment(db(), instance_id, actor(), request.form.get("comment", ""),
                             task_id=request.form.get("task_id") or None)
    except InvalidInput as error:
        flash(str(error), "error")
    else:
        flash("备注已添加，并记入处理记录。", "ok")
    return redirect(back_or(url_for("cases.show", instance_id=instance_id)) + "#notes")


@bp.post("/cases/<int:instance_id>/attachments")
@login_required
def attach(instance_id: int):
    """Upload one photo or PDF (the service checks its size and what its bytes are)."""
    upload = request.files.get("file")
    try:
        info = services.add_attachment(db(), instance_id, actor(), (upload.filename or "") if upload else "",
                                       upload.read() if upload else b"", task_id=request.form.get("task_id") or None)
    except InvalidInput as error:
        flash(str(error), "error")
    else:
        flash(f"附件「{info.file_name}」已上传。", "ok")
    return redirect(back_or(url_for("cases.show", instance_id=instance_id)) + "#notes")


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    """An attachment's bytes, as the type read from them: a photo shown, a PDF only downloaded;
    sandboxed, so nothing in a file can run as this site."""
    info, content = services.attachment_file(db(), attachment_id, actor())
    disposition = "inline" if info.is_image else "attachment"
    response = Response(content, mimetype=info.content_type)
    response.headers["Content-Disposition"] = (f"{disposition}; filename=\"attachment-{info.id}.{info.extension}\"; "
                                               f"filename*=UTF-8''{quote(info.file_name)}")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/cases/<int:instance_id>/cancel")
@login_required
def cancel(instance_id: int):
    try:
        services.cancel_instance(db(), instance_id, actor(), request.form.get("reason", ""))
    except InvalidInput as error:
        flash(str(error), "error")
    else:
        flash(f"案件 {instance_id} 已撤销。", "ok")
    return redirect(url_for("cases.show", instance_id=instance_id))


@bp.get("/start")
@login_required
def start_list():
    return render_template("start_list.html", definitions=services.startable(db(), actor()))


def _startable(process_id: str):
    for definition in services.startable(db(), actor()):
        if definition.process_id == process_id:
            return definition
    raise Forbidden(f"您不能发起流程 {process_id}（未部署，或您所在的组无权发起）。")


#: The start page's business key input: a name no form field can have (field ids are variable names).
BUSINESS_KEY_FIELD = "bpmdesk:business_key"


@bp.route("/start/<process_id>", methods=["GET", "POST"])
@login_required
def start(process_id: str):
    definition = _startable(process_id)
    fields = services.start_form(db(), process_id)
    asks_key = services.uses_business_key(db(), process_id)
    values: dict[str, Any] = forms.defaults(fields, user=actor().name)
    errors: dict[str, str] = {}
    if request.method == "POST":
        submitted = submitted_values(request.form)
        business_key = submitted.pop(BUSINESS_KEY_FIELD, None) if asks_key else None
        try:
            instance_id = services.start_instance(db(), process_id, actor(), submitted, business_key)
        except InvalidInput as error:
            values = {**values, **submitted, BUSINESS_KEY_FIELD: business_key or ""}
            errors = error.field_errors or {"": str(error)}
        else:
            flash(f"已发起「{definition.name or process_id}」，案件编号 {instance_id}。", "ok")
            return redirect(next_step_url(instance_id))
    return render_template("start_form.html", definition=definition, fields=fields, values=values,
                           errors=errors, asks_key=asks_key, key_field=BUSINESS_KEY_FIELD), 400 if errors else 200
