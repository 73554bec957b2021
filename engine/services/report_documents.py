"""The manuals' periodic reports, generated from the cases instead of typed by a clerk.

Each report is a function of a period that returns a :class:`Document` (sheets of rows, in
Chinese); ``engine/reports/formats.py`` writes it as XLSX, CSV or JSON. They read the report facts
and, for what the forms recorded (a complaint's kind, a satisfaction answer, a fee), the
``task_completed`` events of the cases concerned (by the instance index, never a scan of the log).

| name                  | manual                                   | period (default)            |
| --------------------- | ---------------------------------------- | --------------------------- |
| complaints-daily      | 002 四（三）4 每日跟进 (state at 18:00)  | a day (today)               |
| complaints-weekly     | 002 四（三）4 每周投诉情况上报经理       | Monday–Sunday (last week)   |
| satisfaction-weekly   | 000 第7篇 四 7 顾客满意度调查表周汇总    | Monday–Sunday (last week)   |
| monthly               | 002 三 月度统计                          | a calendar month (last one) |
| callbacks-daily       | 004 回访专员每日回访报表                 | a day (today)               |

Without a data source yet (no procedure records it): 003 第五篇's daily 质检表 (operator, reviewer,
errors, error rate) and its daily policy-processing statistics; 004's daily quality-anomaly report.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine import clock, runtime
from engine.errors import InvalidInput
from engine.reports.facts import CASES, SLAS, STEPS
from engine.reports.formats import Document, Sheet
from engine.services.access import Actor
from engine.services.reports import Names, in_scope, level_rows, level_verdict, names_of, seen_case, viewer_scope
from engine.store import Database, Event, Instance

COMPLAINTS = "complaint_handling"
#: The hour the daily complaint follow-up reads the day's state: the follow-up duty starts at 17:00
#: and is due an hour later (processes/complaint_daily_followup.bpmn). The manuals give no hour for
#: "before the end of work"; this is the centre's reading (docs/processes/periodic_duties.md).
FOLLOW_UP_HOUR = 18
CALL_BACK = "回访"  # a step whose name says 回访 and that chases nobody (not a 督办) is a call-back
#: Rating answers as the forms write them, best first (满意/基本满意/不满意, 好/一般/差)
RATING_SCALES = (("satisfied", "fair", "unsatisfied"), ("good", "fair", "poor"))
NO_SOURCE = {
    "quality-daily": "003 第五篇的每日质检表（经办人、复核人、差错数、差错率）",
    "policy-daily": "003 第五篇的每日保单处理统计",
    "anomaly-daily": "004 主管每日质量异常报告",
}


@dataclass(frozen=True)
class _Context:
    db: Database
    session: Session
    names: Names
    scope: frozenset[str] | None
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Report:
    title: str
    span: str  # day | week | month
    build: Callable[[_Context], tuple[list[Sheet], list[str]]]


def _local(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=clock.local_tz())


def default_period(span: str, now: datetime) -> tuple[date, date]:
    """(first day, last day) of a report's usual period: today, last week, last month."""
    today = now.astimezone(clock.local_tz()).date()
    if span == "day":
        return today, today
    if span == "week":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def generate(db: Database, actor: Actor, name: str, first: date | None = None, last: date | None = None) -> Document:
    """One report over the days ``first`` to ``last`` (local dates, both included)."""
    if name in NO_SOURCE:
        raise InvalidInput(f"报表 {name}（{NO_SOURCE[name]}）还没有数据来源：没有流程记录这些数据。")
    report = REPORTS.get(name)
    if report is None:
        raise InvalidInput(f"没有报表 {name}；可选：{', '.join(REPORTS)}。")
    first, last = _period(report.span, first, last)
    start, end = _local(first), _local(last + timedelta(days=1))
    with db.unit_of_work(read_only=True) as session:
        context = _Context(db, session, names_of(session), viewer_scope(session, actor), start, end)
        sheets, notes = report.build(context)
    title = f"{report.title}（{first}" + (f" 至 {last}）" if last != first else "）")
    return Document(name, title, start, end, sheets, notes)


