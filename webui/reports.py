"""The SLA dashboard (/reports) for supervisors, managers and the GM, and the cases behind each of
its numbers (/reports/cases). The figures come from engine.services.reports; this module only
turns them into pages, and the trend into bars of a server-rendered SVG chart."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required

from engine.services import reports
from webui.views import actor, db

bp = Blueprint("reports", __name__, url_prefix="/reports")
CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM = 600, 180, 16, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    label: str  # the day, 3/02
    title: str  # what a screen reader and a hover say
    href: str | None


def bars(values: list[tuple[str, float | None, str, str | None]], top: float) -> list[Bar]:
    """Bars for (label, value, title, link) points, ``top`` the value the chart's height stands for."""
    step = CHART_WIDTH / max(len(values), 1)
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    result = []
    for i, (label, value, title, href) in enumerate(values):
        height = plot * (value or 0) / top if top else 0
        result.append(Bar(round(i * step + step * 0.15, 1), round(CHART_TOP + plot - height, 1),
                          round(step * 0.7, 1), round(height, 1), value or 0, label, title, href))
    return result


def _trend_charts(board: reports.Dashboard) -> dict[str, list[Bar]]:
    cases = [(f"{d.day.month}/{d.day.day:02d}", d.cases_opened,
              f"{d.day.month}月{d.day.day}日 受理 {d.cases_opened} 件", None) for d in board.trend]
    levels = [(f"{d.day.month}/{d.day.day:02d}", d.percent,
               f"{d.day.month}月{d.day.day}日 按时率 " + (f"{d.percent}%（{d.levels_met}/{d.levels_due}）"
                                                      if d.percent is not None else "无到期时限"), None)
              for d in board.trend]
    return {"cases": bars(cases, max([1, *(d.cases_opened for d in board.trend)])), "levels": bars(levels, 100)}


@bp.get("/")
@login_required
def index():
    period = request.args.get("period") or "today"
    board = reports.dashboard(db(), actor(), period)
    return render_template("reports.html", board=board, periods=reports.PERIODS, charts=_trend_charts(board),
                           chart={"width": CHART_WIDTH, "height": CHART_HEIGHT, "bottom": CHART_HEIGHT - CHART_BOTTOM})


@bp.get("/cases")
@login_required
def cases():
    args = request.args
    f = reports.Filter(args.get("metric") or "", args.get("period") or "today", args.get("process") or None,
                       args.get("dept") or None, args.get("step") or None, args.get("limit") or None)
    listed = reports.listing(db(), actor(), f)
    return render_template("report_cases.html", listed=listed, back=url_for("reports.index", period=f.period))
