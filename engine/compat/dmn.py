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
from engine.dmn.model import Decision, read_dmn


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
        _note_checked_values(file, decision, findings)
        if decision.unsupported:
            findings.warn(file, decision.line, f'decision "{decision.id}" is not evaluated here: '
                          f"{decision.unsupported}; a business rule task using it is refused")
    return [decision.get("id", "") for decision in decisions_of(root)]


def _note_checked_values(file: str, decision: Decision, findings: Findings) -> None:
    """Camunda 7's DMN engine never reads input/output values; bpmdesk stops a step whose value is
    outside them instead of answering for a case the table was not written for — said at deploy."""
    if decision.table is None:
        return
    columns = [c.label for c in decision.table.inputs if c.allowed is not None]
    columns += [c.label for c in decision.table.outputs if c.allowed is not None]
    if columns:
        findings.translated(file, decision.line, f'decision "{decision.id}": a value outside the input/output '
                            f'values of column {", ".join(f"{c!r}" for c in columns)} stops the step with a '
                            "message (Camunda 7 does not check these lists)")