def _period(span: str, first: date | None, last: date | None) -> tuple[date, date]:
    """The days a report covers: as given; from ``first``, one day, week or month; else the usual."""
    if first is None and last is None:
        return default_period(span, clock.now())
    if first is None:
        if span != "day":
            raise InvalidInput("请同时给出开始日期（--from）。")
        first = last
    if last is None:
        last = {"day": first, "week": first + timedelta(days=6)}.get(span) or _month_end(first)
    if last < first:
        raise InvalidInput(f"结束日期 {last} 早于开始日期 {first}。")
    return first, last


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _cases(c: _Context, process_id: str | None, start: datetime, end: datetime) -> list[Any]:
    """Cases started in [start, end) that the viewer sees, oldest first, with their customer."""
    conditions = [CASES.c.started_at >= start, CASES.c.started_at < end, seen_case(c.scope)]
    if process_id is not None:
        conditions.append(CASES.c.process_id == process_id)
    return list(c.session.execute(
        select(CASES, Instance.customer_name, Instance.room).join(Instance, Instance.id == CASES.c.instance_id)
        .where(*conditions).order_by(CASES.c.started_at, CASES.c.instance_id)))


def _chunks(ids: list[Any], size: int = 500) -> Iterable[list[Any]]:
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def _case_data(c: _Context, ids: list[int], until: datetime) -> dict[int, dict[str, Any]]:
    """What each case's start and completed forms recorded up to ``until``, later values winning."""
    data: dict[int, dict[str, Any]] = defaultdict(dict)
    for chunk in _chunks(ids):
        for row in c.session.execute(
                select(Event.instance_id, Event.payload).where(
                    Event.instance_id.in_(chunk), Event.type.in_(("instance_started", "task_completed")),
                    Event.at <= until).order_by(Event.instance_id, Event.seq)):
            data[row.instance_id].update(row.payload.get("data") or {})
    return data


def _steps(c: _Context, ids: list[int]) -> dict[int, list[Any]]:
    steps: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(ids):
        for row in c.session.execute(select(STEPS).where(STEPS.c.instance_id.in_(chunk)).order_by(STEPS.c.opened_at)):
            steps[row.instance_id].append(row)
    return steps


def _levels(c: _Context, ids: list[int]) -> dict[int, list[Any]]:
    levels: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(ids):
        for row in c.session.execute(
                select(STEPS.c.instance_id, STEPS.c.name, STEPS.c.outcome, STEPS.c.finished_at, SLAS.c.due_at,
                       SLAS.c.name.label("limit")).join(STEPS, STEPS.c.task_id == SLAS.c.task_id)
                .where(STEPS.c.instance_id.in_(chunk))):
            levels[row.instance_id].append(row)
    return levels


def _labels(c: _Context, process_id: str) -> runtime.FormLabels:
    """The newest deployed version's form labels of a process (what its fields and answers read as)."""
    definition = max((d for d, p in c.names.definitions.items() if p == process_id), default=None)
    if definition is None:
        return runtime.FormLabels({}, {})
    return runtime.form_labels(runtime.deployed(c.db, c.session, definition).specs)


def _answer(labels: runtime.FormLabels, name: str, value: Any) -> str:
    if value in (None, ""):
        return ""
    return labels.options.get(name, {}).get(str(value), str(value))


def _state_at(case: Any, steps: list[Any], at: datetime) -> tuple[str, list[str]]:
    """A case's state at a moment: ended (how), or in progress with the steps open then."""
    if case.ended_at is not None and case.ended_at <= at:
        return ("已办结" if case.outcome == "completed" else "已撤销"), []
    open_then = [s.name for s in steps if s.opened_at <= at and (s.finished_at is None or s.finished_at > at)]
    return "办理中", open_then


def _late_at(levels: list[Any], at: datetime) -> list[str]:
    """The service levels that had fallen due by ``at`` and were not met."""
    late = []
    for level in levels:
        if level.due_at <= at:
            verdict = level_verdict(level.outcome if level.finished_at is None or level.finished_at <= at else None,
                                    level.finished_at, level.due_at)
            if verdict in ("late", "missed"):
                late.append(f"{level.name}（{level.limit or '期限'}）")
    return late


