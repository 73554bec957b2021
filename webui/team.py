"""The team view for supervisors: a group's workload (open, unclaimed, overdue, due today, per
person) and its open tasks, each of which can be given to a person of the team or taken over."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from datetime import datetime

from engine import clock, services
from engine.errors import Forbidden, InvalidInput
from webui.formatting import person_name
from webui.views import actor, db

bp = Blueprint("team", __name__, url_prefix="/team")


def team_members(group: str) -> list[services.UserInfo]:
    return [u for u in services.list_users(db()) if u.active and group in u.groups]


@bp.get("/")
@login_required
def index():
    teams = services.my_teams(db(), actor())
    if not teams:
        raise Forbidden("您不是任何组的主管或经理，没有可查看的团队。")
    group = request.args.get("group") or teams[0].name
    return render_template("team.html", teams=teams, team=services.team(db(), actor(), group),
                           people=team_members(group))


@bp.post("/assign/<task_id>")
@login_required
def assign(task_id: str):
    """Give the task to the chosen person (or to oneself: take it over), then back where one was."""
    to_user = (request.form.get("to_user") or "").strip() or actor().name
    item = services.assign(db(), task_id, actor(), to_user)
    flash(f"任务「{item.name}」已分派给 {person_name(to_user)}。", "ok")
    return redirect(back_or(url_for("team.index")))


def typed_time(name: str, label: str) -> datetime | None:
    """A date-time picker's value (``2025-03-03T12:00``, the centre's zone); empty is none."""
    text = (request.form.get(name) or "").strip()
    if not text:
        return None
    try:
        return clock.parse_time(text)
    except ValueError:
        raise InvalidInput(f"{label}「{text}」不是有效的日期时间，请用日期时间选择器选择。", {name: "无效的日期时间"}) from None


def back_or(default: str) -> str:
    back = request.form.get("back") or ""
    return back if back.startswith("/") and not back.startswith("//") else default


@bp.post("/due/<task_id>")
@login_required
def change_due(task_id: str):
    """A new due time and/or follow-up date for a task of one's team, with the reason."""
    back = back_or(url_for("tasks.show", task_id=task_id))
    try:
        item = services.change_due(db(), task_id, actor(), request.form.get("reason", ""),
                                   due_at=typed_time("due_at", "到期时间"),
                                   follow_up_at=typed_time("follow_up_at", "跟进时间"))
    except InvalidInput as error:
        flash(str(error), "error")
    else:
        flash(f"任务「{item.name}」的时限已调整，并记入处理记录。", "ok")
    return redirect(back)
