"""Four eyes in a diagram: which user task checks the work of which others (read at deploy).

An analyst marks a checking user task with the extension property ``fourEyes`` listing the user
tasks it checks (``Task_Handle,Task_Record``), or sets ``fourEyes`` = ``all`` on the process and
``check`` = ``true`` on each checking user task: such a task then checks every user task that
comes before it on some path. The engine (``engine.services.access``) refuses the checking task
to anyone who did a checked one in the same case. Lint reports every problem with FILE:LINE; the
parser keeps what it finds, so both read the diagram through :func:`read_four_eyes`.

"Before on some path" follows sequence flows, boundary events from what they are attached to,
sub-processes from entering (to everything inside) to leaving (from everything inside), and event
sub-processes from anything of their scope: the work named must be able to have been done by the
time the check opens.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from lxml import etree

from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS, describe, owner

FOUR_EYES = "fourEyes"
CHECK = "check"
ALL = "all"
_SCOPES = {"subProcess", "transaction", "adHocSubProcess"}
_NOT_FLOW_NODES = {"sequenceFlow", "extensionElements", "documentation", "incoming", "outgoing",
                   "laneSet", "textAnnotation", "association", "dataObject", "dataObjectReference",
                   "dataStoreReference", "ioSpecification", "property", "multiInstanceLoopCharacteristics",
                   "standardLoopCharacteristics", "group", "category"}


@dataclass
class FourEyes:
    """Of one bpmn:process: checking task id → the ids of the user tasks it checks, and the
    problems found (the element to point at, and what is wrong with what to write instead)."""

    checks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    problems: list[tuple[etree._Element, str]] = field(default_factory=list)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def own_properties(element: etree._Element) -> dict[str, etree._Element]:
    """The element's own ``camunda:property`` elements by name (not those of a form field)."""
    found: dict[str, etree._Element] = {}
    for prop in element.findall(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}properties/"
                                f"{{{CAMUNDA_NS}}}property"):
        found.setdefault(prop.get("name") or "", prop)
    return found


