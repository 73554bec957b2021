"""Camunda Modeler reads every diagram of processes/ without a warning.

Modeler parses a file with bpmn-moddle and its Camunda 7 extension; an unknown attribute, a
misplaced element or a broken reference is a warning there (and an element it may drop when the
analyst saves). tests/js/read_diagrams.mjs runs that reader on the files as they are checked in.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
JS = ROOT / "tests" / "js"
BPMN_FILES = sorted((ROOT / "processes").glob("*.bpmn"))


@pytest.mark.skipif(shutil.which("node") is None or not (JS / "node_modules" / "bpmn-moddle").is_dir(),
                    reason="Node.js or tests/js/node_modules missing (make .venv/.installed-test installs it)")
def test_camunda_modeler_reads_every_diagram_without_a_warning():
    run = subprocess.run(["node", str(JS / "read_diagrams.mjs"), *map(str, BPMN_FILES)],
                         capture_output=True, text=True, timeout=120, cwd=JS)
    assert run.returncode == 0, run.stderr
    findings = json.loads(run.stdout)
    assert len(findings) == len(BPMN_FILES) > 0
    assert {Path(f).name: w for f, w in findings.items() if w} == {}
