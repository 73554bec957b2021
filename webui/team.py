"""The team view for supervisors: a group's workload (open, unclaimed, overdue, due today, per
person) and its open tasks, each of which can be given to a person of the team or taken over."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import services
from engine.errors import Forbidden
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
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/") and not back.startswith("//") else url_for("team.index"))