def split_ids(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def read_four_eyes(process: etree._Element) -> FourEyes:
    """What ``fourEyes`` / ``check`` say in one bpmn:process, and what is wrong with them."""
    result = FourEyes()
    user_tasks = {t.get("id"): t for t in process.iter(f"{{{BPMN_NS}}}userTask") if t.get("id")}
    process_wide = _process_option(process, user_tasks, result)
    graph = _Graph(process)
    for prop in process.iter(f"{{{CAMUNDA_NS}}}property"):
        if prop.get("name") not in (FOUR_EYES, CHECK) or _in_form_field(prop):
            continue
        element = owner(prop)
        if element is process:
            continue
        if _local(element) != "userTask":
            result.problems.append((prop, f'{describe(element)}: the property "{prop.get("name")}" is only '
                                          "for user tasks (a person checks the work of others): put it "
                                          "on the user task that checks, or remove it"))
    for task_id, task in user_tasks.items():
        checked = _checked_by(task, process_wide, user_tasks, graph, result)
        if checked:
            result.checks[task_id] = checked
    if process_wide is not None and not result.checks and not result.problems:
        result.problems.append((process_wide, f'{describe(process)} sets fourEyes="all", but no user task '
                                              'has the property check="true": mark the checking tasks'))
    return result


def _in_form_field(prop: etree._Element) -> bool:
    return any(_local(a) == "formField" for a in prop.iterancestors())


def _process_option(process: etree._Element, user_tasks: dict[str, etree._Element],
                    result: FourEyes) -> etree._Element | None:
    """The process's ``fourEyes`` = ``all`` property, if it is set (and right)."""
    prop = own_properties(process).get(FOUR_EYES)
    if prop is None:
        return None
    if (prop.get("value") or "").strip() != ALL:
        result.problems.append((prop, f'{describe(process)} fourEyes="{prop.get("value")}": on a process '
                                      f'it takes only "{ALL}" (every user task with check="true" checks '
                                      "every user task before it); to check named tasks, put "
                                      'fourEyes="Task_A,Task_B" on the checking user task'))
        return None
    return prop


def _checked_by(task: etree._Element, process_wide: etree._Element | None,
                user_tasks: dict[str, etree._Element], graph: _Graph, result: FourEyes) -> tuple[str, ...]:
    props = own_properties(task)
    listed, check = props.get(FOUR_EYES), props.get(CHECK)
    task_id = task.get("id")
    if check is not None and (check.get("value") or "").strip() != "true":
        result.problems.append((check, f'{describe(task)} check="{check.get("value")}": write check="true" '
                                       "to make this task a check, or remove the property"))
        return ()
    if listed is not None:
        return _listed(task, listed, user_tasks, graph, result)
    if check is None:
        return ()
    if process_wide is None:
        result.problems.append((check, f'{describe(task)} has check="true", but its process does not set '
                                       'fourEyes="all": add that property to the process, or write '
                                       'fourEyes="Task_A,Task_B" on this task'))
        return ()
    before = tuple(sorted(t for t in graph.before(task_id) if t in user_tasks and t != task_id))
    if not before:
        result.problems.append((check, f"{describe(task)} has check=\"true\", but no user task comes before "
                                       "it: there is no work to check; remove the property"))
    return before


def _listed(task: etree._Element, prop: etree._Element, user_tasks: dict[str, etree._Element],
            graph: _Graph, result: FourEyes) -> tuple[str, ...]:
    """The tasks a ``fourEyes`` list names, each a user task before this one (else a problem)."""
    task_id = task.get("id")
    ids = split_ids(prop.get("value") or "")
    if not ids:
        result.problems.append((prop, f"{describe(task)} fourEyes is empty: list the ids of the user tasks "
                                      'it checks, e.g. fourEyes="Task_Handle,Task_Record"'))
    before = graph.before(task_id)
    good: list[str] = []
    for checked in ids:
        if checked == task_id:
            what = "names the task itself: a check cannot check itself; name the tasks whose work it checks"
        elif checked not in user_tasks:
            known = ", ".join(sorted(t for t in user_tasks if t != task_id)) or "none"
            what = (f'names "{checked}", which is not a user task of this process (its user tasks: {known}); '
                    "write the id of a user task whose doer must not do this check")
        elif checked not in before:
            what = (f'names "{checked}", which does not come before it on any path: four eyes checks '
                    "work already done; name a user task that leads to this one")
        else:
            good.append(checked)
            continue
        result.problems.append((prop, f"{describe(task)} fourEyes {what}"))
    return tuple(dict.fromkeys(good))


class _Graph:
    """Which flow nodes can have run before a given one, in one bpmn:process."""

    def __init__(self, process: etree._Element):
        self._preds: dict[str, set[str]] = defaultdict(set)
        scopes = {e.get("id") for e in process.iter() if isinstance(e.tag, str) and _local(e) in _SCOPES}
        for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            source = flow.get("sourceRef")
            self._preds[flow.get("targetRef")].add(_exit(source) if source in scopes else source)
        for boundary in process.iter(f"{{{BPMN_NS}}}boundaryEvent"):
            self._preds[boundary.get("id")].add(boundary.get("attachedToRef"))
        for scope in [process, *(e for e in process.iter() if isinstance(e.tag, str) and _local(e) in _SCOPES)]:
            self._link_scope(scope)

    def _link_scope(self, scope: etree._Element) -> None:
        nodes = [c for c in scope if isinstance(c.tag, str) and etree.QName(c).namespace == BPMN_NS
                 and _local(c) not in _NOT_FLOW_NODES and c.get("id")]
        scope_id = scope.get("id")
        for node in nodes:
            if _local(node) in _SCOPES and node.get("triggeredByEvent") == "true":
                self._preds[node.get("id")].update(n.get("id") for n in nodes if n is not node)
            if _local(scope) in _SCOPES:
                self._preds[node.get("id")].add(scope_id)  # entering the sub-process
                self._preds[_exit(scope_id)].add(_exit(node.get("id")) if _local(node) in _SCOPES
                                                 else node.get("id"))

    def before(self, node_id: str) -> set[str]:
        """Every node from which some path leads to ``node_id`` (itself only through a loop)."""
        seen: set[str] = set()
        todo = list(self._preds.get(node_id, ()))
        while todo:
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            todo.extend(self._preds.get(current, ()))
        return {n.split("\0")[0] for n in seen}


def _exit(scope_id: str) -> str:
    return f"{scope_id}\0exit"
