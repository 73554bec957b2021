"""The auditor's pages: case search, a case's timeline with the data each step changed, the diagram
as of any event, and event-log downloads. Read-only: these routes only look (GET), and the
services record every look in the system chain.
"""
from __future__ import annotations

import functools
import tempfile
from typing import Any, Callable

from flask import Blueprint, current_app, render_template, request, send_file
from flask_login import current_user, login_required
from markupsafe import Markup

from engine import clock, diagram, services
from engine.errors import BpmdeskError, Forbidden
from engine.services import AuditCase, CaseQuery
from engine.services.audit import FORMATS, STATUSES
from webui.cases import EVENT_LABELS, checked_text
from webui.inbox import page_number
from webui.views import STATUS_LABELS, actor, db

bp = Blueprint("audit", __name__, url_prefix="/audit")

MIME = {"xes": "application/xml", "csv": "text/csv"}
SPOOL_BYTES = 8 * 1024 * 1024  # larger exports go to a temporary file, not memory


def auditor_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_auditor:
            raise Forbidden("只有审计人员可以使用审计功能。")
        return view(*args, **kwargs)

    return wrapper


def case_query(args: Any, per_page: int) -> CaseQuery:
    """The search form as a query; the services reject an unknown status or a bad date."""
    started_from, started_to = services.parse_period(args.get("from"), args.get("to"))
    return CaseQuery(
        process_id=args.get("procedure") or None,
        started_from=started_from,
        started_to=started_to,
        actor=(args.get("actor") or "").strip()[:100] or None,
        status=args.get("status") or None,
        overdue=args.get("overdue") == "1",
        page=page_number(args.get("page")),
        per_page=per_page,
    )


def _procedures() -> list[tuple[str, str]]:
    return [(d.process_id, d.name or d.process_id) for d in services.list_definitions(db())]


@bp.get("/")
@auditor_required
def search():
    query = case_query(request.args, current_app.config["PER_PAGE"])
    result = services.search_cases(db(), query, viewer=actor())
    pages = max(1, -(-result.total // result.per_page))
    return render_template("audit/search.html", result=result, pages=pages, procedures=_procedures(),
                           statuses=STATUSES, status_labels=STATUS_LABELS, args=request.args,
                           formats=FORMATS)


def diagram_as_of(case: AuditCase) -> Markup | str:
    """The diagram coloured as the case stood at the chosen event, or why there is none."""
    snapshot = case.replay.snapshot
    try:
        return Markup(diagram.render_svg(case.bpmn, case.summary.process_id, completed=snapshot.completed,
                                         active=snapshot.active, escalated=snapshot.escalated))
    except BpmdeskError as error:
        return str(error)


@bp.get("/cases/<int:instance_id>")
@auditor_required
def case(instance_id: int):
    as_of = request.args.get("event", type=int)
    record = services.audit_case(db(), instance_id, viewer=actor(), as_of=as_of)
    return render_template("audit/case.html", case=record, svg=diagram_as_of(record),
                           event_labels=EVENT_LABELS, status_labels=STATUS_LABELS,
                           checked_text=checked_text)


@bp.get("/export")
@auditor_required
def export():
    fmt = request.args.get("format", "xes")
    started_from, started_to = services.parse_period(request.args.get("from"), request.args.get("to"))
    process_id = request.args.get("procedure") or None
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    services.export_log(db(), fmt, out, process_id=process_id, started_from=started_from,
                        started_to=started_to, viewer=actor())
    out.seek(0)
    name = f"bpmdesk-{process_id or 'all'}-{clock.now().astimezone(clock.local_tz()):%Y%m%d-%H%M}.{fmt}"
    return send_file(out, mimetype=MIME[fmt], as_attachment=True, download_name=name)
