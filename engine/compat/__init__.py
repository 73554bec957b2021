"""Camunda Modeler (Camunda 7 dialect) → SpiffWorkflow, at deploy time.

`load_bundle` checks a set of uploaded BPMN/DMN files (safe XML, XSD, lint with FILE:LINE messages,
JUEL and ISO-8601 timer translation, cross-file references) and returns what each executable process
needs; `parse_specs` rebuilds SpiffWorkflow specs from that; `start_form(spec)` gives the start
event's form; `resolve_assignment` turns a user task's stored assignment into names at run time.
See lint.py (what is refused or ignored) and translate.py (what is rewritten) for the dialect.
"""
from engine.compat.assignment import resolve_assignment
from engine.compat.deploy import decision_heads, latest_decision_refs, load_bundle, parse_specs, start_form, version_tag
from engine.compat.model import Bundle, DecisionVersion, DeployedDefinitions, EarlierVersion, ProcessBundle, SourceFile
from engine.compat.parser import build_parser

__all__ = ["Bundle", "DecisionVersion", "DeployedDefinitions", "EarlierVersion", "ProcessBundle", "SourceFile", "build_parser",
           "decision_heads", "latest_decision_refs", "load_bundle", "parse_specs", "resolve_assignment", "start_form", "version_tag"]
