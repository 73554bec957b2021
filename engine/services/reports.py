"""The SLA dashboard for supervisors, managers and the GM, read from the report facts.

Every figure is a *metric* (a condition on the facts) counted over the viewer's departments and
one period; the list behind a figure is the same condition listed, so a number and its cases can
never disagree. Periods are local (``BPMDESK_TIMEZONE``): today from midnight, this week from
Monday, this month from the 1st, each up to now.

Who sees what: the groups a person leads, through ``work_group.supervisor_groups``, followed down
(the GM leads the managers, who lead the supervisors, who lead the departments); the operator sees
every group. A step belongs to its department (its first candidate group); a case is seen if one
of its steps is.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import Forbidden, InvalidInput
from engine.reports.facts import CASES, DUE_DATE, SLAS, STEPS, rebuild
from engine.services.access import Actor
from engine.store import Database, DefinitionVersion, Instance, WorkGroup

PERIODS = {"today": "今日", "week": "本周", "month": "本月"}
TREND_DAYS = 30
CASE_LIST = 500  # cases listed behind one number, newest first
STEP_METRICS = {"opened": "新开", "closed": "办结", "open": "当前待办", "overdue": "当前超时", "escalated": "升级"}
CASE_METRICS = {"cases_opened": "受理", "cases_closed": "办结", "cases_open": "在办"}
LEVEL_METRICS = {"met": "按时", "late": "超时完成", "missed": "超时未完成"}
DUE_DATE_NAME = "办理期限"


@dataclass(frozen=True)
class Filter:
    """Which figure: a metric over one period, optionally one procedure, department, step or limit."""

    metric: str
    period: str = "today"
    process_id: str | None = None
    department: str | None = None
    element_id: str | None = None
    limit_id: str | None = None


@dataclass(frozen=True)
class StepRow:
    process_id: str
    process_name: str
    department: str | None
    department_name: str
    opened: int = 0
    closed: int = 0
    open: int = 0
    overdue: int = 0
    escalated: int = 0
    median_minutes: float | None = None


@dataclass(frozen=True)
class HandlingRow:
    """How long one step of one department took, over the steps finished in the period."""

    process_id: str
    process_name: str
    element_id: str
    step_name: str
    department: str | None
    department_name: str
    closed: int
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class LevelRow:
    """One service level (a timer or dueDate of one step) of one department."""

    process_id: str
    process_name: str
    element_id: str
    step_name: str
    limit_id: str
    limit_name: str
    department: str | None
    department_name: str
    met: int
    late: int
    missed: int
    median_late_minutes: float | None

    @property
    def due(self) -> int:
        return self.met + self.late + self.missed

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.due, 1) if self.due else None


@dataclass(frozen=True)
class CaseRow:
    process_id: str
    process_name: str
    cases_opened: int
    cases_closed: int
    cases_open: int


@dataclass(frozen=True)
class Day:
    day: datetime  # local midnight
    cases_opened: int
    levels_due: int
    levels_met: int

    @property
    def percent(self) -> float | None:
        return round(100 * self.levels_met / self.levels_due, 1) if self.levels_due else None


@dataclass(frozen=True)
class Dashboard:
    period: str
    start: datetime
    end: datetime
    departments: list[tuple[str, str]]  # (group, name) the viewer sees
    cases: list[CaseRow]
    steps: list[StepRow]
    handling: list[HandlingRow]
    levels: list[LevelRow]
    trend: list[Day]


@dataclass(frozen=True)
class ListedCase:
    instance_id: int
    process_name: str
    step_name: str | None
    department_name: str
    customer_name: str | None
    room: str | None
    opened_at: datetime
    due_at: datetime | None
    finished_at: datetime | None
    finished_by: str | None
    acted_by: str | None = None


@dataclass(frozen=True)
class Listing:
    filter: Filter
    title: str
    start: datetime
    end: datetime
    items: list[ListedCase]
    more: bool = False


@dataclass
class Names:
    processes: dict[str, str]
    definitions: dict[int, str]  # definition id → process id
    groups: dict[str, str]

    def process(self, process_id: str) -> str:
        return self.processes.get(process_id) or process_id

    def group(self, name: str | None) -> str:
        return self.groups.get(name, name) if name else "（未指定）"


def names_of(session: Session) -> Names:
    processes: dict[str, str] = {}
    definitions: dict[int, str] = {}
    for row in session.execute(select(DefinitionVersion.id, DefinitionVersion.process_id, DefinitionVersion.name)
                               .order_by(DefinitionVersion.version)):
        definitions[row.id] = row.process_id
        processes[row.process_id] = row.name or row.process_id
    groups = {name: label for name, label in session.execute(select(WorkGroup.name, WorkGroup.display_name))}
    return Names(processes, definitions, groups)


def led_groups(session: Session, actor: Actor) -> frozenset[str] | None:
    """The groups ``actor`` leads, followed down the supervisor groups; None: every group."""
    if actor.operator:
        return None
    supervisors = {name: set(sups or ()) for name, sups in session.execute(
        select(WorkGroup.name, WorkGroup.supervisor_groups))}
    leading, led = set(actor.groups), set()
    while True:
        more = {name for name, sups in supervisors.items() if sups & leading} - led
        if not more:
            return frozenset(led)
        led |= more
        leading |= more


def viewer_scope(session: Session, actor: Actor) -> frozenset[str] | None:
    groups = led_groups(session, actor)
    if groups is not None and not groups:
        raise Forbidden("报表只对主管、经理和总经理开放：您不是任何组的主管。")
    return groups


def period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    """(start, now) of a period, its start at local midnight."""
    if period not in PERIODS:
        raise InvalidInput(f"没有「{period}」这个时段，可选：{'、'.join(PERIODS)}。")
    local = now.astimezone(clock.local_tz())
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start = {"today": day, "week": day - timedelta(days=day.weekday()), "month": day.replace(day=1)}[period]
    return start, now


def in_scope(column: Any, scope: frozenset[str] | None) -> Any:
    return True if scope is None else column.in_(sorted(scope))


def _definitions(names: Names, process_id: str | None) -> list[int] | None:
    return None if process_id is None else [d for d, p in names.definitions.items() if p == process_id]


def _step_condition(f: Filter, start: datetime, end: datetime) -> Any:
    """The condition on ``step_fact`` a step metric counts."""
    between = {"opened": STEPS.c.opened_at, "closed": STEPS.c.finished_at, "escalated": STEPS.c.escalated_at}
    if f.metric == "open":
        return STEPS.c.outcome.is_(None)
    if f.metric == "overdue":
        return and_(STEPS.c.outcome.is_(None), STEPS.c.due_at < end)
    column = between[f.metric]
    condition = and_(column >= start, column < end)
    return and_(condition, STEPS.c.outcome == "completed") if f.metric == "closed" else condition


def _level_condition(metric: str, end: datetime) -> Any:
    """A service level due in the period was met (finished by its due time), finished late, or
    missed (still open, or withdrawn after its due time); one withdrawn before it fell due counts
    in none of them."""
    finished, due = STEPS.c.finished_at, SLAS.c.due_at
    done = STEPS.c.outcome == "completed"
    return {
        "met": and_(done, finished <= due),
        "late": and_(done, finished > due),
        "missed": or_(STEPS.c.outcome.is_(None), and_(STEPS.c.outcome == "cancelled", finished > due)),
    }[metric]


def _step_filters(f: Filter, names: Names, scope: frozenset[str] | None) -> list[Any]:
    conditions = [in_scope(STEPS.c.department, scope)]
    definitions = _definitions(names, f.process_id)
    if definitions is not None:
        conditions.append(STEPS.c.definition_id.in_(definitions))
    if f.department is not None:
        conditions.append(STEPS.c.department == f.department)
    if f.element_id is not None:
        conditions.append(STEPS.c.element_id == f.element_id)
    return conditions


def dashboard(db: Database, actor: Actor, period: str = "today") -> Dashboard:
    """The viewer's figures for one period, per procedure and department, with the trend of the
    last :data:`TREND_DAYS` days."""
    now = clock.now()
    start, end = period_bounds(period, now)
    with db.unit_of_work(read_only=True) as session:
        scope = viewer_scope(session, actor)
        names = names_of(session)
        departments = sorted((g, names.group(g)) for g in (scope if scope is not None else names.groups))
        durations = _durations(session, names, scope, start, end)
        return Dashboard(period, start, end, departments, _case_rows(session, names, scope, start, end),
                         _step_rows(session, names, scope, start, end, durations), _handling_rows(names, durations),
                         level_rows(session, names, scope, start, end), _trend(session, scope, end))


def _grouped(session: Session, condition: Any, scope: frozenset[str] | None) -> dict[tuple[int, str | None], int]:
    query = (select(STEPS.c.definition_id, STEPS.c.department, func.count())
             .where(condition, in_scope(STEPS.c.department, scope))
             .group_by(STEPS.c.definition_id, STEPS.c.department))
    return {(d, g): n for d, g, n in session.execute(query)}


#: (process, element, step name, department) → minutes each finished step of it took
Durations = dict[tuple[str, str, str, str | None], list[float]]


def _durations(session: Session, names: Names, scope: frozenset[str] | None, start: datetime,
               end: datetime) -> Durations:
    durations: Durations = defaultdict(list)
    closed = _step_condition(Filter("closed"), start, end)
    for row in session.execute(select(STEPS.c.definition_id, STEPS.c.element_id, STEPS.c.name, STEPS.c.department,
                                      STEPS.c.opened_at, STEPS.c.finished_at)
                               .where(closed, in_scope(STEPS.c.department, scope))):
        key = (names.definitions.get(row.definition_id, "?"), row.element_id, row.name or row.element_id,
               row.department)
        durations[key].append((row.finished_at - row.opened_at).total_seconds() / 60)
    return durations


def _step_rows(session: Session, names: Names, scope: frozenset[str] | None, start: datetime,
               end: datetime, durations: Durations) -> list[StepRow]:
    figures: dict[tuple[str, str | None], dict[str, Any]] = defaultdict(dict)
    for metric in STEP_METRICS:
        counts = _grouped(session, _step_condition(Filter(metric), start, end), scope)
        for (definition, group), n in counts.items():
            key = (names.definitions.get(definition, "?"), group)
            figures[key][metric] = figures[key].get(metric, 0) + n
    taken: dict[tuple[str, str | None], list[float]] = defaultdict(list)
    for (process, _, _, group), minutes in durations.items():
        taken[(process, group)].extend(minutes)
    rows = [StepRow(process, names.process(process), group, names.group(group), **values,
                    median_minutes=_median(taken.get((process, group))))
            for (process, group), values in figures.items()]
    return sorted(rows, key=lambda r: (r.process_name, r.department_name))


def _handling_rows(names: Names, durations: Durations) -> list[HandlingRow]:
    rows = [HandlingRow(process, names.process(process), element, step, group, names.group(group), len(minutes),
                        _median(minutes), percentile(minutes, 0.9))
            for (process, element, step, group), minutes in durations.items()]
    return sorted(rows, key=lambda r: (r.process_name, r.step_name, r.department_name))


def _median(values: list[float] | None) -> float | None:
    return round(statistics.median(values), 1) if values else None


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (p90: ``share`` 0.9) of some durations."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)], 1)


def level_rows(session: Session, names: Names, scope: frozenset[str] | None, start: datetime,
                end: datetime) -> list[LevelRow]:
    query = (select(STEPS.c.definition_id, STEPS.c.element_id, STEPS.c.name.label("step"), STEPS.c.department,
                    SLAS.c.limit_id, SLAS.c.name.label("limit"), SLAS.c.due_at, STEPS.c.finished_at,
                    STEPS.c.outcome)
             .join(STEPS, STEPS.c.task_id == SLAS.c.task_id)
             .where(SLAS.c.due_at >= start, SLAS.c.due_at < end, in_scope(STEPS.c.department, scope)))
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in session.execute(query):
        process = names.definitions.get(row.definition_id, "?")
        key = (process, row.element_id, row.limit_id, row.department)
        entry = found.setdefault(key, {"step": row.step, "limit": row.limit, "met": 0, "late": 0, "missed": 0,
                                       "lateness": []})
        verdict = level_verdict(row.outcome, row.finished_at, row.due_at)
        if verdict is not None:
            entry[verdict] += 1
        if verdict == "late":
            entry["lateness"].append((row.finished_at - row.due_at).total_seconds() / 60)
    rows = [LevelRow(process, names.process(process), element, entry["step"] or element, limit,
                     entry["limit"] or (DUE_DATE_NAME if limit == DUE_DATE else limit), group, names.group(group),
                     entry["met"], entry["late"], entry["missed"], _median(entry["lateness"]))
            for (process, element, limit, group), entry in found.items()]
    return sorted(rows, key=lambda r: (r.process_name, r.step_name, r.limit_name, r.department_name))


def level_verdict(outcome: str | None, finished: datetime | None, due: datetime) -> str | None:
    """met / late / missed of one service level that has fell due (see :func:`_level_condition`)."""
    if outcome == "completed":
        return "met" if finished <= due else "late"
    if outcome is None or finished > due:
        return "missed"
    return None


def seen_case(scope: frozenset[str] | None) -> Any:
    """A case the viewer sees: one of its steps is in their departments."""
    if scope is None:
        return True
    return exists().where(STEPS.c.instance_id == CASES.c.instance_id, STEPS.c.department.in_(sorted(scope)))


def _case_condition(metric: str, start: datetime, end: datetime) -> Any:
    return {
        "cases_opened": and_(CASES.c.started_at >= start, CASES.c.started_at < end),
        "cases_closed": and_(CASES.c.outcome == "completed", CASES.c.ended_at >= start, CASES.c.ended_at < end),
        "cases_open": CASES.c.outcome.is_(None),
    }[metric]


def _case_rows(session: Session, names: Names, scope: frozenset[str] | None, start: datetime,
               end: datetime) -> list[CaseRow]:
    figures: dict[str, dict[str, int]] = defaultdict(dict)
    for metric in CASE_METRICS:
        query = (select(CASES.c.process_id, func.count()).where(_case_condition(metric, start, end), seen_case(scope))
                 .group_by(CASES.c.process_id))
        for process, n in session.execute(query):
            figures[process][metric] = n
    rows = [CaseRow(process, names.process(process), values.get("cases_opened", 0), values.get("cases_closed", 0),
                    values.get("cases_open", 0)) for process, values in figures.items()]
    return sorted(rows, key=lambda r: r.process_name)


def _trend(session: Session, scope: frozenset[str] | None, now: datetime) -> list[Day]:
    """Cases opened, and service levels due and met, on each of the last :data:`TREND_DAYS` days."""
    today, _ = period_bounds("today", now)
    days = [today - timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    first = days[0]

    def day_of(moment: datetime) -> datetime:
        return moment.astimezone(clock.local_tz()).replace(hour=0, minute=0, second=0, microsecond=0)

    opened: dict[datetime, int] = defaultdict(int)
    for (started,) in session.execute(select(CASES.c.started_at).where(CASES.c.started_at >= first,
                                                                       seen_case(scope))):
        opened[day_of(started)] += 1
    due: dict[datetime, int] = defaultdict(int)
    met: dict[datetime, int] = defaultdict(int)
    for row in session.execute(select(SLAS.c.due_at, STEPS.c.outcome, STEPS.c.finished_at)
                               .join(STEPS, STEPS.c.task_id == SLAS.c.task_id)
                               .where(SLAS.c.due_at >= first, SLAS.c.due_at < now,
                                      in_scope(STEPS.c.department, scope))):
        verdict = level_verdict(row.outcome, row.finished_at, row.due_at)
        if verdict is not None:
            due[day_of(row.due_at)] += 1
            met[day_of(row.due_at)] += verdict == "met"
    return [Day(day, opened.get(day, 0), due.get(day, 0), met.get(day, 0)) for day in days]


def listing(db: Database, actor: Actor, f: Filter) -> Listing:
    """The cases behind one figure of the dashboard (the same condition, listed)."""
    now = clock.now()
    start, end = period_bounds(f.period, now)
    with db.unit_of_work(read_only=True) as session:
        scope = viewer_scope(session, actor)
        if f.department is not None and scope is not None and f.department not in scope:
            raise Forbidden("您不是该组的主管，不能查看它的案件。")
        names = names_of(session)
        if f.metric in CASE_METRICS:
            items = _listed_cases(session, names, scope, f, start, end)
        elif f.metric in STEP_METRICS:
            items = _listed_steps(session, names, scope, f, _step_condition(f, start, end))
        elif f.metric in LEVEL_METRICS:
            items = _listed_levels(session, names, scope, f, start, end)
        else:
            raise InvalidInput(f"没有「{f.metric}」这项统计。")
    return Listing(f, _title(f, names), start, end, items[:CASE_LIST], more=len(items) > CASE_LIST)


def _title(f: Filter, names: Names) -> str:
    label = {**CASE_METRICS, **STEP_METRICS, **LEVEL_METRICS}[f.metric]
    parts = [PERIODS[f.period] if f.metric not in ("open", "overdue", "cases_open") else "当前"]
    if f.process_id:
        parts.append(names.process(f.process_id))
    if f.department:
        parts.append(names.group(f.department))
    return " · ".join(parts + [label])


_LISTED = (STEPS.c.instance_id, STEPS.c.definition_id, STEPS.c.name, STEPS.c.department, STEPS.c.opened_at,
           STEPS.c.due_at, STEPS.c.finished_at, STEPS.c.finished_by, STEPS.c.acted_by,
           Instance.customer_name, Instance.room)


def _item(row: Any, names: Names, due_at: datetime | None = None) -> ListedCase:
    return ListedCase(row.instance_id, names.process(names.definitions.get(row.definition_id, "?")), row.name,
                      names.group(row.department), row.customer_name, row.room, row.opened_at,
                      due_at or row.due_at, row.finished_at, row.finished_by, row.acted_by)


def _listed_steps(session: Session, names: Names, scope: frozenset[str] | None, f: Filter,
                  condition: Any) -> list[ListedCase]:
    query = (select(*_LISTED).join(Instance, Instance.id == STEPS.c.instance_id)
             .where(condition, *_step_filters(f, names, scope))
             .order_by(STEPS.c.opened_at.desc(), STEPS.c.task_id).limit(CASE_LIST + 1))
    return [_item(row, names) for row in session.execute(query)]


def _listed_levels(session: Session, names: Names, scope: frozenset[str] | None, f: Filter, start: datetime,
                   end: datetime) -> list[ListedCase]:
    conditions = [SLAS.c.due_at >= start, SLAS.c.due_at < end, _level_condition(f.metric, end),
                  *_step_filters(f, names, scope)]
    if f.limit_id is not None:
        conditions.append(SLAS.c.limit_id == f.limit_id)
    query = (select(*_LISTED, SLAS.c.due_at.label("limit_due")).join(STEPS, STEPS.c.task_id == SLAS.c.task_id)
             .join(Instance, Instance.id == STEPS.c.instance_id).where(*conditions)
             .order_by(SLAS.c.due_at.desc(), STEPS.c.task_id).limit(CASE_LIST + 1))
    return [_item(row, names, row.limit_due) for row in session.execute(query)]


def _listed_cases(session: Session, names: Names, scope: frozenset[str] | None, f: Filter, start: datetime,
                  end: datetime) -> list[ListedCase]:
    conditions = [_case_condition(f.metric, start, end), seen_case(scope)]
    if f.process_id is not None:
        conditions.append(CASES.c.process_id == f.process_id)
    query = (select(CASES.c.instance_id, CASES.c.process_id, CASES.c.started_at, CASES.c.ended_at,
                    CASES.c.started_by, Instance.customer_name, Instance.room)
             .join(Instance, Instance.id == CASES.c.instance_id).where(*conditions)
             .order_by(CASES.c.started_at.desc(), CASES.c.instance_id).limit(CASE_LIST + 1))
    return [ListedCase(row.instance_id, names.process(row.process_id), None, "", row.customer_name, row.room,
                       row.started_at, None, row.ended_at, row.started_by) for row in session.execute(query)]


def rebuild_facts(db: Database, actor: Actor) -> int:
    """``bpmdesk report rebuild``: recompute the facts from the whole log; events folded."""
    if not actor.operator:
        raise Forbidden("只有运维人员可以重建报表数据。")
    with db.unit_of_work() as session:
        return rebuild(session)


def facts_snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every fact row, sorted: what ``report rebuild`` must reproduce exactly."""
    with db.unit_of_work(read_only=True) as session:
        return {table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
                for table in (CASES, STEPS, SLAS)}
