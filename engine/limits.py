"""The centre's limits: how much a request, a field, a case, a timer or a step may take.

None of these numbers comes from the manuals: each is an operator's setting with a default that
keeps one careless diagram or request from taking the desk down for everyone (README lists them).
A limit is read from the environment when it is checked, so a changed setting needs no code.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, TypeVar

from engine.errors import InvalidInput

T = TypeVar("T")


@dataclass(frozen=True)
class Setting:
    """One limit: its environment variable, default and meaning (what README lists)."""

    env: str
    default: str
    meaning: str

    def read(self, parse: Callable[[str], T]) -> T:
        text = os.environ.get(self.env, "").strip() or self.default
        try:
            return parse(text)
        except (ValueError, OverflowError):
            raise ValueError(f"{self.env}={text!r} is not valid ({self.meaning})") from None


MAX_REQUEST_BYTES = Setting("BPMDESK_MAX_REQUEST_BYTES", "2097152", "bytes of one web/API request body")
MAX_FIELD_CHARS = Setting("BPMDESK_MAX_FIELD_CHARS", "10000",
                          "characters of one text field whose form sets no maxlength")
MAX_CASE_BYTES = Setting("BPMDESK_MAX_CASE_BYTES", "1048576", "bytes of one case's stored state (its data)")
MAX_JSON_DEPTH = Setting("BPMDESK_MAX_JSON_DEPTH", "32", "nesting of lists/objects in submitted data")
TIMER_MIN_CYCLE = Setting("BPMDESK_TIMER_MIN_CYCLE", "PT1M", "shortest period of a timeCycle "
                          "(a bounded cycle over within it, such as R2/PT0.1S, may be shorter)")
TIMER_MAX_REPEATS = Setting("BPMDESK_TIMER_MAX_REPEATS", "10000", "most repetitions of a timeCycle R<n>/")
TIMER_MAX_SPAN = Setting("BPMDESK_TIMER_MAX_SPAN", "P3660D", "longest timeDuration or cycle period")
TIMER_LATEST_DATE = Setting("BPMDESK_TIMER_LATEST_DATE", "2099-12-31", "latest timeDate or cycle start")
STEP_SECONDS = Setting("BPMDESK_STEP_SECONDS", "10",
                       "seconds of CPU one step (a start, completion or timer firing) may take")
SHUTDOWN_SECONDS = Setting("BPMDESK_SHUTDOWN_SECONDS", "5",
                           "seconds a stopping server or scheduler waits for work in progress")
MEMORY_MB = Setting("BPMDESK_MEMORY_MB", "2048", "address space of a web worker or scheduler process (0 = none)")
MAX_SAVED_FILTERS = Setting("BPMDESK_MAX_SAVED_FILTERS", "20",
                            "saved inbox filters per person (each is counted on every inbox view)")
MAX_ATTACHMENT_BYTES = Setting("BPMDESK_MAX_ATTACHMENT_BYTES", "5242880",
                               "bytes of one attached file (photo, scanned receipt)")

SETTINGS = (MAX_REQUEST_BYTES, MAX_FIELD_CHARS, MAX_CASE_BYTES, MAX_JSON_DEPTH, TIMER_MIN_CYCLE,
            TIMER_MAX_REPEATS, TIMER_MAX_SPAN, TIMER_LATEST_DATE, STEP_SECONDS, SHUTDOWN_SECONDS, MEMORY_MB,
            MAX_SAVED_FILTERS, MAX_ATTACHMENT_BYTES)


def number(setting: Setting) -> int:
    return setting.read(lambda text: max(0, int(text)))


def seconds(setting: Setting) -> float:
    return setting.read(lambda text: max(0.0, float(text)))


def latest_date() -> datetime:
    return TIMER_LATEST_DATE.read(
        lambda text: datetime.combine(datetime.fromisoformat(text).date(), datetime.max.time(), timezone.utc))


def span(setting: Setting) -> timedelta:
    """A setting written as an ISO 8601 duration of days, hours, minutes, seconds (``P3660D``)."""
    return setting.read(iso_span)


def iso_span(text: str) -> timedelta:
    """``PnDTnHnMnS`` (weeks too) as a timedelta; years and months count as 366 and 31 days,
    the longest they can be, so a bound checked with this is never too lenient."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    try:
        parts = TimerEventDefinition.parse_iso_duration(text)
    except Exception:  # SpiffWorkflow's parser raises a bare Exception
        raise ValueError(f"{text!r} is not an ISO 8601 duration") from None
    days = parts.get("years", 0) * 366 + parts.get("months", 0) * 31 + parts.get("weeks", 0) * 7
    total = days + parts.get("days", 0)
    if total > timedelta.max.days:
        raise OverflowError(text)
    return timedelta(days=total, hours=parts.get("hours", 0), minutes=parts.get("minutes", 0),
                     seconds=parts.get("seconds", 0))


# --- submitted values -----------------------------------------------------------------------------

def check_value(value: Any, where: str = "提交的数据") -> None:
    """Refuse what no field can hold: NUL characters, lone surrogates (not text at all, and
    PostgreSQL or UTF-8 refuse them at save), and nesting deeper than ``BPMDESK_MAX_JSON_DEPTH``.
    Walks without recursion, so a value nested 100 000 deep is refused, not a crash."""
    depth_limit = number(MAX_JSON_DEPTH)
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, (dict, list, tuple)):
            if depth >= depth_limit:
                raise InvalidInput(f"{where}嵌套超过 {depth_limit} 层，无法接受。")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise InvalidInput(f"{where}含有空字符（NUL），无法保存。")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"{where}含有无效的字符（不成对的代理字符），无法保存。") from None


def check_case_state(state: str, instance_id: int) -> None:
    """A case's stored state is re-read and re-written at every step: past the budget it is refused.
    (Encoded only when it might be over: a character takes at most 4 bytes.)"""
    budget = number(MAX_CASE_BYTES)
    if not budget or len(state) * 4 <= budget:
        return
    size = len(state.encode("utf-8", "surrogatepass"))
    if size > budget:
        raise InvalidInput(f"案件 {instance_id} 的数据将达到 {size // 1024} KB，超过上限 {budget // 1024} KB"
                           f"（{MAX_CASE_BYTES.env}），操作未执行。请精简填写的内容。")
