"""One instance in memory: specs, (de)serialisation, and what the database derives from the state.

SpiffWorkflow keeps the spec inside every serialised workflow; here the spec is parsed once per
deployed version (cached in the Database) and the stored state holds only the runtime part.
"""
from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
import dataclasses
import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable
from uuid import UUID

from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.migration.version_migration import MIGRATIONS
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimerEventDefinition,
)
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock, compat, forms, listeners, scope
from engine.catching import DeskWorkflow
from engine.errors import ProcessError
from engine.sandbox import FACTS, facts_of, make_script_engine
from engine.store import Database, DefinitionVersion


@functools.cache
def script_engine() -> Any:
    """The sandboxed script engine with the centre's business functions, made on first use (the
    functions' package is a setting: engine.sandbox.business_functions)."""
    return make_script_engine()


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serialises a workflow without its spec; restores it with the cached spec objects."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        workflow = DeskWorkflow(dct.pop("spec"), dct.pop("subprocess_specs"), deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_REGISTRY = BpmnWorkflowSerializer.configure({**DEFAULT_CONFIG, BpmnWorkflow: _StateOnlyWorkflowConverter,
                                              DeskWorkflow: _StateOnlyWorkflowConverter})
STATE_VERSION = BpmnWorkflowSerializer().VERSION
#: SpiffWorkflow's converters, which its SpecDiff compares task specs with (engine.actions.migrate).
SPEC_REGISTRY = _REGISTRY


def bundle_of(definition: DefinitionVersion) -> compat.ProcessBundle:
    """Rebuild the deployable bundle from the sources stored with a version."""
    files: dict[str, list[compat.SourceFile]] = {role: [] for role in ("bpmn", "dmn", "callee", "form")}
    for item in definition.files:
        files[item["role"]].append(compat.SourceFile(item["name"], item["content"].encode("utf-8")))
    return compat.ProcessBundle(
        process_id=definition.process_id,
        name=definition.name,
        bpmn=files["bpmn"][0],
        dmn=files["dmn"],
        callees=files["callee"],
        start_groups=list(definition.start_groups),
        timer_start=definition.timer_start,
        forms=files["form"],
    )


@dataclass(frozen=True)
class Deployed:
    """A deployed version with its parsed specs. Versions never change, so this is cached."""

    id: int
    process_id: str
    version: int
    name: str | None
    start_groups: tuple[str, ...]
    timer_start: str | None
    bpmn: bytes
    specs: tuple[Any, dict[str, Any]]


def deployed(db: Database, session: Session, definition_id: int) -> Deployed:
    """The version with this id, parsed once per process and kept in the Database's cache."""
    cached = db.spec_cache.get(definition_id)
    if cached is None:
        definition = session.get(DefinitionVersion, definition_id)
        bundle = bundle_of(definition)
        cached = Deployed(definition.id, definition.process_id, definition.version, definition.name,
                          tuple(definition.start_groups), definition.timer_start, bundle.bpmn.content,
                          compat.parse_specs(bundle))
        db.spec_cache[definition_id] = cached
    return cached


def new_workflow(specs: tuple[Any, dict[str, Any]], engine: Any = None) -> BpmnWorkflow:
    spec, subprocess_specs = specs
    return DeskWorkflow(spec, subprocess_specs, script_engine=engine or script_engine())


def load_workflow(specs: tuple[Any, dict[str, Any]], state: str,
                  engine: Any = None) -> BpmnWorkflow:
    dct = json.loads(state)
    version = dct.pop("serializer_version", STATE_VERSION)
    if version != STATE_VERSION:
        migrate_state(dct, version, specs)
    dct["spec"], dct["subprocess_specs"] = specs
    workflow = _REGISTRY.restore(dct)
    workflow.script_engine = engine or script_engine()
    return workflow


