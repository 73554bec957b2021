"""How long between two moments: the measure behind "within 48 hours" and "within 7 days" rules.

Inputs are what task data holds: ISO text from forms (``2026-01-05``, ``2026-01-05 14:30``,
``2026-01-05T14:30:00+08:00``) or the ``now()``/``now_iso()`` of a script. Times without an offset
are in the centre's zone (``engine.clock.local_tz``).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine import clock
from tasks.registry import business_function

Moment = str | date


def moment(value: Moment, what: str) -> datetime:
    """An aware datetime for ISO text, a date (its midnight) or a datetime (naive = local)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=clock.local_tz())
    if isinstance(value, date):
        return datetime.combine(value, time(), clock.local_tz())
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing: expected an ISO date or time such as 2026-01-05 14:30")
    try:
        return clock.parse_time(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an ISO date or time such as 2026-01-05 14:30") from None


def local_date(value: Moment, what: str) -> date:
    """The calendar day of ``value`` in the centre's zone."""
    return moment(value, what).astimezone(clock.local_tz()).date()


@business_function
def deadline(start: Moment, duration: str) -> str:
    """The moment a limit of ``duration`` (ISO 8601 as a timer writes it: ``PT15M``, ``PT1H``, ``P1D``)
    counted from ``start`` ends, as a timer's timeDate takes it.

    Why: 「对任何软性投诉，应在15分钟之内做出反应」 counts from the complaint's receipt, not from when a
    later task opens. The receipt's script task computes ``soft_reaction_due = deadline(received_at,
    "PT15M")`` and the task's boundary timer waits for ``${soft_reaction_due}`` (Camunda 7 timers take
    no function calls). SpiffWorkflow's own duration parser reads the limit.
    """
    begins = moment(start, "start")
    try:
        parsed = TimerEventDefinition.parse_iso_duration(str(duration))
    except Exception as error:  # SpiffWorkflow raises a bare Exception for a malformed duration
        raise ValueError(f"not an ISO 8601 duration (e.g. PT15M): {duration!r}") from error
    return (begins + TimerEventDefinition.get_timedelta_from_start(parsed, begins)).isoformat()


@business_function
def hours_between(start: Moment, end: Moment) -> float:
    """Hours from ``start`` to ``end`` (negative when ``end`` is earlier), e.g. since an order."""
    return (moment(end, "end") - moment(start, "start")).total_seconds() / 3600


@business_function
def days_between(start: Moment, end: Moment) -> int:
    """Calendar days from ``start``'s date to ``end``'s date in the local zone.

    Bought on the 1st, asked on the 8th: 7 days, still "within 7 days"; on the 9th: 8. The time of
    day does not matter, as on a receipt.
    """
    return (local_date(end, "end") - local_date(start, "start")).days


@business_function
def end_of_yearly_day(now: Moment, month_day: str) -> str:
    """Midnight (centre's zone) ending the next yearly cut-off day ``month_day`` ("11-30"): this
    year's, or next year's once this year's has passed.

    Why: "每年11月30日前为开发票的截止日" — an invoice asked for on 2 March is late after the end of
    30 November that year; one asked for on 5 December counts towards next year's cut-off. The day
    itself is the analyst's, in a DMN table (invoice_cutoff.dmn), not here.
    """
    try:
        month, day = (int(part) for part in str(month_day).split("-"))
        today = local_date(now, "now")
        cutoff = date(today.year, month, day)
    except ValueError:
        raise ValueError(f"cut-off day {month_day!r} is not a month and day such as 11-30") from None
    if cutoff < today:
        cutoff = cutoff.replace(year=today.year + 1)
    return datetime.combine(cutoff + timedelta(days=1), time(), clock.local_tz()).isoformat()


@business_function
def start_of_day_after(start: Moment, days: int) -> str:
    """Midnight (centre's zone) beginning the ``days``-th calendar day after ``start``'s date.

    Why: "答谢信寄出的第7天" counts calendar days from the date written on the letter, not hours
    from when it was recorded; a letter dated 2026-03-04 makes the 7th day 2026-03-11, which begins
    at ``2026-03-11T00:00:00+08:00``. A timer's timeDate takes the result as it is.
    """
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValueError(f"days must be a whole number, not {days!r}")
    day = local_date(start, "start") + timedelta(days=days)
    return datetime.combine(day, time(), clock.local_tz()).isoformat()
