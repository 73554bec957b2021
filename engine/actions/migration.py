"""Moving a running case to another version of its process (the analyst's bulk migration).

SpiffWorkflow's own diff does the alignment: `SpecDiff` pairs each task spec of the old version
with the new one of the same BPMN id (or by structure), and `WorkflowDiff` says which of the case's
tasks lose their spec. What `migrate_workflow` then does is not used: it resets every ready and
waiting task, which restarts each unchanged timer's clock from the moment of migration (a case
that waited three days of seven would wait seven more) and redoes the assignment of every open
task. Here the aligned specs are swapped in place instead; only the predicted branches below the
active tasks are dropped and predicted again from the new version (a step added after the task is
then on the case's path), and a timer whose definition changed gets the due time the plan
computed (a duration counts from when the timer began waiting, so 7 → 10 days moves a due time by
three days), recorded in the event so that replay sets the very same time.

`plan` (the dry run) and `migrate` take the same inputs; `migrate` refuses to run an unsafe plan.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock

Specs = tuple[Any, dict[str, Any]]
_ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
_SPEC_DIFFS: dict[tuple[int, int], tuple[Any, Any, SpecDiff]] = {}


@dataclass
class CasePlan:
    """What migrating one case would do: safe or not and why; the timers it would move."""

    reasons: list[str] = field(default_factory=list)  # why it is unsafe (empty: safe)
    notes: list[str] = field(default_factory=list)  # what changes for the case, in words
    dues: dict[str, str] = field(default_factory=dict)  # element id → new due time (ISO), per changed timer
    mapped: dict[str, str] = field(default_factory=dict)  # active element → the element it moves to
    unmapped: list[str] = field(default_factory=list)  # active elements the new version lacks, unmapped

    @property
    def safe(self) -> bool:
        return not self.reasons


class _DeskSpecDiff(SpecDiff):
    """SpecDiff whose attribute comparison survives task specs its registry cannot convert (this
    deployment's decision tasks are rebuilt from the stored sources, never serialised): those are
    compared by type only. Only the alignment is used here; changes are judged by `_plan_task`."""

    def _compare_task_specs(self, spec: Any, candidate: Any) -> list[str]:
        try:
            return super()._compare_task_specs(spec, candidate)
        except Exception:  # noqa: BLE001 - a converter missing for a spec of ours
            return [] if type(spec) is type(candidate) else ["typename"]


def spec_diff(registry: Any, old: Any, new: Any) -> SpecDiff:
    """SpiffWorkflow's diff of two specs, once per pair (the specs are cached per version)."""
    key = (id(old), id(new))
    if key not in _SPEC_DIFFS:
        if len(_SPEC_DIFFS) > 64:
            _SPEC_DIFFS.clear()
        _SPEC_DIFFS[key] = (old, new, _DeskSpecDiff(registry, old, new))
    return _SPEC_DIFFS[key][2]


def _workflows(workflow: BpmnWorkflow) -> list[Any]:
    return [workflow, *workflow.subprocesses.values()]


def _new_spec_of(sub: Any, workflow: BpmnWorkflow, new_specs: Specs) -> Any | None:
    return new_specs[0] if sub is workflow else new_specs[1].get(sub.spec.name)


def _by_bpmn_id(spec: Any) -> dict[str, Any]:
    return {s.bpmn_id: s for s in spec.task_specs.values() if getattr(s, "bpmn_id", None)}


def plan(registry: Any, workflow: BpmnWorkflow, new_specs: Specs, mapping: Mapping[str, str]) -> CasePlan:
    """The dry run for one case: nothing is changed."""
    result = CasePlan()
    for sub in _workflows(workflow):
        new_spec = _new_spec_of(sub, workflow, new_specs)
        if new_spec is None:
            result.reasons.append(f"子流程「{sub.spec.name}」在新版本中不存在")
            continue
        _plan_workflow(result, registry, sub, new_spec, mapping)
    return result


def _plan_workflow(result: CasePlan, registry: Any, sub: Any, new_spec: Any, mapping: Mapping[str, str]) -> None:
    diff = spec_diff(registry, sub.spec, new_spec)
    targets = _by_bpmn_id(new_spec)
    replaced = _predicted_below_active(sub)
    for task in WorkflowDiff(sub, diff).removed:
        if task.id not in replaced and not task.has_state(_ACTIVE):
            result.reasons.append(f"已经过的「{_name(task.task_spec)}」({_element(task)}) 在新版本中已删除")
    for task in sub.get_tasks(state=_ACTIVE, skip_subprocesses=True):
        element, aligned = _element(task), diff.alignment.get(task.task_spec)
        target = targets.get(mapping.get(element, ""))
        if target is None and aligned is not None and aligned.bpmn_id == element:
            target = aligned
        elif target is not None:
            result.mapped[element] = target.bpmn_id
            result.notes.append(f"「{_name(task.task_spec)}」移到新版本的「{_name(target)}」")
        if target is None:
            result.unmapped.append(element)
            guess = f"（SpiffWorkflow 认为对应「{_name(aligned)}」({aligned.bpmn_id})）" if aligned is not None else ""
            result.reasons.append(f"正在办理/等待的「{_name(task.task_spec)}」({element}) 在新版本中已删除{guess}："
                                  "请为它选择新版本中对应的元素")
        else:
            _plan_task(result, task, target)


def _element(task: Task) -> str:
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


def _predicted_below_active(sub: Any) -> set[Any]:
    """Tasks `migrate` drops and predicts again: every descendant of an active task not yet run."""
    below: set[Any] = set()
    for task in sub.get_tasks(state=_ACTIVE, skip_subprocesses=True):
        below |= {t.id for t in task if t is not task and not t.has_state(TaskState.FINISHED_MASK | _ACTIVE)}
    return below


def _name(spec: Any) -> str:
    return getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name


def _plan_task(result: CasePlan, task: Task, new: Any) -> None:
    old_form, new_form = _form_types(task.task_spec), _form_types(new)
    retyped = sorted(name for name in old_form.keys() & new_form.keys() if old_form[name] != new_form[name])
    if task.has_state(TaskState.READY) and retyped:
        result.reasons.append(f"等待提交的表单「{_name(new)}」中字段 {', '.join(retyped)} 的类型改变了")
    old_timer, new_timer = _timer_of(task.task_spec), _timer_of(new)
    if old_timer is not None and new_timer is not None and task.has_state(TaskState.WAITING) and (
            type(old_timer), old_timer.expression) != (type(new_timer), new_timer.expression):
        due = _new_due(task, old_timer, new_timer)
        if due is None:
            result.reasons.append(f"定时器「{_name(new)}」的新定义无法计算到期时间")
        else:
            result.dues[new.bpmn_id] = due.isoformat()
            result.notes.append(f"定时器「{_name(new)}」新的到期时间 {due.astimezone(clock.local_tz()):%Y-%m-%d %H:%M}")


def _form_types(spec: Any) -> dict[str, str]:
    form = getattr(spec, "form", None)
    return {f.id: f.type for f in getattr(form, "fields", []) or []}


def _timer_of(spec: Any) -> TimerEventDefinition | None:
    definition = getattr(spec, "event_definition", None)
    return definition if isinstance(definition, TimerEventDefinition) else None


def _new_due(task: Task, old: TimerEventDefinition, new: TimerEventDefinition) -> datetime | None:
    """The due time the timer gets: a new duration counts from when the timer began waiting."""
    engine = task.workflow.script_engine
    try:
        value = engine.evaluate(task, new.expression)
        if isinstance(new, TimeDateEventDefinition):
            return TimerEventDefinition.get_datetime(str(value))
        if isinstance(new, CycleTimerEventDefinition):
            return None
        due = TimerEventDefinition.get_datetime(str(task.internal_data["event_value"]))
        began = due - _duration(engine.evaluate(task, old.expression), due) if isinstance(
            old, DurationTimerEventDefinition) else clock.now()
        return began + _duration(value, began)
    except Exception:  # noqa: BLE001 - an expression of the diagram: reported as unsafe
        return None


def _duration(value: Any, start: datetime) -> timedelta:
    parsed = TimerEventDefinition.parse_iso_duration(str(value))
    return TimerEventDefinition.get_timedelta_from_start(parsed, start)


def migrate(registry: Any, workflow: BpmnWorkflow, new_specs: Specs, mapping: Mapping[str, str],
            dues: Mapping[str, str]) -> None:
    """Move the case to `new_specs`: aligned (or mapped) specs swapped in, the predicted branches
    below its active tasks predicted again, changed timers due at `dues` (from the plan)."""
    for sub in _workflows(workflow):
        new_spec = _new_spec_of(sub, workflow, new_specs)
        diff = spec_diff(registry, sub.spec, new_spec)
        targets = _by_bpmn_id(new_spec)
        active = list(sub.get_tasks(state=_ACTIVE, skip_subprocesses=True))
        for task in active:
            task._drop_children(force=True)
        for task in list(sub.tasks.values()):
            element = _element(task)
            task.task_spec = targets[mapping[element]] if element in mapping else diff.alignment[task.task_spec]
        sub.spec = new_spec
        for task in active:
            task.task_spec._predict(task, mask=TaskState.NOT_FINISHED_MASK)
            due = dues.get(task.task_spec.bpmn_id)
            if due is not None and task.has_state(TaskState.WAITING):
                task._set_internal_data(event_value=due)
    workflow.subprocess_specs = new_specs[1]


def active_elements(workflow: BpmnWorkflow) -> Iterable[str]:
    return sorted({t.task_spec.bpmn_id for sub in _workflows(workflow)
                   for t in sub.get_tasks(state=_ACTIVE, skip_subprocesses=True)})
