"""The inbox: one query on the indexed task table per page view, never a workflow load."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
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
        page=page_number(args.get("page")),
        per_page=per_page,
    )


@bp.get("/")
@login_required
def index():
    flt = inbox_filter(request.args, current_app.config["PER_PAGE"])
    result = services.list_tasks(db(), actor(), flt)
    procedures = [(d.process_id, d.name or d.process_id) for d in services.list_definitions(db())]
    pages = max(1, -(-result.total // result.per_page))
    return render_template("inbox.html", result=result, flt=flt, pages=pages, procedures=procedures,
                           scopes=SCOPES, due_filters=DUE_FILTERS, due=request.args.get("due", ""),
                           tabs=TABS, counts=services.tab_counts(db(), actor()))
