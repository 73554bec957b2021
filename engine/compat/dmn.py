"""DMN files deployed beside BPMN, checked at deploy by compiling them with engine.dmn.

Every FEEL text (input expressions, input entries, output entries, input/output values, literal
expressions) is parsed now, so a table that deploys cannot fail on syntax later; each problem reads
`FILE:LINE: decision "D", rule N, column "C": what is wrong`. A decision engine.dmn does not
evaluate (a boxed context, a business knowledge model) is only a warning here: the file's other
decisions deploy, and a task or decision that needs it is refused when its process is parsed.
"""
from __future__ import annotations

from lxml import etree

from engine.compat.schema import check_dmn_schema
from engine.compat.xmlsafe import Findings
from engine.dmn.model import read_dmn


def decisions_of(root: etree._Element) -> list[etree._Element]:
    namespace = etree.QName(root).namespace
    return root.findall(f"{{{namespace}}}decision")


def check_dmn(file: str, root: etree._Element, findings: Findings) -> list[str]:
    """Report every problem of the file's decisions; return the decision ids it provides."""
    check_dmn_schema(file, root, findings)
    if not decisions_of(root):
        findings.error(file, root, "the DMN file defines no decision")
    read = read_dmn(file, root)
    findings.errors.extend(read.problems)
    for decision in read.decisions.values():
        if decision.unsupported:
            findings.warn(file, decision.line, f'decision "{decision.id}" is not evaluated here: '
                          f"{decision.unsupported}; a business rule task using it is refused")
    return [decision.get("id", "") for decision in decisions_of(root)]
