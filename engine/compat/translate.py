"""Rewrite a Camunda Modeler BPMN tree into what SpiffWorkflow's CamundaParser runs correctly.

This is the one place where the dialect is translated, used both at deploy (with findings kept)
and when specs are built (findings dropped), so both always see the same tree:
- timers: ISO-8601 literals → Python string literals, JUEL → Python (timers.py);
- JUEL conditions, cardinalities, `camunda:collection` and assignment attributes → Python;
- link events → a sequence flow from the throwing to the catching event (SpiffWorkflow would
  otherwise treat both as "none" events and the path would silently end);
- message throw and end events → none events: in Camunda 7 such an event without an implementation
  sends nothing (messages come from outside: `bpmdesk correlate`, `POST /api/messages`);
- data associations and data stores → removed: in Camunda they are documentation, while
  SpiffWorkflow would move variables into data objects and fail on stores without an implementation.
Every JUEL translation is reported (`Bundle.translations`), so an analyst can check the Python that
will run.
"""
from __future__ import annotations

import keyword

from lxml import etree

from engine.compat.assignment import ATTRIBUTES, translate_attribute
from engine.compat.iomapping import OWNERS, BadParameter, parameters
from engine.compat.juel import Untranslatable, is_juel, translate_condition, translate_template
from engine.compat.timers import KINDS, InvalidTimer, translate_timer
from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS, SPIFF_NS, Findings, describe, short_name

_CONDITIONS = ("conditionExpression", "completionCondition", "condition", "loopCondition")
_LINK_SCOPES = ("process", "subProcess", "transaction", "adHocSubProcess")


def translate_bpmn(file: str, root: etree._Element, findings: Findings) -> None:
    """Translate every executable process of the document in place."""
    for process in _executable_processes(root):
        _translate_timers(file, process, findings)
        _translate_conditions(file, process, findings)
        _translate_collections(file, process, findings)
        _translate_assignments(file, process, findings)
        _translate_call_mappings(file, process, findings)
        _check_io_mappings(file, process, findings)
        _translate_links(file, process, findings)
        _silence_message_throws(file, process, findings)
        _drop_data_associations(file, process, findings)
        if _spiffarena_dialect(root):
            _confirm_untyped_tasks(file, process, findings)
    for store in list(root.iter(f"{{{BPMN_NS}}}dataStore")):
        findings.warn(file, store, f'dataStore "{store.get("id")}" is documentation only here: ignored')
        store.getparent().remove(store)


def _executable_processes(root: etree._Element) -> list[etree._Element]:
    return [process for process in root.findall(f"{{{BPMN_NS}}}process")
            if process.get("isExecutable", "true") == "true"]


def _note(file: str, element: etree._Element, what: str, juel: str, python: str, findings: Findings) -> None:
    findings.translated(file, element, f"{describe(element)} {what} {juel.strip()} is JUEL; it runs as "
                        f"the Python expression: {python}")


def _translate_timers(file: str, process: etree._Element, findings: Findings) -> None:
    for kind in KINDS:
        for element in process.iter(f"{{{BPMN_NS}}}{kind}"):
            original = element.text or ""
            try:
                element.text = translate_timer(kind, original)
            except InvalidTimer as error:
                findings.error(file, element, f"{describe(element)} {kind} {error}", rule="timer-invalid",
                               fix="write ISO 8601: a duration PT15M / P7D, a date 2026-06-01T09:00, a cycle R3/PT1H")
                continue
            if is_juel(original):
                _note(file, element, kind, original, element.text, findings)


def _translate_conditions(file: str, process: etree._Element, findings: Findings) -> None:
    for tag in (*_CONDITIONS, "loopCardinality"):
        for element in process.iter(f"{{{BPMN_NS}}}{tag}"):
            _translate_condition(file, element, tag, findings)