def migrate_state(dct: dict[str, Any], version: str, specs: tuple[Any, dict[str, Any]]) -> None:
    """Bring a state saved by an older SpiffWorkflow up to this one's format, in place, with the
    library's own migrations: a library upgrade must not misread old cases.

    The migrations read (and may rewrite) the spec inside the state; ours is left out of it and
    parsed afresh from the deployed sources by the library in use, so they are given the current
    spec as a dict and what they do to it is dropped. A state newer than this library, or one its
    migrations cannot read, is refused rather than guessed at.
    """
    if version not in MIGRATIONS:
        raise ProcessError(f"案件状态的格式版本 {version} 不是当前流程引擎（{STATE_VERSION}）能读取的，"
                           "请联系系统管理员。")
    spec, subprocess_specs = specs
    dct["spec"] = _REGISTRY.convert(spec)
    dct["subprocess_specs"] = {name: _REGISTRY.convert(sub) for name, sub in subprocess_specs.items()}
    try:
        MIGRATIONS[version](dct)
    except Exception as exc:  # noqa: BLE001 - whatever the migration trips on, the case is not misread
        raise ProcessError(f"案件状态的格式版本 {version} 无法升级到 {STATE_VERSION}（{type(exc).__name__}），"
                           "请联系系统管理员。") from exc
    for key in ("spec", "subprocess_specs", "VERSION"):
        dct.pop(key, None)


def dump_workflow(workflow: BpmnWorkflow) -> str:
    dct = _REGISTRY.convert(workflow)
    dct["serializer_version"] = STATE_VERSION
    return json.dumps(dct, separators=(",", ":"), ensure_ascii=False)