def _complaints_daily(c: _Context) -> tuple[list[Sheet], list[str]]:
    cutoff = c.start + timedelta(hours=FOLLOW_UP_HOUR)
    cases = _cases(c, COMPLAINTS, c.start, min(c.end, cutoff))
    ids = [case.instance_id for case in cases]
    data, steps, levels, labels = _case_data(c, ids, cutoff), _steps(c, ids), _levels(c, ids), _labels(c, COMPLAINTS)
    rows = []
    for case in cases:
        recorded = data.get(case.instance_id, {})
        state, open_steps = _state_at(case, steps.get(case.instance_id, []), cutoff)
        escalated = sum(1 for s in steps.get(case.instance_id, []) if s.escalated_at and s.escalated_at <= cutoff)
        rows.append([case.instance_id, clock_text(case.started_at), case.customer_name or "", case.room or "",
                     _answer(labels, "complaint_kind", recorded.get("complaint_kind")),
                     _answer(labels, "complaint_severity", recorded.get("complaint_severity")),
                     _answer(labels, "validity", recorded.get("validity")),
                     c.names.group(recorded["responsible_dept"]) if recorded.get("responsible_dept") else "",
                     state, "、".join(open_steps), "、".join(_late_at(levels.get(case.instance_id, []), cutoff)),
                     escalated])
    columns = ["案件号", "受理时间", "投诉人", "房号", "投诉性质", "投诉级别", "是否有效", "责任部门",
               f"{FOLLOW_UP_HOUR}:00 状态", "未完成环节", "超时环节", "升级次数"]
    notes = [f"当日 0:00 至 {FOLLOW_UP_HOUR}:00 受理的投诉及其 {FOLLOW_UP_HOUR}:00 时的状态；"
             f"{FOLLOW_UP_HOUR}:00 是中心对“下班前”的设定（每日跟进任务 17:00 开始、1 小时内完成）。"]
    return [Sheet("投诉跟进", columns, rows)], notes


def _complaints_weekly(c: _Context) -> tuple[list[Sheet], list[str]]:
    cases = _cases(c, COMPLAINTS, c.start, c.end)
    ids = [case.instance_id for case in cases]
    data, steps, labels = _case_data(c, ids, c.end), _steps(c, ids), _labels(c, COMPLAINTS)
    count: Counter[str] = Counter()
    by_dept: dict[str, Counter[str]] = defaultdict(Counter)
    for case in cases:
        recorded = data.get(case.instance_id, {})
        state = _state_at(case, steps.get(case.instance_id, []), c.end)[0]
        escalated = any(s.escalated_at for s in steps.get(case.instance_id, []))
        count.update(["受理"] + [_answer(labels, f, recorded.get(f)) for f in
                                ("validity", "complaint_severity", "complaint_kind")] + [state]
                     + (["有升级的案件"] if escalated else []))
        if recorded.get("responsible_dept"):
            dept = by_dept[c.names.group(recorded["responsible_dept"])]
            dept.update(["件数", state] + (["有升级的案件"] if escalated else []))
    summary = [[key, count[key]] for key in ["受理", *_option_names(labels, "validity"),
                                              *_option_names(labels, "complaint_severity"),
                                              *_option_names(labels, "complaint_kind"), "已办结", "办理中", "已撤销",
                                              "有升级的案件"]]
    departments = [[name, n["件数"], n["已办结"], n["办理中"], n["已撤销"], n["有升级的案件"]]
                   for name, n in sorted(by_dept.items())]
    return [Sheet("汇总", ["项目", "件数"], summary),
            Sheet("各责任部门", ["责任部门", "件数", "已办结", "办理中", "已撤销", "有升级的案件"], departments),
            _levels_sheet(c, COMPLAINTS), _answers_sheet(c, COMPLAINTS)], \
        ["本周受理的投诉；状态为本周结束时（或生成时）的状态。服务时限按本周到期的时限统计。"]


def _option_names(labels: runtime.FormLabels, name: str) -> list[str]:
    return list(labels.options.get(name, {}).values())


