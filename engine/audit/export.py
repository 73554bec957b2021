"""Event logs for process-mining tools: XES (IEEE 1849-2016) and CSV with the same columns.

One trace per case (its id is the trace's ``concept:name``); one event per lifecycle step of an
activity: a task scheduled, assigned, reassigned, completed or aborted, a timer that fired, an
escalation, the case started, ended, cancelled, stopped by an incident and resumed. Timers that
never fired are not events of the process and are left out. A check's completion (four eyes)
carries the steps it checked and who did them (``bpmdesk:checked``, ``bpmdesk:doers``). Cases are chosen by process and by the time they started, so every trace is whole.
Rows are streamed, so an export of any size needs little memory.
"""
from __future__ import annotations

import bisect
import csv
import io
import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Iterator

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.history import SYSTEM_CHAIN
from engine.store import DefinitionVersion, Event, Instance

FORMATS = ("xes", "csv")
BATCH = 2000

# event type → XES standard lifecycle transition
LIFECYCLE = {
    "instance_started": "complete",
    "task_ready": "schedule",
    "task_claimed": "assign",
    "task_unclaimed": "reassign",
    "task_delegated": "reassign",
    "task_assigned": "reassign",
    "task_completed": "complete",
    "task_cancelled": "ate_abort",
    "escalated": "complete",
    "timer_fired": "complete",
    "instance_completed": "complete",
    "instance_cancelled": "pi_abort",
    "incident": "suspend",
    "incident_resolved": "resume",
    "comment_added": "unknown",  # not a step of the activity: a note beside it
    "attachment_added": "unknown",
}
CASE_ACTIVITIES = {"instance_started": "发起案件", "instance_completed": "案件办结",
                   "instance_cancelled": "案件撤销", "incident": "案件运行出错",
                   "incident_resolved": "案件出错已处理", "comment_added": "添加备注", "attachment_added": "添加附件"}
ESCALATION = "超时升级："  # + the task's name: an activity of its own, so a model shows the rate
COLUMNS = ("case:concept:name", "concept:name", "time:timestamp", "lifecycle:transition",
           "org:resource", "org:group", "case:process", "case:version", "bpmn:element", "bpmdesk:event",
           "bpmdesk:seq", "bpmdesk:reference", "bpmdesk:checked", "bpmdesk:doers")
