"""Camunda Modeler (Camunda 7 dialect) → SpiffWorkflow, at deploy time.

`load_bundle` checks a set of uploaded BPMN/DMN files (safe XML, XSD, lint with FILE:LINE messages,
JUEL and ISO-8601 timer translation, cross-file references) and returns what each executable process
needs; `parse_specs` rebuilds SpiffWorkflow specs from that; `resolve_assignment` turns a user task's
stored assignment into names at run time. See translate.py and lint.py for what is accepted.
"""
from engine.compat.assignment import resolve_assignment
from engine.compat.deploy import load_bundle, parse_specs
from engine.compat.model import Bundle, ProcessBundle, SourceFile
from engine.compat.parser import build_parser

__all__ = ["Bundle", "ProcessBundle", "SourceFile", "build_parser", "load_bundle", "parse_specs",
           "resolve_assignment"]