def _levels_sheet(c: _Context, process_id: str | None) -> Sheet:
    rows = [[r.process_name, r.step_name, r.limit_name, r.department_name, r.due, r.met, r.late, r.missed,
             r.percent if r.percent is not None else ""]
            for r in level_rows(c.session, c.names, c.scope, c.start, min(c.end, clock.now()))
            if process_id is None or r.process_id == process_id]
    return Sheet("服务时限", ["流程", "环节", "时限", "部门", "到期", "按时", "超时完成", "超时未完成", "按时率(%)"], rows)


def _finished_steps(c: _Context, process_id: str | None) -> list[Any]:
    """Steps completed in the period (of one process, or all), with their case's process."""
    conditions = [STEPS.c.outcome == "completed", STEPS.c.finished_at >= c.start, STEPS.c.finished_at < c.end,
                  in_scope(STEPS.c.department, c.scope)]
    if process_id is not None:
        conditions.append(STEPS.c.definition_id.in_([d for d, p in c.names.definitions.items() if p == process_id]))
    return list(c.session.execute(select(STEPS).where(*conditions).order_by(STEPS.c.finished_at)))


def _submitted(c: _Context, steps: list[Any]) -> dict[str, dict[str, Any]]:
    """The form data each of these steps was completed with (task id → data)."""
    wanted = {s.task_id for s in steps}
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted({s.instance_id for s in steps})):
        for row in c.session.execute(select(Event.task_id, Event.payload).where(
                Event.instance_id.in_(chunk), Event.type == "task_completed")):
            if row.task_id in wanted:
                found[row.task_id] = row.payload.get("data") or {}
    return found


def _rating_fields(labels: runtime.FormLabels) -> dict[str, tuple[str, ...]]:
    """The form's rating fields: enum fields whose answers are one of the rating scales."""
    return {name: scale for name, options in labels.options.items() for scale in RATING_SCALES
            if set(options) == set(scale)}


def _answers_sheet(c: _Context, process_id: str | None) -> Sheet:
    """Every rating answered in the period: per procedure, step and question, how many of each."""
    steps = _finished_steps(c, process_id)
    submitted = _submitted(c, steps)
    counts: dict[tuple[str, str, str], Counter[int]] = defaultdict(Counter)
    for step in steps:
        process = c.names.definitions.get(step.definition_id, "?")
        labels = _labels(c, process)
        for name, scale in _rating_fields(labels).items():
            answer = submitted.get(step.task_id, {}).get(name)
            if answer in scale:
                counts[(c.names.process(process), step.name, labels.fields.get(name, name))][scale.index(answer)] += 1
    rows = [[process, step, question, n[0], n[1], n[2], sum(n.values()),
             round(100 * n[0] / sum(n.values()), 1)]
            for (process, step, question), n in sorted(counts.items())]
    return Sheet("满意度", ["流程", "环节", "项目", "满意（好）", "基本满意（一般）", "不满意（差）", "份数", "满意率(%)"], rows)


def _satisfaction_weekly(c: _Context) -> tuple[list[Sheet], list[str]]:
    return [_answers_sheet(c, None)], [
        "本周回访及调查中记录的满意度答案（表单中以 满意/基本满意/不满意 或 好/一般/差 作答的项目）。"]


