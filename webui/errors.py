"""Errors as pages (or JSON under /api): a user's mistake gets its message, a bug gets an apology.

A ``BpmdeskError`` carries a message written for the person who caused it, so it is shown as is
with its 4xx status. Anything else is a bug: it is logged with its traceback and the user sees a
plain 500 page that reveals nothing of the code.
"""
from __future__ import annotations

import re

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from engine.errors import BpmdeskError, InvalidInput
from engine.store.trouble import storage_trouble

HTTP_MESSAGES = {
    400: "请求无效。",
    401: "请先登录。",
    403: "您无权访问此页面。",
    404: "页面不存在。",
    405: "不支持此操作方式。",
    409: "数据已被其他人修改，请刷新后重试。",
    413: "提交的内容过大。",
    415: "提交内容的类型不受支持（接口请用 JSON，页面请用表单）。",
    429: "操作过于频繁，请稍后再试。",
}
TITLES = {400: "无法处理", 401: "请先登录", 403: "无权访问", 404: "未找到", 409: "内容已变化"}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


_TASK_PATH = re.compile(r"^/tasks/([\w-]+)")
_CASE_PATH = re.compile(r"^/cases/(\d+)")


def next_actions(status: int) -> list[tuple[str, str]]:
    """Where to go from here (label, link): the task or case the request was about, then the
    inbox; a missing page or a refusal offers no way back into what failed."""
    actions: list[tuple[str, str]] = []
    task, case = _TASK_PATH.match(request.path), _CASE_PATH.match(request.path)
    if task and status not in (403, 404):
        actions.append(("重新打开此任务", f"/tasks/{task.group(1)}"))
    if case and status not in (403, 404) and request.path != f"/cases/{case.group(1)}":
        actions.append((f"查看案件 {case.group(1)}", f"/cases/{case.group(1)}"))
    if request.path.startswith("/start/") and status == 403:
        actions.append(("选择其他流程", "/start"))
    return [*actions, ("返回待办任务", "/")]


def render_error(status: int, message: str, field_errors: dict[str, str] | None = None):
    if request.path.startswith("/engine-rest/"):  # Camunda's clients read Camunda's error body
        kind = {404: "InvalidRequestException", 405: "RestException"}.get(status, "RestException")
        return jsonify(type=kind, message=message), status
    if _wants_json():
        body = {"error": message, "status": status}
        if field_errors:
            body["field_errors"] = field_errors
        return jsonify(body), status
    if status >= 500:  # standalone page: the layout itself may be what failed
        return render_template("fatal.html", message=message), status
    title = TITLES.get(status, TITLES[400])
    return render_template("error.html", status=status, title=title, message=message,
                           actions=next_actions(status)), status


def _bpmdesk_error(error: BpmdeskError):
    fields = error.field_errors if isinstance(error, InvalidInput) else None
    return render_error(error.http_status, str(error), fields)


def _csrf_error(error: CSRFError):
    return render_error(400, "页面已过期或缺少安全校验（CSRF），操作未执行。请刷新页面后重试。")


def _http_error(error: HTTPException):
    status = error.code or 500
    return render_error(status, HTTP_MESSAGES.get(status, error.description or ""))


def _unexpected(error: Exception):
    trouble = storage_trouble(error)
    if trouble is not None:  # the storage failed (full, read-only, busy, gone): rolled back, say so
        current_app.logger.warning("storage trouble on %s %s: %s", request.method, request.path, error)
        return render_error(503, trouble)
    if isinstance(error, DataError):  # a value the database refuses that no check caught before
        current_app.logger.warning("value refused on %s %s: %s", request.method, request.path, error)
        return render_error(400, "提交的数据无法保存（格式或范围不符），操作未执行。")
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(500, "系统内部错误，操作可能未完成。请稍后重试；若仍有问题，请联系管理员。")


def init_app(app: Flask) -> None:
    app.register_error_handler(BpmdeskError, _bpmdesk_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
