"""Values as staff read and type them: 是/否, money to the fen, times in the centre's zone.

Task data holds plain JSON (see engine.forms); these Jinja filters turn it into text for a page
and into what a native input (``type=date`` / ``datetime-local``) accepts, so a form re-shown
after an error holds exactly what the user chose.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, g

from engine import clock, limits, services
from engine.services.notes import size_words
from webui.views import db

SYSTEM_ACTORS = {"scheduler": "系统（定时）", "cli": "系统（命令行）", "demo": "系统", "system": "系统",
                 "test": "系统"}
_YES = frozenset({"true", "on", "1", "是"})
_NO = frozenset({"false", "off", "0", "否"})


def yes_no(value: object, required: bool = False) -> str | None:
    """``'true'``/``'false'`` for the radio to check; an unanswered optional question is 否."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip().lower() if value is not None else ""
    if text in _YES:
        return "true"
    if text in _NO:
        return "false"
    return None if required else "false"


def money_input(value: object) -> str:
    """A stored amount as an input holds it (``1299.00``); anything typed is given back as typed."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.2f}"
    return str(value)


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value.strip()) < 16:
        return None
    try:
        return clock.parse_time(value).astimezone(clock.local_tz())
    except ValueError:
        return None


def picker_value(value: object, field_type: str) -> str | None:
    """What a native date / date-time picker accepts, or ``None`` when the value is not a date
    (then the page shows it as text, as typed, beside the error)."""
    if value is None or value == "":
        return ""
    if field_type == "date":
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            return None
    moment = _moment(value)
    return moment.strftime("%Y-%m-%dT%H:%M") if moment else None


def money_text(value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,.2f} 元"
    return str(value)


def number_text(value: float) -> str:
    """A measured number (hours since an order …) as a person would write it."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def typed_text(value: Any, field_type: str = "string") -> str:
    """A value of a form field of ``field_type`` as text for a page."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if field_type == "money":
        return money_text(value)
    if field_type == "datetime":
        moment = _moment(value)
        return moment.strftime("%Y-%m-%d %H:%M") if moment else str(value)
    if isinstance(value, (list, tuple)):
        return "、".join(typed_text(item) for item in value)
    if isinstance(value, float):
        return number_text(value)
    return str(value)


def duration_words(span: timedelta) -> str:
    """A span as staff say it, to the minute and in its two largest units: ``2 天 3 小时``,
    ``2 小时 15 分``, ``45 分``; under a minute ``不到 1 分钟``."""
    minutes = int(abs(span).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "天"), (hours, "小时"), (minutes, "分")]
    while parts and parts[0][0] == 0:
        parts.pop(0)
    shown = [f"{count} {unit}" for count, unit in parts[:2] if count]
    return " ".join(shown) or "不到 1 分钟"


def late_by(due_at: datetime) -> str:
    """How long ago a due time passed (``2 小时 15 分``)."""
    return duration_words(clock.now() - due_at)


def left_until(due_at: datetime) -> str:
    """How long until a due time (``45 分``)."""
    return duration_words(due_at - clock.now())


def due_change_text(payload: dict[str, Any]) -> str:
    """A supervisor's change of a task's dates, for the timeline: old → new, and why."""
    def moment(text: str | None) -> str:
        return clock.parse_time(text).astimezone(clock.local_tz()).strftime("%Y-%m-%d %H:%M") if text else "未设"
    parts = []
    if payload.get("due_at"):
        parts.append(f"到期时间 {moment(payload.get('before'))} → {moment(payload['due_at'])}")
    if payload.get("follow_up_at"):
        parts.append(f"跟进时间 → {moment(payload['follow_up_at'])}")
    return "，".join(parts) + f"；原因：{payload.get('reason', '')}"


def person_name(name: object) -> str:
    """A user by display name (the account list read once per request), the engine's own
    actors in words; anything else as written."""
    if "people" not in g:
        g.people = {u.name: u.display_name or u.name for u in services.list_users(db())}
    if not isinstance(name, str):
        return typed_text(name)
    return g.people.get(name) or SYSTEM_ACTORS.get(name, name)


def minutes_text(minutes: float | None) -> str:
    """A duration as staff say it: 5分钟, 1小时30分钟, 2天3小时; none: —."""
    if minutes is None:
        return "—"
    total = round(minutes)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分钟" if mins else f"{hours}小时"
    return f"{mins}分钟" if total or not minutes else "不到1分钟"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(yes_no=yes_no, money_input=money_input, picker_value=picker_value,
                                 typed_text=typed_text, money_text=money_text, person_name=person_name,
                                 duration_words=duration_words, late_by=late_by, left_until=left_until,
                                 size_words=size_words, minutes_text=minutes_text)
    app.jinja_env.globals.update(attachment_limit=lambda: limits.number(limits.MAX_ATTACHMENT_BYTES),
                                 comment_limit=lambda: limits.number(limits.MAX_FIELD_CHARS))
