"""The one source of "now" for the engine, the scheduler and SpiffWorkflow's timers.

``BPMDESK_NOW`` (an ISO time) fixes the clock for one command; tests use :func:`frozen`.
Importing this module points SpiffWorkflow's timer module at this clock, because the library
calls ``datetime.now(timezone.utc)`` itself and offers no injection point.
"""
from __future__ import annotations

import contextlib
import os
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Iterator
from zoneinfo import ZoneInfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_fixed: datetime | None = None


def local_tz() -> tzinfo:
    """Zone for dates written without an offset (diagrams, forms, display)."""
    return ZoneInfo(os.environ.get("BPMDESK_TIMEZONE", "Asia/Shanghai"))


def parse_time(text: str) -> datetime:
    """Parse an ISO time; a time without offset is in :func:`local_tz`. Result is UTC."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_tz())
    return value.astimezone(timezone.utc)


def fixed_from_env() -> datetime | None:
    """The time ``BPMDESK_NOW`` fixes, or None when it is unset."""
    text = os.environ.get("BPMDESK_NOW", "").strip()
    return parse_time(text) if text else None


def now() -> datetime:
    """The current time, aware and in UTC."""
    if _fixed is not None:
        return _fixed
    env = fixed_from_env()
    return env if env is not None else datetime.now(timezone.utc)


@contextlib.contextmanager
def frozen(at: datetime | str) -> Iterator[None]:
    """Fix the clock inside a ``with`` block (tests, replay)."""
    global _fixed
    previous = _fixed
    _fixed = parse_time(at) if isinstance(at, str) else at.astimezone(timezone.utc)
    try:
        yield
    finally:
        _fixed = previous


class _ClockDatetime(datetime):
    """``datetime`` whose ``now()`` asks this module; everything else is the stdlib's."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        current = now()
        return current.astimezone(tz) if tz else current.astimezone(local_tz()).replace(tzinfo=None)


_spiff_timer.datetime = _ClockDatetime
_spiff_timer.LOCALTZ = local_tz()

_spiff_span = _spiff_timer.TimerEventDefinition.get_timedelta_from_start


def _span_on_local_calendar(parsed_duration: dict, start: datetime | None = None) -> timedelta:
    """SpiffWorkflow counts the months of ``P1M`` from ``now`` in UTC, so a month started at
    00:00 on the 1st in Beijing (16:00 UTC the day before) got the previous month's length. Camunda
    counts on the server's calendar: here the centre's zone (``BPMDESK_TIMEZONE``)."""
    start = start or now()
    return _spiff_span(parsed_duration, start.astimezone(local_tz()) if start.tzinfo else start)


_spiff_timer.TimerEventDefinition.get_timedelta_from_start = staticmethod(_span_on_local_calendar)
