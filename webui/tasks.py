"""The task page and its actions: claim, unclaim, complete, delegate to a colleague, hand back.

Every action is a POST that calls one service; the service decides whether this person may act and
whether the task is still open, so a stale tab gets the service's Conflict message and changes nothing.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from engine import services
from engine.services import access
from engine.errors import Conflict, InvalidInput
from engine.services import TaskView
from webui.formatting import person_name
from webui.views import actor, db

bp = Blueprint("tasks", __name__, url_prefix="/tasks")


def submitted_values(form: MultiDict) -> dict[str, str]:
    """The form's own fields: everything but the CSRF token."""
    return {key: value for key, value in form.items() if key != "csrf_token"}


def colleagues(view: TaskView) -> list[services.UserInfo]:
    """People this task may be delegated to: active members of its groups (the service re-checks)."""
    groups = set(view.task.candidate_groups)
    return [u for u in services.list_users(db())
            if u.active and u.name != actor().name
            and (groups & set(u.groups) or u.name in view.task.candidate_users)]


def render_task(view: TaskView, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status: int = 200, conflict: str | None = None):
    """The task page; after a refused submission ``values`` are what the user typed, shown again."""
    team_people = [u for u in services.list_users(db()) if u.active and set(u.groups) & set(view.task.candidate_groups)]
    task_id, case = view.task.id, view.task.instance_id
    return render_template("task.html", view=view, task=view.task, values=values or view.values,
                           errors=errors or {}, colleagues=colleagues(view), conflict=conflict,
                           team_people=team_people,
                           supervising=access.supervises(actor(), view.task),
                           files=[a for a in services.attachments(db(), case, actor()) if a.task_id == task_id],
                           comments=[e for e in services.history(db(), case, actor())
                                     if e.type == "comment_added" and e.task_id == task_id],
                           can_note=not access.reads_only(actor())), status


@bp.get("/<task_id>")
@login_required
def show(task_id: str):
    return render_task(services.get_task(db(), task_id, actor()))


@bp.post("/<task_id>/claim")
@login_required
def claim(task_id: str):
    item = services.claim(db(), task_id, actor())
    flash(f"已认领任务「{item.name}」。", "ok")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/<task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    item = services.unclaim(db(), task_id, actor())
    flash(f"任务「{item.name}」已退回组内待认领。", "ok")
    return redirect(url_for("inbox.index"))


@bp.post("/<task_id>/delegate")
@login_required
def delegate(task_id: str):
    to_user = (request.form.get("to_user") or "").strip()
    if not to_user:
        raise InvalidInput("请选择要委派的同事。")
    item = services.delegate(db(), task_id, actor(), to_user)
    flash(f"任务「{item.name}」已委派给 {person_name(to_user)}。", "ok")
    return redirect(url_for("inbox.index"))


@bp.post("/<task_id>/handback")
@login_required
def hand_back(task_id: str):
    """A delegated task goes back to the colleague who delegated it (the service clears the owner)."""
    view = services.get_task(db(), task_id, actor())
    if not view.task.owner:
        raise InvalidInput(f"任务「{view.task.name}」不是委派给您的，无需交还。")
    item = services.delegate(db(), task_id, actor(), view.task.owner)
    flash(f"任务「{item.name}」已交还给 {person_name(view.task.owner)}。", "ok")
    return redirect(url_for("inbox.index"))


@bp.post("/<task_id>/complete")
@login_required
def complete(task_id: str):
    submitted = submitted_values(request.form)
    try:
        done = services.complete(db(), task_id, actor(), submitted)
    except InvalidInput as error:
        view = services.get_task(db(), task_id, actor())
        kept = {**view.values, **submitted}
        return render_task(view, kept, error.field_errors or {"": str(error)}, status=400)
    except Conflict as error:  # someone else was quicker: say so, and keep what this user typed
        view = services.get_task(db(), task_id, actor())
        return render_task(view, {**view.values, **submitted}, status=409, conflict=str(error))
    following = "、".join(f"「{t.name}」" for t in done.next_tasks)
    flash(f"案件 {done.instance_id} 的任务已完成。" + (f"下一步：{following}。" if following else ""), "ok")
    return redirect(next_step_url(done.instance_id, fallback=url_for("inbox.index")))


def next_step_url(instance_id: int, fallback: str | None = None) -> str:
    """Straight on to the case's next task when it is this person's, else ``fallback`` (or the case)."""
    task = services.next_task_for(db(), instance_id, actor())
    if task is not None:
        return url_for("tasks.show", task_id=task.id, _anchor="task-form")
    return fallback or url_for("cases.show", instance_id=instance_id)

