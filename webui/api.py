"""JSON endpoints for integrations: the same actions as the pages, under the same rules.

Authentication is the staff session: ``GET /api/csrf`` gives a CSRF token (and the session cookie),
``POST /api/login`` with ``{"username", "password"}`` signs in and answers with the new session's
token (use it from then on), ``POST /api/logout`` signs out.
Every POST must carry the token in an ``X-CSRFToken`` header; a cross-site page cannot read the
token, so it cannot forge a request even though the browser sends the cookie. Unauthenticated
calls get ``401`` JSON, a user's error gets ``{"error": message, "status": code}`` (plus
``field_errors`` for form problems); times are ISO 8601 in UTC.

    GET  /api/me                              who is signed in
    GET  /api/tasks?scope=&procedure=&due=&q=&page=&per_page=
    GET  /api/tasks/<id>                      task, form fields, values, case data
    POST /api/tasks/<id>/claim | unclaim | handback
    POST /api/tasks/<id>/delegate             {"to_user": name}
    POST /api/tasks/<id>/complete             {"data": {field: value}}
    GET  /api/procedures                      what the user may start, with the start form
    POST /api/cases                           {"process_id": id, "data": {...}, "business_key": k} → {"id": n}
    POST /api/messages                        {"name", "business_key", "correlation": {var: value},
                                               "variables": {...}, "all": false} → {"deliveries": [...]}
    POST /api/signals                         {"name", "variables": {...}} → {"deliveries": [...]}
    GET  /api/cases/<id>                      status, data, tasks and timeline
    POST /api/decisions/<id>/evaluate         {"data": {...}} → inputs, matched rules, results
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from engine import services
from engine.errors import InvalidInput
from webui import auth, guard, inbox
from webui.views import actor, db

bp = Blueprint("api", __name__, url_prefix="/api")
MAX_PER_PAGE = 200


def plain(value: Any) -> Any:
    """Dataclasses, sets and times as JSON values (times in ISO 8601)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not isinstance(getattr(value, f.name), bytes)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def body() -> dict[str, Any]:
    data = guard.json_body()
    if not isinstance(data, dict):
        raise InvalidInput("请求体必须是 JSON 对象。")
    return data


def user_json(user: Any) -> dict[str, Any]:
    return {"name": user.name, "display_name": user.display_name, "groups": list(user.groups)}


@bp.get("/csrf")
def csrf_token():
    return jsonify(csrf_token=generate_csrf())


@bp.post("/login")
def login():
    data = body()
    info = services.authenticate(db(), str(data.get("username", "")).strip(), str(data.get("password", "")))
    if info is None:
        return jsonify(error="用户名或密码不正确。", status=401), 401
    auth.sign_in(info)  # a fresh session for the new identity, hence a fresh CSRF token
    return jsonify({**user_json(info), "csrf_token": generate_csrf()})


@bp.post("/logout")
@login_required
def logout():
    auth.sign_out()
    return jsonify(ok=True)


@bp.get("/me")
@login_required
def me():
    return jsonify(user_json(current_user))


@bp.get("/tasks")
@login_required
def tasks():
    per_page = inbox.page_number(request.args.get("per_page")) if request.args.get("per_page") else 50
    page = services.list_tasks(db(), actor(), inbox.inbox_filter(request.args, min(per_page, MAX_PER_PAGE)))
    return jsonify(plain(page))


@bp.get("/tasks/<task_id>")
@login_required
def task(task_id: str):
    return jsonify(plain(services.get_task(db(), task_id, actor())))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):
    return jsonify(plain(services.claim(db(), task_id, actor())))


@bp.post("/tasks/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    return jsonify(plain(services.unclaim(db(), task_id, actor())))


@bp.post("/tasks/<task_id>/delegate")
@login_required
def delegate(task_id: str):
    to_user = str(body().get("to_user") or "").strip()
    if not to_user:
        raise InvalidInput("缺少 to_user（要委派的同事）。")
    return jsonify(plain(services.delegate(db(), task_id, actor(), to_user)))


@bp.post("/tasks/<task_id>/handback")
@login_required
def hand_back(task_id: str):
    owner = services.get_task(db(), task_id, actor()).task.owner
    if not owner:
        raise InvalidInput("此任务不是委派给您的，无需交还。")
    return jsonify(plain(services.delegate(db(), task_id, actor(), owner)))


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete(task_id: str):
    data = body().get("data", {})
    if not isinstance(data, dict):
        raise InvalidInput("data 必须是 JSON 对象。")
    done = services.complete(db(), task_id, actor(), data)
    return jsonify(instance_id=done.instance_id,
                   next_tasks=[{"id": t.id, "name": t.name, "candidate_groups": list(t.candidate_groups),
                                "assignee": t.assignee} for t in done.next_tasks])


@bp.get("/procedures")
@login_required
def procedures():
    return jsonify([{"process_id": d.process_id, "name": d.name, "version": d.version,
                     "form": plain(services.start_form(db(), d.process_id))}
                    for d in services.startable(db(), actor())])


@bp.post("/cases")
@login_required
def start():
    data = body()
    process_id = str(data.get("process_id") or "")
    values = data.get("data", {})
    if not process_id or not isinstance(values, dict):
        raise InvalidInput("需要 process_id（字符串）和 data（JSON 对象）。")
    key = data.get("business_key")
    return jsonify(id=services.start_instance(db(), process_id, actor(), values, key)), 201


def _field(data: dict[str, Any], name: str, camunda: str) -> Any:
    """A field by its name here, or as Camunda's REST API spells it."""
    return data.get(name, data.get(camunda))


@bp.post("/messages")
@login_required
def correlate():
    data = body()
    done = services.correlate_message(
        db(), actor(), _field(data, "name", "messageName"), _field(data, "business_key", "businessKey"),
        _field(data, "correlation", "correlationKeys"), _field(data, "variables", "processVariables"),
        bool(data.get("all", False)))
    return jsonify(deliveries=plain(done))


@bp.post("/signals")
@login_required
def signal():
    data = body()
    done = services.send_signal(db(), actor(), data.get("name"), data.get("variables"))
    return jsonify(deliveries=plain(done))


@bp.post("/cases/<int:instance_id>/cancel")
@login_required
def cancel(instance_id: int):
    services.cancel_instance(db(), instance_id, actor(), str(body().get("reason") or ""))
    return jsonify(id=instance_id, status="cancelled")


@bp.get("/cases/<int:instance_id>")
@login_required
def case(instance_id: int):
    view = services.show_instance(db(), instance_id, actor())
    events = [{"at": e.at.isoformat(), "actor": e.actor, "type": e.type, "task_id": e.task_id,
               "element_id": e.element_id, "payload": plain(e.payload)}
              for e in services.history(db(), instance_id, actor())]
    return jsonify({**plain(view), "history": events})


@bp.post("/decisions/<decision_id>/evaluate")
@login_required
def evaluate_decision(decision_id: str):
    """Test a deployed decision on given data: nothing is stored."""
    data = body().get("data", {})
    return jsonify(plain(services.evaluate_decision(db(), decision_id, data, actor())))
