"""`camunda:inputOutput` read as Camunda 7 documents it ("Input/Output Variable Mapping").

Each `camunda:inputParameter` / `camunda:outputParameter` becomes one Python expression giving its
value, so a parameter costs one sandboxed evaluation when it runs (engine.scope does that):
- text is a constant string, a text with `${…}` the JUEL it holds (translated, juel.py);
- no content is null (`<camunda:inputParameter name="x"/>` declares a local variable set to null);
- `camunda:list` (any child elements, nested lists and maps) and `camunda:map` (`camunda:entry`
  with a `key` that may itself be an expression);
- `camunda:script` in Python: as with Jython in Camunda, the script must be a single expression
  (its value is the parameter's). Other languages and external resources are refused.

The same function serves deploy (translate.py reports problems as FILE:LINE, and the translation
of each JUEL text) and the parser (parser.py), so both always read a parameter alike.
"""
from __future__ import annotations

import keyword
from dataclasses import dataclass

from lxml import etree

from engine.compat.juel import Untranslatable, is_juel, translate_template
from engine.compat.xmlsafe import CAMUNDA_NS

#: Elements that may carry camunda:inputOutput (Camunda 7 reference: "All Tasks, All Events
#: (except Start and Boundary Events), Call Activity, Embedded Subprocess, Transaction Subprocess").
OWNERS = frozenset({
    "task", "manualTask", "userTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "intermediateCatchEvent",
    "intermediateThrowEvent", "endEvent",
})


class BadParameter(ValueError):
    """A parameter that cannot run here; `element` is where the problem is (for FILE:LINE)."""

    def __init__(self, element: etree._Element, message: str):
        super().__init__(message)
        self.element = element


@dataclass(frozen=True)
class Parameter:
    name: str
    python: str  # the expression giving its value


def parameters(owner: etree._Element, kind: str) -> list[Parameter]:
    """The input (kind "input") or output ("output") parameters of an element, in order."""
    found = []
    for parameter in owner.iterfind(f"./{{*}}extensionElements/{{{CAMUNDA_NS}}}inputOutput/"
                                    f"{{{CAMUNDA_NS}}}{kind}Parameter"):
        name = (parameter.get("name") or "").strip()
        if not name.isidentifier() or keyword.iskeyword(name):
            raise BadParameter(parameter, f"camunda:{kind}Parameter name={name!r} must be a variable name "
                               "(letters, digits, _; not a Python reserved word)")
        found.append(Parameter(name, value_python(parameter)))
    return found


def value_python(node: etree._Element) -> str:
    """The Python expression for a parameter's (or list item's, map entry's) content."""
    children = [child for child in node if isinstance(child.tag, str)]
    if not children:
        return _text_python(node, node.text or "")
    if len(children) > 1:
        raise BadParameter(children[1], "a parameter or map entry holds one value: wrap several in camunda:list")
    return _structure_python(children[0])


def _structure_python(node: etree._Element) -> str:
    kind = etree.QName(node).localname if etree.QName(node).namespace == CAMUNDA_NS else ""
    if kind == "list":
        items = [_item_python(child) for child in node if isinstance(child.tag, str)]
        return "[" + ", ".join(items) + "]"
    if kind == "map":
        return "{" + ", ".join(_entry_python(entry) for entry in node if isinstance(entry.tag, str)) + "}"
    if kind == "script":
        return _script_python(node)
    raise BadParameter(node, f"{etree.QName(node).localname} is not a value here: write text, ${{…}}, "
                       "camunda:list, camunda:map or camunda:script")


def _item_python(node: etree._Element) -> str:
    """A list item: any element's text (camunda:value, …), or a nested list, map or script."""
    if etree.QName(node).namespace == CAMUNDA_NS and etree.QName(node).localname in ("list", "map", "script"):
        return _structure_python(node)
    return value_python(node)


def _entry_python(entry: etree._Element) -> str:
    if etree.QName(entry).localname != "entry" or entry.get("key") is None:
        raise BadParameter(entry, "a camunda:map holds camunda:entry elements with a key attribute")
    return f"{_text_python(entry, entry.get('key'))}: {value_python(entry)}"


def _text_python(node: etree._Element, text: str) -> str:
    text = text.strip()
    if not text:
        return "None"
    if not is_juel(text):
        return repr(text)
    try:
        return f"({translate_template(text)})"
    except Untranslatable as error:
        raise BadParameter(node, f"{text} cannot be translated from JUEL: {error}") from None


def _script_python(script: etree._Element) -> str:
    language = (script.get("scriptFormat") or "").strip()
    if language.lower() != "python":
        raise BadParameter(script, f'camunda:script scriptFormat="{language}": only Python runs here; '
                           "rewrite the script as one Python expression, or write ${…}")
    if script.get("resource") is not None:
        raise BadParameter(script, f'camunda:script resource="{script.get("resource")}" loads the script from '
                           "outside the diagram: not supported; write the expression inside the element")
    text = (script.text or "").strip()
    if is_juel(text):
        raise BadParameter(script, "a script whose source is an expression (${…}) is not supported: write the "
                           "Python expression itself")
    try:
        compile(text, "<parameter>", "eval")
    except SyntaxError:
        raise BadParameter(script, "a Python script parameter must be a single expression (as Jython scripts "
                           f"are in Camunda 7), e.g. a + b; {text[:60]!r} is not one") from None
    return f"({text})"
