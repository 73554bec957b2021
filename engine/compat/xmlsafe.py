"""Reading uploaded XML safely, and the FILE:LINE findings every check reports into.

Diagrams come from users' uploads, so nothing in them may reach the network or the file system
(XXE) or expand without bound (billion laughs). We refuse any DOCTYPE outright: BPMN and DMN
never need one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
CAMUNDA_DMN_NS = "http://camunda.org/schema/1.0/dmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = (
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",  # DMN 1.1
    "http://www.omg.org/spec/DMN/20180521/MODEL/",  # DMN 1.2
    "https://www.omg.org/spec/DMN/20191111/MODEL/",  # DMN 1.3
)
_PREFIXES = {BPMN_NS: "bpmn", CAMUNDA_NS: "camunda", ZEEBE_NS: "zeebe", SPIFF_NS: "spiffworkflow"}
#: A DOCTYPE can only stand in the prolog; text such as "<!DOCTYPE html>" inside a script is fine.
_DOCTYPE = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s*(?:<\?(?:[^?]|\?(?!>))*\?>|<!--(?:[^-]|-(?!->))*-->))*"
                      rb"\s*<!DOCTYPE")


class UnreadableXml(ValueError):
    """The file is not safe, well-formed XML; `line` is where the problem is."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def read_xml(content: bytes) -> etree._Element:
    """Parse untrusted XML without DTDs, entities or network; return the root element."""
    match = _DOCTYPE.match(content)
    if match:
        raise UnreadableXml(content[:match.end()].count(b"\n") + 1, _DOCTYPE_REFUSED)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False, dtd_validation=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as error:
        raise UnreadableXml(error.lineno or 1, f"malformed XML: {error.msg}") from None
    if root.getroottree().docinfo.doctype:  # e.g. a UTF-16 file the byte scan could not see
        raise UnreadableXml(1, _DOCTYPE_REFUSED)
    return root


_DOCTYPE_REFUSED = ("the file contains a DOCTYPE declaration; it is refused because DTDs and "
                    "entities can read server files or exhaust memory (BPMN and DMN never need one)")


def short_name(tag: str) -> str:
    """`{bpmn-namespace}userTask` → `userTask`; `{camunda-namespace}class` → `camunda:class`."""
    qname = etree.QName(tag)
    prefix = _PREFIXES.get(qname.namespace or "")
    if prefix == "bpmn" or qname.namespace is None:
        return qname.localname
    return f"{prefix}:{qname.localname}" if prefix else f"{{{qname.namespace}}}{qname.localname}"


_CONTAINERS = {"definitions", "process", "subProcess", "transaction", "adHocSubProcess", "collaboration"}


def owner(element: etree._Element) -> etree._Element:
    """The flow element (task, event, flow…) or root element an analyst can click in the modeler."""
    current = element
    while current is not None:
        parent = current.getparent()
        if (parent is not None and current.get("id") and etree.QName(parent).namespace == BPMN_NS
                and etree.QName(parent).localname in _CONTAINERS):
            return current
        current = parent
    return element


def describe(element: etree._Element) -> str:
    """`serviceTask "Task_Pay"` (with the name when it has one) for messages."""
    element = owner(element)
    text = f'{short_name(element.tag)} "{element.get("id", "?")}"'
    name = (element.get("name") or "").strip().replace("\n", " ")
    return f"{text} ({name})" if name else text


class Finding(str):
    """One `FILE:LINE: text` problem that also knows where and what it is, for the analyst pages.

    A `str` so that every caller that joins, prints or compares problems keeps working; the parts
    (file, line, element id and name, rule id, how to fix it) are what a lint report lists."""

    file: str
    line: int
    element_id: str
    element_name: str
    message: str  # the text without its location and fix
    rule: str
    fix: str

    def __new__(cls, file: str, line: int, text: str, *, element: etree._Element | None = None,
                rule: str = "", fix: str = "") -> "Finding":
        message = f"{text}; {fix}" if fix else text
        self = super().__new__(cls, f"{file}:{line}: {message}")
        self.file, self.line, self.message, self.rule, self.fix = file, line, text, rule, fix
        flow_element = owner(element) if element is not None else None
        self.element_id = (flow_element.get("id") or "") if flow_element is not None else ""
        self.element_name = ((flow_element.get("name") or "").strip().replace("\n", " ")
                             if flow_element is not None else "")
        return self


_LOCATED = re.compile(r"(?s)(.+?):(\d+): (.*)")


def finding_of(problem: str) -> Finding:
    """A problem as a `Finding`: itself, or one read back from its `FILE:LINE: text`."""
    if isinstance(problem, Finding):
        return problem
    match = _LOCATED.fullmatch(problem)
    if not match:
        return Finding("", 1, problem)
    return Finding(match.group(1), int(match.group(2)), match.group(3))


@dataclass
class Findings:
    """Problems (deploy refused), warnings (something is ignored) and translations (how a construct
    runs here, for the analyst to check: JUEL rewritten to Python, external tasks waiting for
    workers), each `FILE:LINE: text` (a `Finding`); a rule id and its fix are given where
    docs/analysts.md documents the rule."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    translations: list[str] = field(default_factory=list)

    def error(self, file: str, where: etree._Element | int, text: str, *, rule: str = "",
              fix: str = "", line: int | None = None) -> None:
        """``line``: a line inside ``where`` (a script's), instead of the element's own."""
        self.errors.append(_finding(file, where, text, rule, fix, line))

    def warn(self, file: str, where: etree._Element | int, text: str, *, rule: str = "",
             fix: str = "", line: int | None = None) -> None:
        self.warnings.append(_finding(file, where, text, rule, fix, line))

    def translated(self, file: str, where: etree._Element | int, text: str) -> None:
        self.translations.append(f"{file}:{_line(where)}: {text}")


def _finding(file: str, where: etree._Element | int, text: str, rule: str, fix: str,
             line: int | None) -> Finding:
    element = None if isinstance(where, int) else where
    return Finding(file, line or _line(where), text, element=element, rule=rule, fix=fix)


def _line(where: etree._Element | int) -> int:
    if isinstance(where, int):
        return where
    return where.sourceline or 1