def _translate_condition(file: str, element: etree._Element, tag: str, findings: Findings) -> None:
    text = (element.text or "").strip()
    language = (element.get("language") or "").strip()
    if not text:
        element.text = None  # a blank condition is a missing one, not a Python syntax error at run time
        return
    if language and language.lower() not in ("python", "juel"):
        findings.error(file, element, f"{describe(element)} {tag} is written in {language} "
                       f"(language={language}): only JUEL and Python expressions run here")
    elif text.startswith("="):
        findings.error(file, element, f"{describe(element)} {tag} {text} is a FEEL expression (Camunda 8): "
                       "not supported; write ${…} JUEL or Python")
    elif is_juel(text):
        try:
            python = translate_template(text) if tag == "loopCardinality" else translate_condition(text)
        except Untranslatable as error:
            findings.error(file, element, f"{describe(element)} {tag} {text} cannot be translated from "
                           f"JUEL: {error}", rule="expression-syntax",
                           fix="write it as the JUEL of docs/analysts.md (Expressions) or as Python")
            return
        element.text = python
        _note(file, element, tag, text, python, findings)
    else:
        _check_python(file, element, tag, text, findings)


def _check_python(file: str, element: etree._Element, tag: str, text: str, findings: Findings) -> None:
    try:
        compile(text, "<condition>", "eval")
    except SyntaxError as error:
        findings.error(file, element, f"{describe(element)} {tag} {text!r} is neither JUEL (${{…}}) nor a "
                       f"valid Python expression ({error.msg})", rule="expression-syntax",
                       fix="wrap a JUEL expression in ${…}, or correct the Python")


def _translate_collections(file: str, process: etree._Element, findings: Findings) -> None:
    attribute = f"{{{CAMUNDA_NS}}}collection"
    for loop in process.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        value = (loop.get(attribute) or "").strip()
        if not value:
            continue
        try:
            name = translate_template(value) if is_juel(value) else value
        except Untranslatable as error:
            findings.error(file, loop, f"{describe(loop)} camunda:collection={value} cannot be translated "
                           f"from JUEL: {error}")
            continue
        if not name.isidentifier() or keyword.iskeyword(name):
            findings.error(file, loop, f"{describe(loop)} camunda:collection={value} must name one "
                           "process variable holding the list")
            continue
        loop.set(attribute, name)
        if is_juel(value):
            _note(file, loop, "camunda:collection", value, name, findings)


def _translate_assignments(file: str, process: etree._Element, findings: Findings) -> None:
    for task in process.iter(f"{{{BPMN_NS}}}userTask"):
        for name in ATTRIBUTES:
            attribute = f"{{{CAMUNDA_NS}}}{name}"
            value = task.get(attribute)
            if value is None:
                continue
            try:
                stored = translate_attribute(name, value)
            except Untranslatable as error:
                findings.error(file, task, f"{describe(task)} camunda:{name}={value} cannot be used: {error}")
                continue
            task.set(attribute, stored)
            if is_juel(value):
                findings.translated(file, task, f"{describe(task)} camunda:{name}={value.strip()} is JUEL; "
                                    f"it is stored as {stored}")


def _translate_call_mappings(file: str, process: etree._Element, findings: Findings) -> None:
    """`camunda:in/out sourceExpression` → the Python it runs as (plain text is a text literal)."""
    for mapping in process.iter(f"{{{CAMUNDA_NS}}}in", f"{{{CAMUNDA_NS}}}out"):
        value = mapping.get("sourceExpression")
        if value is None:
            continue
        try:
            python = translate_template(value)
        except Untranslatable as error:
            findings.error(file, mapping, f"{describe(mapping)} {short_name(mapping.tag)} sourceExpression="
                           f"{value} cannot be translated from JUEL: {error}")
            continue
        mapping.set("sourceExpression", python)
        if is_juel(value):
            _note(file, mapping, f"{short_name(mapping.tag)} sourceExpression", value, python, findings)


