"""What every page shares: the database handle, the signed-in actor, local-time display, headers."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_login import current_user

from engine import clock, services
from engine.services import Actor
from engine.store import Database

STATUS_LABELS = {"running": "进行中", "open": "待办", "completed": "已完成", "cancelled": "已取消",
                 "incident": "异常"}


def db() -> Database:
    return current_app.extensions["bpmdesk.db"]


def actor() -> Actor:
    """The signed-in user as the services expect them: built from the account as loaded for this
    request (Flask-Login reloads it on every request, so a deactivated account is refused), with
    the groups they supervise (read once per request)."""
    if "actor" not in g:
        groups = frozenset(current_user.groups)
        g.actor = Actor(current_user.name, groups, supervises=services.supervised_by(db(), groups))
    return g.actor


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the staff read it: in the centre's zone (Asia/Shanghai by default)."""
    if value is None:
        return ""
    return value.astimezone(clock.local_tz()).strftime(fmt)


def group_label(name: str) -> str:
    """A group by its Chinese name (the groups are read once per request)."""
    if "group_names" not in g:
        g.group_names = services.group_names(db())
    return g.group_names.get(name, name)


def field_groups(fields: list[Any]) -> list[tuple[str, list[Any]]]:
    """A form in reading order, with each run of three or more checkboxes kept together as a
    checklist (the documents a procedure asks for), the other fields one by one."""
    groups: list[tuple[str, list[Any]]] = []
    for field in fields:
        box = field.type == "boolean" and not field.readonly and not field.current_user
        if box and groups and groups[-1][0] == "boxes":
            groups[-1][1].append(field)
        else:
            groups.append(("boxes" if box else "field", [field]))
    return [("checklist" if kind == "boxes" and len(run) >= 3 else "field", run) for kind, run in groups]


def _security_headers(response: Response) -> Response:
    """No scripts from anywhere but here, no framing, no caching of personal data."""
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def has_teams() -> bool:
    """The signed-in person supervises a group (the 团队 menu)."""
    return bool(actor().supervises)


def _template_context() -> dict[str, Any]:
    return {"now": clock.now(), "has_teams": has_teams}


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(local_time=local_time, group_label=group_label, field_groups=field_groups,
                                 status_label=lambda s: STATUS_LABELS.get(s, s))
    app.jinja_env.autoescape = True
    app.context_processor(_template_context)
    app.after_request(_security_headers)
