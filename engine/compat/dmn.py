"""DMN files deployed beside BPMN: checked at deploy, one decision per SpiffWorkflow DMN parser.

SpiffWorkflow's DMN parser reads only files with exactly one decision table. Camunda Modeler puts
several decisions in one file, so each decision is handed over in a copy of its file holding that
decision alone. Decision requirement graphs (one decision feeding another) are not evaluated by
SpiffWorkflow and are refused rather than run wrong.
"""
from __future__ import annotations

import copy
import re

from lxml import etree

from engine.compat.schema import check_dmn_schema
from engine.compat.xmlsafe import Findings

_FEEL_RANGE = re.compile(r"^\s*[\[\]()]\s*[^\]\[()]*\.\.")


def decisions_of(root: etree._Element) -> list[etree._Element]:
    namespace = etree.QName(root).namespace
    return root.findall(f"{{{namespace}}}decision")


def split_decisions(root: etree._Element) -> list[etree._Element]:
    """One copy of the document per decision, each keeping only that decision."""
    copies = []
    for index in range(len(decisions_of(root))):
        single = copy.deepcopy(root)
        for position, decision in enumerate(decisions_of(single)):
            if position != index:
                single.remove(decision)
        copies.append(single)
    return copies


def check_dmn(file: str, root: etree._Element, findings: Findings) -> list[str]:
    """Report what SpiffWorkflow cannot evaluate; return the decision ids the file provides."""
    check_dmn_schema(file, root, findings)
    decisions = decisions_of(root)
    if not decisions:
        findings.error(file, root, "the DMN file defines no decision")
    namespace = etree.QName(root).namespace
    for decision in decisions:
        _check_decision(file, decision, namespace, findings)
    return [decision.get("id", "") for decision in decisions]


def _check_decision(file: str, decision: etree._Element, namespace: str, findings: Findings) -> None:
    label = f'decision "{decision.get("id", "?")}"'
    if not decision.get("id"):
        findings.error(file, decision, "a decision has no id (business rule tasks refer to it by id)")
    table = decision.find(f"{{{namespace}}}decisionTable")
    if table is None:
        findings.error(file, decision, f"{label} is not a decision table (literal expressions are not "
                       "supported by SpiffWorkflow)")
    else:
        _check_table(file, table, label, namespace, findings)
    for requirement in decision.iter(f"{{{namespace}}}requiredDecision"):
        findings.error(file, requirement, f'{label} requires decision {requirement.get("href", "")}: '
                       "decision requirement graphs are not evaluated here; use one decision per task")
    for entry in decision.iter(f"{{{namespace}}}inputEntry"):
        text = entry.findtext(f"{{{namespace}}}text") or ""
        if _FEEL_RANGE.match(text) or text.strip().startswith("not("):
            findings.error(file, entry, f"{label} input entry {text.strip()!r} is a FEEL range or negation: "
                           "write a Python comparison such as 1 <= ? <= 10")


def _check_table(file: str, table: etree._Element, label: str, namespace: str, findings: Findings) -> None:
    """SpiffWorkflow indexes every part by id and pairs rule entries with columns by position."""
    for element in (table, *table.iter(*(f"{{{namespace}}}{tag}" for tag in _NEEDS_ID))):
        if not element.get("id"):
            findings.error(file, element, f"{label}: a {etree.QName(element).localname} has no id")
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in _HIT_POLICIES or table.get("aggregation"):
        shown = f"{policy} {table.get('aggregation') or ''}".strip()
        findings.error(file, table, f"{label} hit policy {shown} is not supported by SpiffWorkflow "
                       f"(use {', '.join(_HIT_POLICIES)}; COLLECT without aggregation)")
    columns = {tag: len(table.findall(f"{{{namespace}}}{tag}")) for tag in ("input", "output")}
    for rule in table.findall(f"{{{namespace}}}rule"):
        for tag, entry in (("input", "inputEntry"), ("output", "outputEntry")):
            count = len(rule.findall(f"{{{namespace}}}{entry}"))
            if count != columns[tag]:
                findings.error(file, rule, f'{label} rule "{rule.get("id", "?")}" has {count} {entry} '
                               f"cells for {columns[tag]} {tag} columns")


_NEEDS_ID = ("input", "output", "rule", "inputEntry", "outputEntry")
#: What SpiffWorkflow's DMN engine evaluates as Camunda does: one rule, or the list of all matches.
_HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT")
