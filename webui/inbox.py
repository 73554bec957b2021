"""The inbox: one query on the indexed task table per page view, never a workflow load."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine import services
from engine.numbers import whole_number
from engine.services import TaskFilter
from webui.views import actor, db

bp = Blueprint("inbox", __name__)

SCOPES = {"open": "全部待办", "mine": "我的任务", "group": "组内待认领", "done": "我已办理"}
# The tabs: (label, scope, due filter, which count it shows)
TABS = (("全部待办", "open", "", None), ("我的", "mine", "", "mine"), ("组内", "group", "", "group"),
        ("已超时", "open", "overdue", "overdue"), ("今日到期", "open", "today", "due_today"),
        ("我已办理", "done", "", None))
DUE_FILTERS = {"": "全部", "overdue": "已超时", "today": "今天到期"}
SORTS = {"due": "到期时间（最早在前）", "follow_up": "跟进日期（最早在前）", "priority": "优先级（最高在前）",
         "created": "创建时间（最新在前）"}


def page_number(text: str | None) -> int:
    """A page number as typed in the address; anything else (``²``, ``-1``, 10**100) is page 1."""
    return whole_number(text, most=99_999) or 1


def inbox_filter(args, per_page: int) -> TaskFilter:
    """The query string as a task filter; unknown values fall back to the plain inbox."""
    scope = args.get("scope", "open")
    due = args.get("due", "")
    return TaskFilter(
        scope=scope if scope in SCOPES else "open",
        process_id=args.get("procedure") or None,
        overdue=due == "overdue",
        due_today=due == "today",
        search=(args.get("q") or "").strip()[:50] or None,
        sort=args.get("sort") if args.get("sort") in SORTS else "due",
        page=page_number(args.get("page")),
        per_page=per_page,
    )


def filter_args(flt: TaskFilter) -> dict[str, Any]:
    """The inbox address of a filter (what ``inbox_filter`` reads back), without its defaults."""
    due = "overdue" if flt.overdue else "today" if flt.due_today else None
    args = {"scope": flt.scope, "procedure": flt.process_id, "due": due, "q": flt.search,
            "sort": None if flt.sort == "due" else flt.sort}
    return {key: value for key, value in args.items() if value}


@bp.get("/")
@login_required
def index():
    flt = inbox_filter(request.args, current_app.config["PER_PAGE"])
    result = services.list_tasks(db(), actor(), flt)
    procedures = [(d.process_id, d.name or d.process_id) for d in services.list_definitions(db())]
    pages = max(1, -(-result.total // result.per_page))
    here = filter_args(flt)
    saved = services.saved_filters(db(), actor())
    return render_template("inbox.html", result=result, flt=flt, pages=pages, procedures=procedures,
                           scopes=SCOPES, due_filters=DUE_FILTERS, due=request.args.get("due", ""),
                           sorts=SORTS, tabs=TABS, counts=services.tab_counts(db(), actor()),
                           saved=[(view, filter_args(view.filter)) for view in saved], here=here)


@bp.post("/filters")
@login_required
def save_filter():
    """Keep the view the person is looking at under the name they typed, then show it."""
    flt = inbox_filter(request.form, current_app.config["PER_PAGE"])
    name = request.form.get("name") or ""
    services.save_filter(db(), actor(), name, flt)
    flash(f"已保存筛选「{' '.join(name.split())}」。", "ok")
    return redirect(url_for("inbox.index", **filter_args(flt)))


@bp.post("/filters/<int:filter_id>/delete")
@login_required
def delete_filter(filter_id: int):
    name = services.delete_filter(db(), actor(), filter_id)
    flash(f"已删除筛选「{name}」。", "ok")
    return redirect(url_for("inbox.index"))
