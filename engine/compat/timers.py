"""Timer definitions as Camunda Modeler writes them → the Python SpiffWorkflow evaluates.

SpiffWorkflow `eval`s timer text, so the bare `PT15M` of Camunda Modeler fails at run time. We turn
ISO-8601 literals into Python string literals, translate `${…}` JUEL, and let SpiffWorkflow-style
Python (`"PT0.25S"`, `futuredate`) through. Literal values are checked here with SpiffWorkflow's
own ISO parsers, so a typo is a deploy error, not a stuck instance; and against the centre's
bounds (``engine.limits``: shortest cycle period, most repetitions, longest span, latest date), so a
cycle of period zero or a wait of ten thousand years is refused before it can spin or overflow.
"""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine import clock, limits
from engine.compat.juel import Untranslatable, is_juel, translate_template
from engine.numbers import whole_number

_DURATION = re.compile(
    r"P(?=\d|T\d)(\d+(?:[.,]\d+)?Y)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?W)?(\d+(?:[.,]\d+)?D)?"
    r"(T(?=\d)(\d+(?:[.,]\d+)?H)?(\d+(?:[.,]\d+)?M)?(\d+(?:[.,]\d+)?S)?)?", re.IGNORECASE)
_LOOKS_ISO = re.compile(r"[+-]?P[\dT]|\d{4}-\d{2}-\d{2}|\d{4}-?W\d{2}|R\d*/", re.IGNORECASE)
_CRON_FIELD = re.compile(r"[0-9*?/,LW#A-Za-z-]+")

KINDS = ("timeDate", "timeDuration", "timeCycle")


class InvalidTimer(ValueError):
    """The timer text cannot work; the message says why."""


def translate_timer(kind: str, text: str | None) -> str:
    """Return the Python expression SpiffWorkflow should evaluate for this timer element."""
    value = (text or "").strip()
    if not value:
        raise InvalidTimer("has no value")
    if value.startswith("="):
        raise InvalidTimer(f"{value!r} is a FEEL expression (Camunda 8), not supported here")
    if is_juel(value):
        try:
            return translate_template(value)
        except Untranslatable as error:
            raise InvalidTimer(f"JUEL {value!r} cannot be translated: {error}") from None
    if _LOOKS_ISO.match(value):
        check_iso(kind, value)
        return repr(value)
    if _is_quartz_cron(value):
        raise InvalidTimer(f"{value!r} is a Quartz cron expression; use ISO 8601 such as R/P1D")
    return _python_expression(kind, value)


def check_iso(kind: str, value: str) -> None:
    """Raise InvalidTimer unless `value` is the ISO-8601 form this kind of timer needs."""
    try:
        if kind == "timeDuration":
            _check_duration(value)
        elif kind == "timeCycle":
            _check_cycle(value)
        else:
            _check_date(value)
    except InvalidTimer:
        raise
    except Exception:  # SpiffWorkflow's parsers raise bare Exception/ValueError
        raise InvalidTimer(f"{value!r} is not a valid ISO 8601 {_WHAT[kind]}") from None


_WHAT = {"timeDate": "date-time", "timeDuration": "duration", "timeCycle": "repeating interval (R…/…)"}


def _check_duration(value: str) -> None:
    if not _DURATION.fullmatch(value):
        raise InvalidTimer(f"{value!r} is not a valid ISO 8601 duration (e.g. PT15M, P1D)")
    _check_span(value)  # first: SpiffWorkflow's own arithmetic loops once per month of it
    TimerEventDefinition.parse_iso_duration(value)


def _check_span(value: str) -> None:
    longest = limits.span(limits.TIMER_MAX_SPAN)
    try:
        length = limits.iso_span(value)
    except OverflowError:
        length = timedelta.max
    if length > longest:
        raise InvalidTimer(f"{value!r} is longer than the longest timer allowed, {_bound(limits.TIMER_MAX_SPAN)}; "
                           "write a shorter duration, or have the operator raise the setting")


def _check_cycle(value: str) -> None:
    if not value.upper().startswith("R"):
        raise InvalidTimer(f"{value!r} is not a repeating interval; write R/{value} or R3/{value}")
    repeats, *parts = value.split("/")
    most = limits.number(limits.TIMER_MAX_REPEATS)
    count = whole_number(repeats[1:], most=None)
    if count is not None and count > most:
        raise InvalidTimer(f"{value!r} repeats {count} times, more than {_bound(limits.TIMER_MAX_REPEATS)}; "
                           f"write R{most}/… or fewer, or R/… for a cycle without end")
    for part in parts:
        if part.upper().startswith("P"):
            _check_duration(part)
        else:
            _check_date(part)
    count, _, period = TimerEventDefinition.parse_iso_recurring_interval(value)
    shortest = limits.span(limits.TIMER_MIN_CYCLE)
    if period < shortest and not _short_burst(count, period, shortest):
        raise InvalidTimer(f"{value!r} repeats every {period.total_seconds():g} s, more often than "
                           f"{_bound(limits.TIMER_MIN_CYCLE)} allows; write a period of "
                           f"{limits.TIMER_MIN_CYCLE.read(str)} or longer, such as R/PT1H")