def _check_io_mappings(file: str, process: etree._Element, findings: Findings) -> None:
    """camunda:inputOutput where Camunda 7 allows it, with values that run here (iomapping.py)."""
    for mapping in process.iter(f"{{{CAMUNDA_NS}}}inputOutput"):
        element = mapping.getparent().getparent()
        if element.getparent() is not None and short_name(element.getparent().tag) == "camunda:connector":
            continue  # the connector itself is refused (lint.py)
        kind = etree.QName(element).localname
        if kind not in OWNERS or element.get("triggeredByEvent") == "true":
            findings.error(file, mapping, f"{describe(element)} has camunda:inputOutput: Camunda 7 maps variables "
                           "only on tasks, sub-processes, call activities and intermediate or end events (not on "
                           "start or boundary events, gateways, event sub-processes); set them in the next task")
            continue
        looped = element.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics") is not None
        for direction in ("input", "output"):
            try:
                found = parameters(element, direction)
            except BadParameter as error:
                findings.error(file, error.element, f"{describe(element)} {error}")
                continue
            if direction == "output" and looped and found:
                findings.error(file, mapping, f"{describe(element)} is multi-instance and has camunda:outputParameter: "
                               "Camunda 7 does not allow output mappings on multi-instance activities (each "
                               "instance would overwrite the last); set the variable inside the activity")
            for parameter in found:
                if parameter.python != "None" and not parameter.python.startswith(("'", '"')):
                    findings.translated(file, mapping, f"{describe(element)} camunda:{direction}Parameter "
                                        f"{parameter.name} runs as the Python expression: {parameter.python}")


def _translate_links(file: str, process: etree._Element, findings: Findings) -> None:
    for scope in list(process.iter(*(f"{{{BPMN_NS}}}{tag}" for tag in _LINK_SCOPES))):
        catches = _link_events(scope, "intermediateCatchEvent")
        for name, events in catches.items():
            for duplicate in events[1:]:
                findings.error(file, duplicate, f'{describe(duplicate)} is a second catching link "{name}" '
                               "in the same (sub)process")
        for name, throws in _link_events(scope, "intermediateThrowEvent").items():
            for throw in throws:
                _link(file, scope, throw, name, catches.get(name, [None])[0], findings)
        for events in catches.values():
            for catch in events:
                _make_pass_through(catch)


def _link_events(scope: etree._Element, kind: str) -> dict[str, list[etree._Element]]:
    events: dict[str, list[etree._Element]] = {}
    for event in scope.findall(f"{{{BPMN_NS}}}{kind}"):
        link = event.find(f"{{{BPMN_NS}}}linkEventDefinition")
        name = (link.get("name") or "").strip() if link is not None else ""
        if name:
            events.setdefault(name, []).append(event)
    return events


def _link(file: str, scope: etree._Element, throw: etree._Element, name: str,
          catch: etree._Element | None, findings: Findings) -> None:
    if catch is None:
        findings.error(file, throw, f'{describe(throw)} links to "{name}", but no catching link event of '
                       "that name is in the same (sub)process")
        return
    flow = etree.SubElement(scope, f"{{{BPMN_NS}}}sequenceFlow")
    flow.set("id", f"{throw.get('id')}__link__{catch.get('id')}")
    flow.set("sourceRef", throw.get("id"))
    flow.set("targetRef", catch.get("id"))
    _make_pass_through(throw)


def _make_pass_through(event: etree._Element) -> None:
    """A 'none' intermediate throw event: SpiffWorkflow runs straight through it."""
    for link in event.findall(f"{{{BPMN_NS}}}linkEventDefinition"):
        event.remove(link)
    event.tag = f"{{{BPMN_NS}}}intermediateThrowEvent"


_IMPLEMENTATIONS = ("class", "delegateExpression", "expression", "type")


def _silence_message_throws(file: str, process: etree._Element, findings: Findings) -> None:
    for event in list(process.iter(f"{{{BPMN_NS}}}intermediateThrowEvent", f"{{{BPMN_NS}}}endEvent")):
        for definition in event.findall(f"{{{BPMN_NS}}}messageEventDefinition"):
            used = [name for name in _IMPLEMENTATIONS if definition.get(f"{{{CAMUNDA_NS}}}{name}")]
            if used == ["expression"] and not is_juel(definition.get(f"{{{CAMUNDA_NS}}}expression")):
                _warn_literal_implementation(file, event, definition, findings)
            elif used == ["type"] and definition.get(f"{{{CAMUNDA_NS}}}type") == "external":
                _make_external(file, event, definition, findings)
            elif used:
                findings.error(file, definition, f"{describe(event)} sends its message with camunda:{used[0]} "
                               "(an implementation, run by Camunda instead of sending): not supported here; "
                               "call the business function from a script task before this event")
            event.remove(definition)