def _monthly(c: _Context) -> tuple[list[Sheet], list[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for case in _cases(c, None, c.start, c.end):
        counts[case.process_id]["受理"] += 1
    for case in c.session.execute(select(CASES).where(CASES.c.ended_at >= c.start, CASES.c.ended_at < c.end,
                                                     seen_case(c.scope))):
        counts[case.process_id]["办结" if case.outcome == "completed" else "撤销"] += 1
    for case in c.session.execute(select(CASES.c.process_id).where(
            CASES.c.started_at < c.end, or_(CASES.c.ended_at.is_(None), CASES.c.ended_at >= c.end),
            seen_case(c.scope))):
        counts[case.process_id]["月末在办"] += 1
    rows = [[c.names.process(p), n["受理"], n["办结"], n["撤销"], n["月末在办"]]
            for p, n in sorted(counts.items(), key=lambda item: c.names.process(item[0]))]
    return [Sheet("各流程案件", ["流程", "受理", "办结", "撤销", "月末在办"], rows), _money_sheet(c)], [
        "入住、维修等即各流程的案件数；收费为本月办结的环节在表单中记录的金额（按环节和项目分列）。",
        "交房（交接）数没有流程记录，未列出。"]


def _money_sheet(c: _Context) -> Sheet:
    steps = _finished_steps(c, None)
    submitted = _submitted(c, steps)
    sums: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for step in steps:
        process = c.names.definitions.get(step.definition_id, "?")
        labels = _labels(c, process)
        for name, value in submitted.get(step.task_id, {}).items():
            if labels.types.get(name) == "money" and isinstance(value, (int, float)) and not isinstance(value, bool):
                sums[(c.names.process(process), step.name, labels.fields.get(name, name))].append(value)
    rows = [[process, step, item, len(values), round(sum(values), 2)]
            for (process, step, item), values in sorted(sums.items())]
    return Sheet("收费", ["流程", "环节", "项目", "笔数", "金额（元）"], rows)


def _callbacks_daily(c: _Context) -> tuple[list[Sheet], list[str]]:
    due_today = select(SLAS.c.task_id).where(SLAS.c.due_at >= c.start, SLAS.c.due_at < c.end)
    steps = list(c.session.execute(
        select(STEPS, Instance.customer_name).join(Instance, Instance.id == STEPS.c.instance_id).where(
            STEPS.c.name.contains(CALL_BACK), STEPS.c.escalation_of.is_(None), in_scope(STEPS.c.department, c.scope),
            or_(and_(STEPS.c.finished_at >= c.start, STEPS.c.finished_at < c.end), STEPS.c.task_id.in_(due_today)))
        .order_by(STEPS.c.opened_at)))
    limits = {row.task_id: row.due_at for row in c.session.execute(
        select(SLAS.c.task_id, SLAS.c.due_at).where(SLAS.c.task_id.in_([s.task_id for s in steps])))}
    rows, tally = [], Counter()
    for step in steps:
        due = limits.get(step.task_id)
        done = step.outcome == "completed" and step.finished_at < c.end
        verdict = "" if due is None else "按时" if done and step.finished_at <= due else "超时" if done else "未回访"
        if due is not None and c.start <= due < c.end:
            tally.update(["应回访"] + ([verdict] if verdict else []))
        rows.append([step.instance_id, c.names.process(c.names.definitions.get(step.definition_id, "?")), step.name,
                     step.customer_name or "", clock_text(step.opened_at), clock_text(due),
                     clock_text(step.finished_at if done else None), step.finished_by if done else "", verdict,
                     _answer(_labels(c, c.names.definitions.get(step.definition_id, "?")), "satisfaction",
                             step.satisfaction)])
    expected = tally["应回访"]
    summary = [["应回访（当日到期）", expected], ["按时回访", tally["按时"]], ["超时回访", tally["超时"]],
               ["未回访", tally["未回访"]],
               ["按时回访率(%)", round(100 * tally["按时"] / expected, 1) if expected else ""]]
    columns = ["案件号", "流程", "环节", "客户", "开始", "时限", "回访时间", "回访人", "是否按时", "满意度"]
    return [Sheet("汇总", ["项目", "数"], summary), Sheet("回访明细", columns, rows)], [
        "回访：名称含“回访”的环节（督办除外）；当日到期或当日完成的都列出。"]


def clock_text(value: datetime | None) -> str:
    return value.astimezone(clock.local_tz()).strftime("%Y-%m-%d %H:%M") if value else ""


REPORTS: dict[str, Report] = {
    "complaints-daily": Report("每日投诉跟进表", "day", _complaints_daily),
    "complaints-weekly": Report("投诉情况周报", "week", _complaints_weekly),
    "satisfaction-weekly": Report("顾客满意度调查周汇总", "week", _satisfaction_weekly),
    "monthly": Report("月度统计", "month", _monthly),
    "callbacks-daily": Report("每日回访报表", "day", _callbacks_daily),
}