def _short_burst(count: int, period: timedelta, shortest: timedelta) -> bool:
    """A bounded cycle that is over within one shortest period (R2/PT0.1S) fires a known, small
    number of times at once, like that many timers; the minimum guards against cycles that keep
    firing faster than it for as long as they run."""
    return count > 0 and period > timedelta(0) and count * period <= shortest


def _check_date(value: str) -> None:
    if value.upper().lstrip("+-").startswith(("P", "R")):
        raise InvalidTimer(f"{value!r} is a duration or cycle; use timeDuration or timeCycle")
    when = TimerEventDefinition.parse_time_or_duration(value)
    if isinstance(when, datetime) and when > limits.latest_date():
        raise InvalidTimer(f"{value!r} is later than the latest timer date allowed, "
                           f"{_bound(limits.TIMER_LATEST_DATE)}; write an earlier date")


def _bound(setting: limits.Setting) -> str:
    return f"{setting.read(str)} ({setting.env}, the centre's setting)"


def _is_quartz_cron(value: str) -> bool:
    fields = value.split()
    return (len(fields) in (6, 7) and re.fullmatch(r"[0-9*/,?-]+", fields[0]) is not None
            and all(_CRON_FIELD.fullmatch(field) for field in fields))


def _python_expression(kind: str, value: str) -> str:
    """SpiffWorkflow style: keep it; check a quoted literal's content like a bare literal."""
    try:
        tree = ast.parse(value, mode="eval")
    except SyntaxError:
        raise InvalidTimer(f"{value!r} is neither ISO 8601, JUEL, nor a Python expression") from None
    if isinstance(tree.body, ast.Constant) and isinstance(tree.body.value, str):
        check_iso(kind, tree.body.value.strip())
    return value


@dataclass(frozen=True)
class Recurrence:
    """When a timer start event's occurrences fall: ``first``, then every ``period``, ``count`` times.

    The period is kept as ISO text because months and years step by the calendar, as Camunda 7's
    cycles do: ``R/2026-01-01T00:00:00/P1M`` falls on the 1st of every month (31 days, then 28, …),
    not every 31 days."""

    first: datetime
    period: str | None  # ISO 8601 duration; None: once
    count: int | None  # None: without end

    def _fixed(self) -> timedelta | None:
        """The period's length when it does not depend on the calendar (no months or years)."""
        parsed = TimerEventDefinition.parse_iso_duration(self.period)
        return None if parsed.get("years") or parsed.get("months") else _span(self.period, self.first)

    def after(self, occurrence: datetime, steps: int = 1) -> datetime:
        """The occurrence ``steps`` periods after ``occurrence``."""
        fixed = self._fixed()
        if fixed is not None:
            return occurrence + fixed * steps
        local = occurrence.astimezone(clock.local_tz()) if occurrence.tzinfo else occurrence
        for _ in range(steps):  # calendar periods, on the centre's calendar: at most a dozen steps a year
            local += _span(self.period, local)
        return local.astimezone(occurrence.tzinfo) if occurrence.tzinfo else local

    def due_by(self, occurrence: datetime, moment: datetime) -> int:
        """How many occurrences from ``occurrence`` on have passed by ``moment`` (at least one)."""
        fixed = self._fixed()
        if fixed is not None:
            return max(1, math.ceil((moment - occurrence) / fixed))
        passed, following = 1, self.after(occurrence)
        while following < moment:
            passed, following = passed + 1, self.after(following)
        return passed

    def next_from(self, moment: datetime) -> tuple[datetime | None, int | None]:
        """The first occurrence at or after ``moment`` and how many remain from it on."""
        if self.period is None:
            return (self.first, 1) if moment <= self.first else (None, 0)
        skipped = 0 if moment <= self.first else self.due_by(self.first, moment)
        remaining = None if self.count is None else self.count - skipped
        if remaining is not None and remaining <= 0:
            return None, 0
        return self.after(self.first, skipped), remaining

    @property
    def seconds(self) -> float | None:
        """The first period's length (None: once); calendar periods vary from one to the next."""
        return None if self.period is None else _span(self.period, self.first).total_seconds()


def _span(duration: str, start: datetime) -> timedelta:
    parsed = TimerEventDefinition.parse_iso_duration(duration)
    return TimerEventDefinition.get_timedelta_from_start(parsed, start)


def recurrence(value: str, anchor: datetime) -> Recurrence:
    """Camunda's reading of a timer start: ``R[n]/[start/]period`` repeats (without a start, the
    first is one period after ``anchor``, the deployment); a duration starts once after ``anchor``;
    a date starts once then."""
    text = value.strip()
    if text.upper().startswith("R"):
        parts = text.split("/")
        count = int(parts[0][1:]) if parts[0][1:] else None
        if len(parts) == 2:
            return Recurrence(anchor + _span(parts[1], anchor), parts[1], count)
        _, first, _ = TimerEventDefinition.parse_iso_recurring_interval(text)
        return Recurrence(first, parts[2] if parts[2].upper().startswith("P") else parts[1], count)
    if text.upper().startswith("P"):
        return Recurrence(anchor + _span(text, anchor), None, 1)
    return Recurrence(TimerEventDefinition.parse_time_or_duration(text), None, 1)