def _make_external(file: str, event: etree._Element, definition: etree._Element, findings: Findings) -> None:
    """A message throw or end event whose message a worker sends (`camunda:type="external"` on its
    message definition): Camunda 7 creates an external task for it, as for a send task. It becomes an
    external send task of the same id; an end event gets a none end event after it."""
    what = describe(event)
    topic = (definition.get(f"{{{CAMUNDA_NS}}}topic") or "").strip()
    if not topic:
        findings.error(file, definition, f"{what} is an external task without camunda:topic: set the topic "
                       "its workers subscribe to (Implementation → External → Topic)")
        return
    for name in ("type", "topic", "taskPriority"):
        if definition.get(f"{{{CAMUNDA_NS}}}{name}") is not None:
            event.set(f"{{{CAMUNDA_NS}}}{name}", definition.get(f"{{{CAMUNDA_NS}}}{name}").strip())
    ends = etree.QName(event).localname == "endEvent"
    event.tag = f"{{{BPMN_NS}}}sendTask"
    if ends:
        event_id = event.get("id")
        end = etree.Element(f"{{{BPMN_NS}}}endEvent", id=f"{event_id}__end")
        flow = etree.Element(f"{{{BPMN_NS}}}sequenceFlow", id=f"{event_id}__ended", sourceRef=event_id,
                             targetRef=end.get("id"))
        event.addnext(flow)
        event.addnext(end)
    findings.translated(file, event, f"{what} camunda:type=external camunda:topic={topic}: it waits until a "
                        "worker fetches and completes it through /engine-rest/external-task (fetchAndLock), "
                        "as in Camunda 7" + ("; then its path ends" if ends else ""))


def _warn_literal_implementation(file: str, event: etree._Element, definition: etree._Element,
                                 findings: Findings) -> None:
    """SpiffWorkflow's test diagrams put a Python payload in camunda:expression; Camunda 7 reads
    text without ${…} as a literal expression whose value nobody uses, so the event passes through."""
    text = definition.get(f"{{{CAMUNDA_NS}}}expression")
    findings.warn(file, definition, f'{describe(event)} camunda:expression="{text}" is plain text, not an '
                  "expression: Camunda 7 evaluates it as text and does nothing with it, so the event "
                  "passes through, as it does here (no message payload is sent)")


def _spiffarena_dialect(root: etree._Element) -> bool:
    """Drawn for SpiffArena: the document itself uses spiffworkflow: elements or attributes."""
    return any(isinstance(element.tag, str) and (etree.QName(element).namespace == SPIFF_NS or any(
        etree.QName(name).namespace == SPIFF_NS for name in element.attrib)) for element in root.iter())


def _confirm_untyped_tasks(file: str, process: etree._Element, findings: Findings) -> None:
    """In SpiffArena a task without a type waits for someone to mark it done (SpiffWorkflow's
    NoneTask is manual); Camunda 7 would pass straight through it. The file's own dialect wins,
    said at deploy: the task becomes a user task without a form."""
    for task in list(process.iter(f"{{{BPMN_NS}}}task")):
        findings.warn(file, task, f"{describe(task)} has no type; this file is drawn for SpiffArena "
                      "(spiffworkflow: extensions), where such a task waits until someone marks it done: "
                      "it waits in the inbox as a task without a form (Camunda 7 would pass through it: draw a "
                      "user task to keep it waiting, or a manual task to pass through)")
        task.tag = f"{{{BPMN_NS}}}userTask"


def _drop_data_associations(file: str, process: etree._Element, findings: Findings) -> None:
    tags = (f"{{{BPMN_NS}}}dataInputAssociation", f"{{{BPMN_NS}}}dataOutputAssociation")
    for association in list(process.iter(*tags)):
        reference = association.findtext(f"{{{BPMN_NS}}}targetRef") if short_name(
            association.tag) == "dataOutputAssociation" else association.findtext(f"{{{BPMN_NS}}}sourceRef")
        findings.warn(file, association, f'{describe(association.getparent())} {short_name(association.tag)} '
                      f'with "{(reference or "").strip()}" is documentation only here: ignored '
                      "(variables stay in the task data)")
        association.getparent().remove(association)