class WorkflowCache:
    """Workflows as this process last committed them (with what the caller derived from them),
    so the next step on a case need not deserialise its state again (a case is usually worked
    step after step).

    An entry serves only the instance version it was committed at: any other writer (another
    worker, a claim) moves the version on and the entry is ignored. A workflow is taken out while
    a unit of work uses it and comes back only after that work commits, so a failed or rolled-back
    step never leaves a half-run workflow behind, and two threads never share one.
    """

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: int, version: int) -> Any | None:
        with self._lock:
            entry = self._entries.pop(instance_id, None)
        return entry[1] if entry is not None and entry[0] == version else None

    def put(self, instance_id: int, version: int, entry: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[instance_id] = (version, entry)
            self._entries.move_to_end(instance_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def workflow_cache(db: Database) -> WorkflowCache:
    """The Database's cache; ``BPMDESK_WORKFLOW_CACHE`` workflows (default 512, 0 = none)."""
    if db.workflow_cache is None:
        db.workflow_cache = WorkflowCache(int(os.environ.get("BPMDESK_WORKFLOW_CACHE", "512")))
    return db.workflow_cache


_BUSINESS_KEY_READS = (b"processBusinessKey", b"getProcessBusinessKey", b"getBusinessKey", b"execution.businessKey")


def uses_business_key(deployed: Deployed) -> bool:
    """Whether the process reads its business key (an expression, a script, a listener) or waits
    for a message (which finds its case by business key): the start page then asks for one."""
    if any(word in deployed.bpmn for word in _BUSINESS_KEY_READS):
        return True
    spec, subprocess_specs = deployed.specs
    return any(isinstance(getattr(task_spec, "event_definition", None), MessageEventDefinition)
               and not isinstance(task_spec, StartEvent)
               for process in (spec, *subprocess_specs.values()) for task_spec in process.task_specs.values())


def reacts_to_assignment(specs: tuple[Any, dict[str, Any]], element_id: str) -> bool:
    """Whether giving a task of this element to someone runs listeners of the diagram."""
    spec, subprocess_specs = specs
    return any(listeners.reacts_to_assignment(task_spec) for process in (spec, *subprocess_specs.values())
               for task_spec in process.task_specs.values() if getattr(task_spec, "bpmn_id", None) == element_id)


def find_task(workflow: BpmnWorkflow, task_id: str) -> Task | None:
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (ValueError, KeyError, TaskNotFoundException):  # unknown, or pruned as finished history
        return None


def open_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    """READY human tasks (user and manual tasks), subprocesses included."""
    return workflow.get_tasks(state=TaskState.READY, manual=True)


@dataclass(frozen=True)
class WaitingTimer:
    task_id: str
    element_id: str
    name: str | None
    due_at: datetime
    attached_to: str | None  # task id of the activity a boundary timer watches
    interrupting: bool


def _timer_due(task: Task) -> datetime | None:
    value = task.internal_data.get("event_value")
    if value is None:
        return None
    if isinstance(value, dict):  # cycle: the next repetition
        return clock.parse_time(value["next"]) if value.get("cycles", 0) != 0 else None
    due = TimerEventDefinition.parse_time_or_duration(str(value))
    return due if isinstance(due, datetime) else None


def _watched_activity(task: Task) -> Task | None:
    """For a boundary event: the activity it is attached to (its sibling under the split)."""
    if not isinstance(task.task_spec, BoundaryEvent):
        return None
    siblings = [t for t in task.parent.children if not isinstance(t.task_spec, BoundaryEvent)]
    return siblings[0] if siblings else None


def _waiting_timer(task: Task) -> WaitingTimer | None:
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    due = _timer_due(task)
    if due is None:
        return None
    attached = _watched_activity(task)
    return WaitingTimer(
        task_id=str(task.id),
        element_id=task.task_spec.bpmn_id,
        name=task.task_spec.bpmn_name,
        due_at=due,
        attached_to=str(attached.id) if attached is not None else None,
        interrupting=getattr(task.task_spec, "cancel_activity", True),
    )


_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_WALKED = TaskState.DEFINITE_MASK | TaskState.FINISHED_MASK  # predicted branches are never stored rows


@dataclass(frozen=True)
class Snapshot:
    """What the database derives from a workflow, read in one walk of its task tree.

    Every save needs all of it; separate ``get_tasks`` calls would walk the tree once each.
    """

    ready: list[Task]  # READY human tasks (user and manual tasks), subprocesses included
    timers: list[WaitingTimer]  # earliest first
    completed: set[str]  # element ids having a COMPLETED task
    active: set[str]  # element ids having a READY, WAITING or STARTED task


def snapshot(workflow: BpmnWorkflow) -> Snapshot:
    ready: list[Task] = []
    timers: list[WaitingTimer] = []
    completed: set[str] = set()
    active: set[str] = set()
    for task in workflow.get_tasks(state=_WALKED):
        state, spec = task.state, task.task_spec
        element = getattr(spec, "bpmn_id", None)
        if state == TaskState.COMPLETED:
            if element:
                completed.add(element)
            continue
        if state & _ACTIVE and element:
            active.add(element)
        if state == TaskState.READY and spec.manual:
            ready.append(task)
        elif state == TaskState.WAITING and (timer := _waiting_timer(task)) is not None:
            timers.append(timer)
    return Snapshot(ready, sorted(timers, key=lambda timer: timer.due_at), completed, active)


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    """Every timer the instance waits on, with its due time, earliest first."""
    return snapshot(workflow).timers


def case_data(workflow: BpmnWorkflow, ready: list[Task] | None = None) -> dict[str, Any]:
    """The data a person means by "the case so far": the open tasks' data, else the newest task's,
    without the local variables of activities (input parameters, engine.scope).

    ``ready``: the open human tasks, when the caller already has them.
    """
    if workflow.is_completed():
        return dict(workflow.data)
    ready = open_user_tasks(workflow) if ready is None else ready
    if ready:
        merged: dict[str, Any] = {}
        for task in ready:
            merged.update(scope.instance_variables(task))
        return merged
    last = workflow.last_task
    return scope.instance_variables(last) if last is not None else dict(workflow.data)


def camunda_extensions(task: Task) -> dict[str, Any]:
    return (getattr(task.task_spec, "extensions", None) or {}).get("camunda", {})


def initiator_variable(spec: Any) -> str | None:
    """``camunda:initiator`` on a start event: the variable that holds who started the case."""
    for task_spec in spec.task_specs.values():
        name = (getattr(task_spec, "extensions", None) or {}).get("camunda", {}).get("initiator")
        if name:
            return name
    return None


def evaluate(expression: str, data: dict[str, Any], task: Task | None = None) -> Any:
    """Evaluate a (translated) expression against task data, in the sandbox (with what Camunda's
    `execution` says of `task`, such as its business key, and its multi-instance loop variables)."""
    context = {FACTS: facts_of(task), **scope.loop_variables(task)} if task is not None else None
    return script_engine().environment.evaluate(expression, dict(data), context)


def assignment(task: Task, key: str) -> list[str]:
    """Names from a camunda assignment attribute, expressions resolved against task data.

    An expression that cannot be evaluated (a variable not set, say) is the diagram's error: it
    names the element, the attribute and why, and the step is not saved (as in Camunda, where the
    task is not created)."""
    value = camunda_extensions(task).get(key)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in values:
        try:
            names.extend(compat.resolve_assignment(item, task.data, lambda text, data: evaluate(text, data, task)))
        except Exception as error:  # noqa: BLE001 - anything a diagram's expression raises
            raise ProcessError(_assignment_problem(task, key, item, error)) from error
    return names


def _assignment_problem(task: Task, key: str, item: str, error: Exception) -> str:
    element = task.task_spec.bpmn_id + (f"（{task.task_spec.bpmn_name}）" if task.task_spec.bpmn_name else "")
    missing = re.match(r"name '([^']+)' is not defined", str(error))
    why = f"变量 {missing.group(1)} 不存在（尚未设置）" if missing else f"{type(error).__name__}: {error}"
    return (f"流程元素 {element} 的 camunda:{key} 表达式 {item} 无法求值：{why}。本次操作未保存，"
            "请先设置该变量或修改流程图。")


def task_time(task: Task, key: str, created: datetime) -> datetime | None:
    """``camunda:dueDate``/``followUpDate``: an ISO duration after creation, an ISO date, or ``${…}``."""
    names = assignment(task, key)
    if not names:
        return None
    text = str(names[0])
    if text.upper().startswith("P"):
        duration = TimerEventDefinition.parse_iso_duration(text)
        return created + TimerEventDefinition.get_timedelta_from_start(duration, created)
    return clock.parse_time(text)


_DUE_DATE = "bpmdesk_due_date"  # a human task's dueDate as evaluated when it opened
_DUE_NOTICED = "bpmdesk_due_noticed"  # its passing has been noticed (task escalated, people told)


def keep_due_date(task: Task, created: datetime) -> datetime | None:
    """Evaluate ``camunda:dueDate`` once, when the task opens, and keep it with the task: a
    relative due date (``PT1H``) read again later would move, and the scheduler must know when
    it passes without re-reading the inbox table."""
    due = task_time(task, "dueDate", created)
    if due is not None:
        task.internal_data[_DUE_DATE] = due.isoformat()
    return due


def kept_due_date(task: Task) -> datetime | None:
    """The dueDate :func:`keep_due_date` kept when the task opened, if it has one."""
    kept = task.internal_data.get(_DUE_DATE)
    return datetime.fromisoformat(kept) if kept else None


@dataclass(frozen=True)
class DueDate:
    """An open human task's dueDate not yet noticed. A task with a boundary timer has none: the
    diagram itself says what happens when its time is up."""

    task: Task
    due_at: datetime


def due_dates(ready: Iterable[Task], timers: Iterable[WaitingTimer]) -> list[DueDate]:
    """The dueDates of these open tasks still to notice, earliest first."""
    watched = {timer.attached_to for timer in timers}
    found = [DueDate(task, datetime.fromisoformat(task.internal_data[_DUE_DATE])) for task in ready
             if _DUE_DATE in task.internal_data and not task.internal_data.get(_DUE_NOTICED)
             and str(task.id) not in watched]
    return sorted(found, key=lambda due: due.due_at)


def notice_due_date(task: Task) -> None:
    """The task's dueDate has passed and been acted on: once is enough."""
    task.internal_data[_DUE_NOTICED] = True


def set_due_date(task: Task, due_at: datetime) -> list[Task]:
    """Give an open human task a new due time: kept as its dueDate (to be noticed again when it
    passes), and its earliest waiting boundary timer that is not a cycle now waits until then, as
    Camunda's ``setJobDuedate`` moves a timer job. Returns the timer tasks moved."""
    task.internal_data[_DUE_DATE] = due_at.isoformat()
    task.internal_data.pop(_DUE_NOTICED, None)
    siblings = task.parent.children if task.parent is not None else []
    timers = [(timer, waiting) for timer in siblings if timer is not task and (waiting := _waiting_timer(timer))
              and waiting.attached_to == str(task.id) and not isinstance(timer.internal_data.get("event_value"), dict)]
    if not timers:
        return []
    timer = min(timers, key=lambda pair: pair[1].due_at)[0]
    timer.internal_data["event_value"] = due_at.isoformat()
    return [timer]


def boundary_due(task: Task, timers: Iterable[WaitingTimer]) -> datetime | None:
    """Earliest timer attached to this task: its service level when no dueDate is set."""
    dues = [t.due_at for t in timers if t.attached_to == str(task.id)]
    return min(dues) if dues else None


@dataclass(frozen=True)
class FormLabels:
    """Every form field's label and enum option labels of a process, to show stored data readably."""

    fields: dict[str, str]
    options: dict[str, dict[str, str]]
    types: dict[str, str] = dataclasses.field(default_factory=dict)  # "money", "datetime", "person" …


def form_labels(specs: tuple[Any, dict[str, Any]]) -> FormLabels:
    """Read from the parsed forms as drawn: labels only, so a form with a bad default still shows.
    ``types``: each field's form type, ``person`` for a ``${currentUser()}`` field."""
    fields: dict[str, str] = {}
    options: dict[str, dict[str, str]] = {}
    types: dict[str, str] = {}
    for spec in [specs[0], *specs[1].values()]:
        for task_spec in spec.task_specs.values():
            form = getattr(task_spec, "form", None)
            for field in getattr(form, "fields", None) or []:
                fields.setdefault(field.id, field.label or field.id)
                person = (field.default_value or "").strip() in forms.CURRENT_USER
                types.setdefault(field.id, "person" if person else field.type or "string")
                choices = {o.id: o.name for o in getattr(field, "options", None) or []}
                if choices:
                    options.setdefault(field.id, choices)
    return FormLabels(fields, options, types)


def start_fields(specs: tuple[Any, dict[str, Any]]) -> list[forms.FormField]:
    """The start event's form (``camunda:formData`` on the start event), if it has one."""
    return forms.fields_from_form(compat.start_form(specs[0]))


def forget_finished_history(workflow: BpmnWorkflow) -> None:
    """Drop finished tasks above the point where all unfinished work branches off.

    SpiffWorkflow keeps every finished task in its tree, so a looping case grows without end and
    every save gets slower. The event log already holds that history, so the stored state keeps
    only the subtree that still matters: the root, then the deepest task that is an ancestor of
    (or is) every unfinished task.
    """
    root = workflow.task_tree
    unfinished = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not unfinished:
        return
    keep_from = _common_ancestor(unfinished + _pending_join_arrivals(workflow))
    if keep_from is None or keep_from is root or keep_from.parent is root:
        return
    kept = {task.id for task in _subtree(keep_from)} | {root.id}
    root._children = [keep_from.id]
    keep_from.parent = root
    for task_id in [tid for tid in workflow.tasks if tid not in kept]:
        del workflow.tasks[task_id]
        workflow.subprocesses.pop(task_id, None)
    if workflow.last_task is not None and workflow.last_task.id not in kept:
        workflow.last_task = keep_from


def _pending_join_arrivals(workflow: BpmnWorkflow) -> list[Task]:
    """Branches that reached a join which has not fired since: the join will still merge their data."""
    fired: dict[Any, float] = {}
    for task in workflow.tasks.values():
        if isinstance(task.task_spec, UnstructuredJoin) and task.state == TaskState.COMPLETED:
            fired[task.task_spec] = max(fired.get(task.task_spec, 0), task.last_state_change)
    return [task for task in workflow.tasks.values()
            if isinstance(task.task_spec, UnstructuredJoin) and task.state == TaskState.CANCELLED
            and task.last_state_change > fired.get(task.task_spec, 0)]


def _ancestry(task: Task) -> list[Task]:
    chain = []
    while task is not None:
        chain.append(task)
        task = task.parent
    return chain[::-1]


def _common_ancestor(tasks: list[Task]) -> Task | None:
    common = _ancestry(tasks[0])
    for task in tasks[1:]:
        path = _ancestry(task)
        length = 0
        while length < min(len(common), len(path)) and common[length] is path[length]:
            length += 1
        common = common[:length]
    return common[-1] if common else None


def _subtree(task: Task) -> Iterable[Task]:
    stack = [task]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current._children and current.children)