#: A check's completion (four eyes) names the steps it checked and, at the same places, their doers;
#: its checker is the event's org:resource. Several entries are separated by ";".
FOUR_EYES_SEPARATOR = ";"
EXTENSIONS = [("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
              ("Time", "time", "http://www.xes-standard.org/time.xesext"),
              ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
              ("Organizational", "org", "http://www.xes-standard.org/org.xesext")]


@dataclass(frozen=True)
class LogFilter:
    process_id: str | None = None
    started_from: datetime | None = None  # inclusive
    started_to: datetime | None = None  # exclusive


@dataclass(frozen=True)
class ExportCount:
    cases: int
    events: int


class Memberships:
    """Which groups each person was in at any moment, from the user events of the system chain."""

    def __init__(self, session: Session):
        self._history: dict[str, tuple[list[datetime], list[list[str]]]] = {}
        query = (select(Event.at, Event.payload).where(
            Event.chain == SYSTEM_CHAIN, Event.type.in_(("user_added", "user_groups_changed")))
            .order_by(Event.seq))
        for at, payload in session.execute(query):
            times, groups = self._history.setdefault(payload["user"], ([], []))
            times.append(at)
            groups.append(list(payload.get("groups") or payload.get("after") or []))

    def at(self, user: str, moment: datetime) -> list[str]:
        times, groups = self._history.get(user, ([], []))
        index = bisect.bisect_right(times, moment)
        return groups[index - 1] if index else []


def _rows(session: Session, flt: LogFilter) -> Iterator[dict[str, str]]:
    """One dict per exported event, cases in id order and events in their recorded order."""
    members = Memberships(session)
    query = (select(Event, Instance.process_id, DefinitionVersion.version)
             .join(Instance, Instance.id == Event.instance_id)
             .join(DefinitionVersion, DefinitionVersion.id == Instance.definition_id)
             .where(Event.type.in_(LIFECYCLE))
             .order_by(Event.instance_id, Event.seq).execution_options(yield_per=BATCH))
    if flt.process_id:
        query = query.where(Instance.process_id == flt.process_id)
    if flt.started_from is not None:
        query = query.where(Instance.started_at >= flt.started_from)
    if flt.started_to is not None:
        query = query.where(Instance.started_at < flt.started_to)
    task_groups: dict[str, list[str]] = {}
    for event, process_id, version in session.execute(query):
        if event.type == "task_ready":
            task_groups[event.task_id] = list(event.payload.get("candidate_groups") or [])
        groups = task_groups.get(event.task_id) if event.task_id else None
        yield {
            "case:concept:name": str(event.instance_id),
            "concept:name": _activity(event),
            "time:timestamp": event.at.astimezone(clock.local_tz()).isoformat(timespec="milliseconds"),
            "lifecycle:transition": LIFECYCLE[event.type],
            "org:resource": event.actor,
            "org:group": ",".join(groups if groups is not None else members.at(event.actor, event.at)),
            "case:process": process_id,
            "case:version": str(version),
            "bpmn:element": event.element_id or "",
            "bpmdesk:event": event.type,
            "bpmdesk:seq": str(event.seq),
            "bpmdesk:reference": _reference(event),
            **_four_eyes(event),
        }


def _reference(event: Event) -> str:
    """An attachment by reference (id, file name, SHA-256 of its bytes), never its content."""
    payload = event.payload or {}
    if event.type != "attachment_added":
        return ""
    return f"attachment:{payload.get('attachment')} sha256:{payload.get('sha256')} {payload.get('file_name', '')}"


def _four_eyes(event: Event) -> dict[str, str]:
    """The checked steps and their doers of a check's completion (empty for any other event)."""
    checked = ((event.payload or {}).get("checked") or []) if event.type == "task_completed" else []
    return {"bpmdesk:checked": FOUR_EYES_SEPARATOR.join(c["element_id"] for c in checked),
            "bpmdesk:doers": FOUR_EYES_SEPARATOR.join(c["person"] for c in checked)}


def _activity(event: Event) -> str:
    if event.type in CASE_ACTIVITIES:
        return CASE_ACTIVITIES[event.type]
    name = (event.payload or {}).get("name") or event.element_id or event.type
    return ESCALATION + name if event.type == "escalated" else name


def export_log(session: Session, fmt: str, out: BinaryIO, flt: LogFilter = LogFilter()) -> ExportCount:
    """Write the log to ``out``; how many cases and events it holds."""
    writer = {"xes": _write_xes, "csv": _write_csv}[fmt]
    return writer(_rows(session, flt), out)


def _write_csv(rows: Iterator[dict[str, str]], out: BinaryIO) -> ExportCount:
    # the byte-order mark lets spreadsheet programs read the Chinese names as UTF-8
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    cases: set[str] = set()
    events = 0
    for row in rows:
        writer.writerow({key: spreadsheet_safe(value) for key, value in row.items()})
        cases.add(row["case:concept:name"])
        events += 1
    text.detach()
    return ExportCount(len(cases), events)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula (a task name
    ``=HYPERLINK(…)`` from a diagram) gets a ``'`` in front, as OWASP advises for CSV."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _write_xes(rows: Iterator[dict[str, str]], out: BinaryIO) -> ExportCount:
    cases = events = 0
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("log", {"xes.version": "1849-2016", "xes.features": ""}):
            _write_header(xf)
            for case_id, case_rows in itertools.groupby(rows, key=lambda row: row["case:concept:name"]):
                with xf.element("trace"):
                    first = next(case_rows)
                    for key, value in (("concept:name", case_id), ("process", first["case:process"]),
                                       ("version", first["case:version"])):
                        xf.write(etree.Element("string", key=key, value=value))
                    for row in itertools.chain([first], case_rows):
                        xf.write(_xes_event(row))
                        events += 1
                cases += 1
    return ExportCount(cases, events)


def _write_header(xf: Any) -> None:
    for name, prefix, uri in EXTENSIONS:
        xf.write(etree.Element("extension", name=name, prefix=prefix, uri=uri))
    for scope, keys in (("trace", ["concept:name"]),
                        ("event", ["concept:name", "time:timestamp", "lifecycle:transition"])):
        scope_el = etree.Element("global", scope=scope)
        for key in keys:
            tag, value = ("date", "1970-01-01T00:00:00.000+00:00") if key == "time:timestamp" else (
                "string", "UNKNOWN")
            etree.SubElement(scope_el, tag, key=key, value=value)
        xf.write(scope_el)
    xf.write(etree.Element("classifier", name="Activity", keys="concept:name"))
    xf.write(etree.Element("classifier", name="Activity and lifecycle",
                           keys="concept:name lifecycle:transition"))


def _xes_event(row: dict[str, str]) -> etree._Element:
    event = etree.Element("event")
    for key in ("concept:name", "lifecycle:transition", "org:resource", "org:group", "bpmn:element",
                "bpmdesk:event", "bpmdesk:reference", "bpmdesk:checked", "bpmdesk:doers"):
        if row[key]:
            etree.SubElement(event, "string", key=key, value=row[key])
    etree.SubElement(event, "date", key="time:timestamp", value=row["time:timestamp"])
    etree.SubElement(event, "int", key="bpmdesk:seq", value=row["bpmdesk:seq"])
    return event
