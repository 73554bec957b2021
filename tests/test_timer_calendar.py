"""Months and years in timers step by the centre's calendar, as Camunda 7's do.

A monthly duty (``R/2026-01-01T00:00:00/P1M``) must start on the 1st of every month, and a
``P1M`` deadline from 00:00 on the 1st must fall on the next 1st — in Beijing time, although the
engine keeps times in UTC (00:00 on the 1st in Beijing is 16:00 UTC on the last day before).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine import clock
from engine.compat.timers import recurrence

DEPLOYED = datetime(2026, 12, 3, tzinfo=timezone.utc)


def local(moment: datetime) -> str:
    return moment.astimezone(clock.local_tz()).strftime("%Y-%m-%d %H:%M")


def test_a_monthly_cycle_falls_on_the_first_of_every_month():
    plan = recurrence("R/2026-01-01T00:00:00/P1M", DEPLOYED)
    first, remaining = plan.next_from(DEPLOYED)
    assert (local(first), remaining) == ("2027-01-01 00:00", None)
    assert [local(plan.after(first, n)) for n in (1, 2, 3)] == ["2027-02-01 00:00", "2027-03-01 00:00",
                                                               "2027-04-01 00:00"]


def test_occurrences_missed_during_downtime_are_counted_by_the_calendar():
    plan = recurrence("R/2026-01-01T00:00:00/P1M", DEPLOYED)
    first, _ = plan.next_from(DEPLOYED)
    assert plan.due_by(first, first + timedelta(days=59)) == 2  # 1 Jan and 1 Feb passed, 1 Mar not yet
    assert plan.due_by(first, first + timedelta(days=60)) == 3


def test_fixed_periods_still_step_by_their_length():
    plan = recurrence("R5/2026-01-05T09:00:00/P1W", DEPLOYED)
    assert plan.next_from(datetime(2026, 1, 6, tzinfo=timezone.utc))[1] == 4
    assert plan.after(plan.first, 3) - plan.first == timedelta(weeks=3)


def test_a_one_month_duration_from_the_first_in_beijing_ends_on_the_next_first():
    start = datetime(2027, 2, 28, 16, 0, tzinfo=timezone.utc)  # 1 March 00:00 in Beijing
    with clock.frozen(start):
        span = TimerEventDefinition.get_timedelta_from_start(TimerEventDefinition.parse_iso_duration("P1M"))
    assert local(start + span) == "2027-04-01 00:00"
