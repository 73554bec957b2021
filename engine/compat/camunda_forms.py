"""Camunda Forms (`.form` files from Camunda Modeler's form editor) for `camunda:formRef`.

A user task with `camunda:formRef="id"` gets the form whose `"id"` is that, deployed in the same
deployment (Camunda 7's `formRefBinding` latest/deployment; `version` is refused). The form-js
schema is read here and written into the task as the `camunda:formData` Camunda 7 would need for
the same fields, so the inbox renders it and `engine.forms` validates it on the server exactly as a
formData form: one form model, one validation. Components:

| form-js | runs as |
| --- | --- |
| textfield, textarea | text (`string`; a textarea is multi-line) with required, minLength, maxLength, pattern |
| number with 0 decimal digits | a whole number (`long`) with required, min, max |
| checkbox | 是/否 (`boolean`) |
| radio, select with static values | a choice (`enum`) |
| datetime: date / date and time | `date` / `datetime` |
| text | its text shown with the task (the task's documentation) |
| group | its fields, in order |
| button, spacer, separator | nothing: the inbox has its own 提交 button and layout |

Anything else (checklist, taglist, dynamic lists, a number with decimals, a time only, values
from a variable, an expression, …) cannot be rendered here and is a deploy error naming the
component's line in the `.form` file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

from lxml import etree

from engine.compat.model import SourceFile
from engine.compat.xmlsafe import BPMN_NS, CAMUNDA_NS, Findings

FORM_SUFFIXES = (".form",)
_LAYOUT = {"button", "spacer", "separator"}
_TEXT_KINDS = {"textfield", "textarea"}
_CHOICES = {"radio", "select"}


@dataclass
class CamundaForm:
    form_id: str
    source: SourceFile
    fields: list[dict[str, Any]] = field(default_factory=list)  # components that are fields, in order
    texts: list[str] = field(default_factory=list)  # text components' text


def is_form(name: str) -> bool:
    return name.lower().endswith(FORM_SUFFIXES)


def read_form(source: SourceFile, findings: Findings) -> CamundaForm | None:
    """The form of a `.form` file, or None with every problem reported at its line."""
    name = source.name
    try:
        schema = json.loads(source.content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        findings.error(name, getattr(error, "lineno", 1), f"not a Camunda Form: the file is not JSON ({error})",
                       rule="form-unrenderable", fix="save the form again from Camunda Modeler's form editor")
        return None
    if not isinstance(schema, dict) or not isinstance(schema.get("components"), list) or not schema.get("id"):
        findings.error(name, 1, 'not a Camunda Form: it needs an "id" and "components"', rule="form-unrenderable",
                       fix="save the form again from Camunda Modeler's form editor")
        return None
    form = CamundaForm(str(schema["id"]), source)
    lines = source.content.decode("utf-8").splitlines()
    for component in _components(schema["components"]):
        _read_component(form, component, _line_of(lines, component), findings)
    return form


def _components(items: list[Any]) -> Iterator[dict[str, Any]]:
    for item in items:
        if isinstance(item, dict) and item.get("type") == "group":
            yield from _components(item.get("components") or [])
        elif isinstance(item, dict):
            yield item


def _line_of(lines: list[str], component: dict[str, Any]) -> int:
    for key in ("id", "key"):
        value = component.get(key)
        if value:
            needle = json.dumps(value, ensure_ascii=False)
            for number, line in enumerate(lines, 1):
                if needle in line and f'"{key}"' in line:
                    return number
    return 1


def _read_component(form: CamundaForm, component: dict[str, Any], line: int, findings: Findings) -> None:
    kind, name = component.get("type"), form.source.name
    label = component.get("label") or component.get("key") or component.get("id") or kind
    if kind in _LAYOUT:
        return
    if kind == "text":
        form.texts.append(str(component.get("text") or ""))
        return
    problem = _unrenderable(component)
    if problem:
        findings.error(name, line, f'form "{form.form_id}" component {kind} "{label}" cannot be rendered here: {problem}',
                       rule="form-unrenderable", fix="use a textfield, textarea, number (0 decimal digits), "
                       "checkbox, radio, select (static values), date or date-time field instead")
        return
    form.fields.append(component)


def _unrenderable(component: dict[str, Any]) -> str | None:
    kind = component.get("type")
    if kind not in _TEXT_KINDS | _CHOICES | {"number", "checkbox", "datetime"}:
        return f"the component type {kind} is not supported"
    if not component.get("key"):
        return "it has no key (the variable it sets)"
    if kind == "number" and component.get("decimalDigits") != 0:
        return "a number with decimals (set Decimal digits to 0 for a whole number)"
    if kind == "datetime" and component.get("subtype", "date") not in ("date", "datetime"):
        return f"a {component.get('subtype')} field (only date and date-time are)"
    if kind in _CHOICES and not isinstance(component.get("values"), list):
        return "its values come from a variable or an expression (give static values)"
    return None


# --- into the BPMN tree ------------------------------------------------------------------------------

def attach_forms(root: etree._Element, forms: dict[str, CamundaForm]) -> None:
    """Give each user task with a deployed `camunda:formRef` the formData of its form (in place)."""
    for task in root.iter(f"{{{BPMN_NS}}}userTask"):
        form = forms.get((task.get(f"{{{CAMUNDA_NS}}}formRef") or "").strip())
        if form is None or task.find(f"{{{BPMN_NS}}}extensionElements/{{{CAMUNDA_NS}}}formData") is not None:
            continue
        extensions = task.find(f"{{{BPMN_NS}}}extensionElements")
        if extensions is None:
            extensions = etree.Element(f"{{{BPMN_NS}}}extensionElements")
            task.insert(_after_documentation(task), extensions)
        data = etree.SubElement(extensions, f"{{{CAMUNDA_NS}}}formData")
        for component in form.fields:
            data.append(_form_field(component))
        if form.texts:
            _add_documentation(task, "\n\n".join(form.texts))


def _after_documentation(task: etree._Element) -> int:
    return sum(1 for child in task if child.tag == f"{{{BPMN_NS}}}documentation")


def _add_documentation(task: etree._Element, text: str) -> None:
    documentation = task.find(f"{{{BPMN_NS}}}documentation")
    if documentation is None:
        documentation = etree.Element(f"{{{BPMN_NS}}}documentation")
        task.insert(0, documentation)
    documentation.text = "\n\n".join(part for part in ((documentation.text or "").strip(), text) if part)


_TYPES = {"textfield": "string", "textarea": "string", "number": "long", "checkbox": "boolean",
          "radio": "enum", "select": "enum"}


def _form_field(component: dict[str, Any]) -> etree._Element:
    kind = component["type"]
    field_type = _TYPES.get(kind) or ("date" if component.get("subtype", "date") == "date" else "datetime")
    label = component.get("label") or component.get("dateLabel") or component["key"]
    element = etree.Element(f"{{{CAMUNDA_NS}}}formField", id=str(component["key"]), label=str(label),
                            type=field_type)
    if component.get("defaultValue") not in (None, ""):
        default = component["defaultValue"]
        element.set("defaultValue", ("true" if default else "false") if isinstance(default, bool) else str(default))
    if kind == "textarea":
        properties = etree.SubElement(element, f"{{{CAMUNDA_NS}}}properties")
        etree.SubElement(properties, f"{{{CAMUNDA_NS}}}property", id="multiline", value="true")
    validation = etree.SubElement(element, f"{{{CAMUNDA_NS}}}validation")
    for name, config in _constraints(component):
        constraint = etree.SubElement(validation, f"{{{CAMUNDA_NS}}}constraint", name=name)
        if config is not None:
            constraint.set("config", config)
    for value in component.get("values") or [] if kind in _CHOICES else []:
        etree.SubElement(element, f"{{{CAMUNDA_NS}}}value", id=str(value.get("value")),
                         name=str(value.get("label") or value.get("value")))
    return element


_VALIDATIONS = (("minLength", "minlength"), ("maxLength", "maxlength"), ("min", "min"), ("max", "max"),
                ("pattern", "pattern"))


def _constraints(component: dict[str, Any]) -> Iterator[tuple[str, str | None]]:
    rules = component.get("validate") or {}
    if rules.get("required"):
        yield "required", None
    if component.get("readonly") or component.get("disabled"):
        yield "readonly", None
    for key, name in _VALIDATIONS:
        if rules.get(key) not in (None, ""):
            yield name, str(rules[key])
