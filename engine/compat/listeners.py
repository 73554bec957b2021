"""Camunda 7 listeners in a diagram → the Python engine.listeners runs, or a reason to refuse.

What runs: `camunda:executionListener` (start, end; take on a sequence flow) on any flow element
and on the process, `camunda:taskListener` (create, assignment, complete, delete, update) on user tasks,
whose body is a `camunda:script scriptFormat="python"` written in the diagram, or a
`camunda:expression` `${…}` (JUEL as elsewhere, plus a call of a business function of tasks/ and
`execution.setVariable`; see juel.translate_listener). What is refused, with what to write
instead: Java (`class`, `delegateExpression`), other script languages, `resource=` scripts, and
the task event `timeout`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from lxml import etree

from engine.compat.juel import Untranslatable, split_template, translate_listener
from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS
from engine.sandbox import EXECUTION_METHODS, TASK_METHODS, business_functions, rejection

EXECUTION_EVENTS = ("start", "end")
TASK_EVENTS = ("create", "assignment", "complete", "delete", "update")
_INSTEAD = ('write the listener as camunda:script scriptFormat="python", or as camunda:expression '
            '"${function(…)}" calling a business function of tasks/')
_OBJECT_USE = re.compile(r"\b(execution|task)\s*\.\s*(\w+)")


class BadListener(ValueError):
    """The listener cannot run here; the message says why and what to write instead."""


def listener_elements(node: etree._Element) -> list[etree._Element]:
    """The listeners of one element (or process), in the diagram's order."""
    return [child for child in node.xpath("./bpmn:extensionElements/*", namespaces={"bpmn": BPMN_NS})
            if child.tag in (f"{{{CAMUNDA_NS}}}executionListener", f"{{{CAMUNDA_NS}}}taskListener")]


def event_of(listener: etree._Element) -> str:
    """The listener's event; a sequence flow's execution listener is always `take`."""
    owner = listener.getparent().getparent()
    if etree.QName(owner).localname == "sequenceFlow":
        return "take"
    return (listener.get("event") or "").strip()


def python_of(listener: etree._Element) -> str:
    """The Python body of one listener; raises BadListener with the reason and the fix."""
    task_listener = etree.QName(listener).localname == "taskListener"
    _check_event(listener, task_listener)
    for attribute in ("class", "delegateExpression"):
        if listener.get(attribute):
            raise BadListener(f'{attribute}="{listener.get(attribute)}" is Java code, which does not run here: '
                              f"{_INSTEAD}")
    expression = listener.get("expression")
    script = listener.find(f"{{{CAMUNDA_NS}}}script")
    if expression is not None:
        return _expression_python(expression, task_listener)
    if script is not None:
        return _script_python(script, task_listener)
    raise BadListener(f"has no body (no script, no expression): {_INSTEAD}")


def _check_event(listener: etree._Element, task_listener: bool) -> None:
    event = event_of(listener)
    owner = etree.QName(listener.getparent().getparent()).localname
    if task_listener and owner != "userTask":
        raise BadListener("task listeners belong on user tasks (Camunda runs them nowhere else): use an "
                          "execution listener (start / end)")
    if task_listener and event == "timeout":
        raise BadListener('event="timeout" is not supported here: draw a non-interrupting timer boundary '
                          "event on the task followed by a script task")
    allowed = TASK_EVENTS if task_listener else (("take",) if event == "take" else EXECUTION_EVENTS)
    if event not in allowed:
        raise BadListener(f'event="{event}" is not one of {", ".join(allowed)}')


def _expression_python(text: str, task_listener: bool) -> str:
    parts = split_template(text.strip())
    if len(parts) != 1 or isinstance(parts[0], str):
        raise BadListener(f"camunda:expression {text!r} must be a single ${{…}} expression")
    try:
        return translate_listener(parts[0].body, frozenset(business_functions()), task=task_listener)
    except Untranslatable as error:
        raise BadListener(f"camunda:expression {text} cannot run here: {error}") from None


def _script_python(script: etree._Element, task_listener: bool) -> str:
    language = (script.get("scriptFormat") or "").strip()
    if language.lower() != "python":
        raise BadListener(f'has a script in scriptFormat="{language}": only Python runs here; rewrite it in '
                          "Python (Camunda's execution.getVariable / setVariable work as they are)")
    if script.get("resource") is not None:
        raise BadListener(f'loads its script from resource="{script.get("resource")}": write the script '
                          "inside the listener")
    text = script.text or ""
    if not text.strip():
        raise BadListener("has an empty script")
    rejected = rejection(text)
    if rejected is not None:
        raise BadListener(f"script line {rejected.lineno}: {rejected.message}")
    check_objects(text, task_listener)
    return text


def check_objects(text: str, task_listener: bool) -> None:
    """Camunda's `execution` / `task` in a script: only the methods the sandbox provides."""
    for obj, method in _OBJECT_USE.findall(text):
        allowed = TASK_METHODS if obj == "task" else EXECUTION_METHODS
        if obj == "task" and not task_listener:
            raise BadListener(f"script uses Camunda's task.{method}: not available here (only a task listener has task)")
        if method not in allowed:
            raise BadListener(f"script uses Camunda's {obj}.{method}: not available here "
                              f"({', '.join(sorted(allowed))} are)")


def bodies(node: etree._Element) -> dict[str, list[str]]:
    """event → the Python bodies of the element's listeners (checked at deploy: none is bad here)."""
    found: dict[str, list[str]] = {}
    for listener in listener_elements(node):
        found.setdefault(event_of(listener), []).append(python_of(listener))
    return found


def take_bodies(flows: Iterable[etree._Element]) -> dict[str, list[str]]:
    """source element id → the take listeners of the flows given (those into one element)."""
    found: dict[str, list[str]] = {}
    for flow in flows:
        for python in bodies(flow).get("take", []):
            found.setdefault(flow.get("sourceRef"), []).append(python)
    return found
