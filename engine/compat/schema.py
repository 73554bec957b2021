"""XSD validation with SpiffWorkflow's `BpmnValidator` and its bundled BPMN / DMN schemas.

`BpmnValidator` stops at the first failure and keeps only the last message; we report every
entry of its error log, so an analyst fixes all schema errors in one round.
"""
from __future__ import annotations

import threading

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as DMN_SCHEMAS

from engine.compat.xmlsafe import BPMN_NS, Findings

_BPMN = "bpmn"
_validators: dict[str, BpmnValidator] = {}
_lock = threading.Lock()  # an lxml schema keeps one error log; validations must not interleave


def check_bpmn_schema(file: str, root: etree._Element, findings: Findings) -> None:
    _validate(file, root, _BPMN, "BPMN 2.0", findings)


def check_dmn_schema(file: str, root: etree._Element, findings: Findings) -> None:
    namespace = etree.QName(root).namespace
    if namespace in DMN_SCHEMAS:
        _validate(file, root, namespace, "DMN", findings)


def _validate(file: str, root: etree._Element, key: str, what: str, findings: Findings) -> None:
    with _lock:
        validator = _validators.get(key)
        if validator is None:
            schema = {} if key == _BPMN else {"xsd_path": DMN_SCHEMAS[key]}
            validator = _validators[key] = BpmnValidator(**schema)
        try:
            validator.validate(root, file)
            return
        except ValidationException as error:
            entries = [(entry.line, entry.message) for entry in validator.validator.error_log]
            entries = entries or [(error.line_number or root.sourceline or 1, str(error))]
    for line, message in entries:
        findings.error(file, line or 1, f"not valid {what} (XSD schema): {_shorten(message)}")


def _shorten(message: str) -> str:
    return message.replace(f"{{{BPMN_NS}}}", "bpmn:")
